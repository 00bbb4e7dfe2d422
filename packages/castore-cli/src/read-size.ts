/**
 * How many bytes one read of a blob asks for (the size of the buffer it reads into): twice the
 * largest chunk of the default chunking, so a read returns a whole chunk.
 */
export const BLOB_READ_BYTES = 1 << 20;
