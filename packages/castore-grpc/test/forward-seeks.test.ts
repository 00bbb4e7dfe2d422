// The conformance case for forward seeks around boundaries again, through a server that cuts its
// Read messages at 64 KiB, so the seeks also land on and around message boundaries (a store without
// chunk lists: the client reads one forward-only stream).
import { conformanceCases, runCase } from "castore-fixtures";
import { it } from "vitest";
import { OnePieceBlobService } from "./support/one-piece.js";
import { served } from "./support/served.js";

const forwardSeeks = conformanceCases.find((c) => c.id === "reader/forward-seeks-across-boundaries");

it.each(["unix", "tcp"] as const)(
  "over %s with 64 KiB Read messages, forward seeks land on the right bytes",
  async (transport) => {
    if (!forwardSeeks) throw new Error("the conformance suite lost its forward-seek case");
    await runCase(
      forwardSeeks,
      () => served(transport, { backend: new OnePieceBlobService(), server: { readChunkBytes: 65_536 } }),
      {
        backwardSeek: false,
        seekFromEnd: false,
      },
    );
  },
);
