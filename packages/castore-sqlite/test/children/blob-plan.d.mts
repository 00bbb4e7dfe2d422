export declare const CHUNK_SIZE: number;
export declare function blobSize(i: number): number;
export declare function blobData(seed: number, i: number): Uint8Array;
