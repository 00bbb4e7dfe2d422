import { B3Digest, NotFoundError } from "castore-core";
import { expectPositionals, flag } from "../args.js";
import { type Command, clientOptions, quietOption } from "../command.js";
import { OutputSink } from "../output.js";
import { ProgressReporter } from "../progress.js";
import { openClientStore } from "../store.js";
import { clientOptionsHelp } from "./help-text.js";

export const catCommand: Command = {
  name: "cat",
  summary: "write a blob to stdout",
  options: { ...clientOptions, ...quietOption },
  help: () => `Usage: castore cat DIGEST [options]

Writes the blob with this digest to stdout. DIGEST is b3:<base64> (as 'castore put' prints it) or
64 hex characters. Every byte is checked against the digest: a corrupt blob fails with an integrity
error and exit status 1, and its output is never complete (the last chunk is held back until the
blob is verified).

Options:
${clientOptionsHelp}
  -q, --quiet                  no progress display (shown only when stderr is a terminal and
                               stdout is not)
  -h, --help                   show this help

Exit status: 0 written, 1 absent or corrupt or store failure, 2 malformed DIGEST or options.
`,

  async run(line, context) {
    const [text = ""] = expectPositionals(line, 1, 1, "DIGEST");
    const digest = B3Digest.parse(text);
    const { signal, stderr } = context;
    const store = await openClientStore(line, context);
    const sink = new OutputSink(context.stdout);
    try {
      const reader = await store.openRead(digest, { signal });
      if (!reader) throw new NotFoundError(`blob ${digest} not found`);
      const progress = new ProgressReporter(stderr, {
        label: "cat",
        total: reader.size,
        // Not when the blob itself goes to the terminal: the progress line would tear through it.
        enabled: stderr.isTTY === true && context.stdout.isTTY !== true && !flag(line, "quiet"),
      });
      try {
        // Each chunk is written only once the reader has produced the next one or confirmed a clean
        // (verified) end. A reader that detects corruption at the end therefore fails before the
        // last bytes go out: a corrupt blob never appears as a complete output.
        let held: Uint8Array | undefined;
        for (;;) {
          const chunk = await reader.read({ signal });
          if (held) {
            await sink.write(held);
            progress.add(held.length);
          }
          if (chunk === undefined) break;
          held = chunk;
        }
      } finally {
        progress.finish();
        await reader.close();
      }
      await sink.flush();
    } finally {
      sink.release();
      await store.close();
    }
    return 0;
  },
};
