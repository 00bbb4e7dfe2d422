import { type BlobService, type BlobServiceBackend, InvalidAddressError, isCastoreError } from "castore-core";
import { optionsFromAddress } from "./address.js";
import { SqliteBlobService } from "./service.js";

/**
 * The `sqlite://` scheme for `register()` / `fromAddr()`:
 * `sqlite:///abs/path/blobs.sqlite[?synchronous=normal|full&readonly=1&avg_chunk_size=N&busy_timeout=MS&upload_lease=MS&max_size=BYTES]`,
 * or `sqlite://` for a temporary store deleted on close.
 */
export const sqliteBackend: BlobServiceBackend = {
  scheme: "sqlite",
  description: "sqlite:///path/blobs.sqlite — embedded, durable (sqlite:// alone: temporary)",
  async open(url: URL): Promise<BlobService> {
    const options = optionsFromAddress(url);
    try {
      return await SqliteBlobService.open(options);
    } catch (error) {
      // A path that cannot hold a store is a mistake in the address.
      if (isCastoreError(error, "InvalidArgument")) {
        throw new InvalidAddressError(`${url.href}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  },
};
