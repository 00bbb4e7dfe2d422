import { B3Digest } from "castore-core";
import { expectPositionals, flag } from "../args.js";
import { type Command, clientOptions } from "../command.js";
import { openClientStore } from "../store.js";
import { clientOptionsHelp } from "./help-text.js";

export const statCommand: Command = {
  name: "stat",
  summary: "tell whether a blob is present (and list its chunks)",
  options: { ...clientOptions, chunks: { type: "boolean" } },
  help: () => `Usage: castore stat DIGEST [options]

Prints "<digest> present" and exits 0 when the store has the blob, or "<digest> absent" and exits 1
when it does not. DIGEST is b3:<base64> or 64 hex characters.

With --chunks, a present blob's line is followed by one line per chunk, in order: "b3:<digest> <size>"
(nothing for a blob stored as one piece, or by a store that does not chunk). Each chunk is a blob of
its own: 'castore cat' reads it by its digest.

Options:
${clientOptionsHelp}
      --chunks                 also list the blob's chunks
  -h, --help                   show this help

Exit status: 0 present, 1 absent or store failure, 2 malformed DIGEST or options.
`,

  async run(line, context) {
    const [text = ""] = expectPositionals(line, 1, 1, "DIGEST");
    const digest = B3Digest.parse(text);
    const store = await openClientStore(line, context);
    try {
      if (!flag(line, "chunks")) {
        const present = await store.has(digest, { signal: context.signal });
        context.stdout.write(`${digest} ${present ? "present" : "absent"}\n`);
        return present ? 0 : 1;
      }
      // One call answers both: undefined is absent, [] is one piece.
      const chunks = await store.chunks(digest, { signal: context.signal });
      const lines = [`${digest} ${chunks ? "present" : "absent"}`];
      for (const chunk of chunks ?? []) lines.push(`${chunk.digest} ${chunk.size}`);
      context.stdout.write(`${lines.join("\n")}\n`);
      return chunks ? 0 : 1;
    } finally {
      await store.close();
    }
  },
};
