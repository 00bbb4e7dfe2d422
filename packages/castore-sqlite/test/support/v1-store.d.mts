export declare function writeV1Store(
  file: string,
  options: { count: number; blobSize: number; chunkSize: number; bytesOf: (i: number, size: number) => Uint8Array },
): Promise<string[]>;
