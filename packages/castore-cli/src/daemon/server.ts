import type { BlobService } from "castore-core";
import type { ListenAddress } from "../listen-address.js";

export interface RunningServer {
  readonly address: ListenAddress;
  close(): Promise<void>;
  forceClose(): Promise<void>;
}

export async function startServer(_service: BlobService, _listen: ListenAddress): Promise<RunningServer> {
  throw new Error("not yet");
}
