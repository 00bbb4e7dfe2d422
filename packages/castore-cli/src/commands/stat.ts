import { B3Digest } from "castore-core";
import { expectPositionals } from "../args.js";
import { type Command, clientOptions } from "../command.js";
import { openClientStore } from "../store.js";
import { clientOptionsHelp } from "./help-text.js";

export const statCommand: Command = {
  name: "stat",
  summary: "tell whether a blob is present",
  options: { ...clientOptions },
  help: () => `Usage: castore stat DIGEST [options]

Prints "<digest> present" and exits 0 when the store has the blob, or "<digest> absent" and exits 1
when it does not. DIGEST is b3:<base64> or 64 hex characters.

Options:
${clientOptionsHelp}
  -h, --help                   show this help

Exit status: 0 present, 1 absent or store failure, 2 malformed DIGEST or options.
`,

  async run(line, context) {
    const [text = ""] = expectPositionals(line, 1, 1, "DIGEST");
    const digest = B3Digest.parse(text);
    const store = await openClientStore(line, context);
    try {
      const present = await store.has(digest, { signal: context.signal });
      context.stdout.write(`${digest} ${present ? "present" : "absent"}\n`);
      return present ? 0 : 1;
    } finally {
      await store.close();
    }
  },
};
