import type { B3Digest } from "castore-core";
import { expectPositionals, flag } from "../args.js";
import { type Command, clientOptions, quietOption } from "../command.js";
import { openInput } from "../input.js";
import { ProgressReporter } from "../progress.js";
import { openClientStore } from "../store.js";
import { clientOptionsHelp } from "./help-text.js";

export const putCommand: Command = {
  name: "put",
  summary: "store a file or stdin and print its digest",
  options: { ...clientOptions, ...quietOption },
  help: () => `Usage: castore put [FILE|-] [options]

Stores FILE (or stdin, for '-' or no FILE) and prints its digest (b3:…) on stdout.
Storing the same bytes again is harmless: the digest is the same and nothing is duplicated.

Options:
${clientOptionsHelp}
  -q, --quiet                  no progress display (it is shown only when stderr is a terminal)
  -h, --help                   show this help

Examples:
  castore put photo.jpg
  tar c src | castore put -
  castore put big.iso --blob-service-addr grpc+http://127.0.0.1:8000
`,

  async run(line, context) {
    const [file] = expectPositionals(line, 0, 1, "FILE");
    const { signal, stderr } = context;
    // The input first: a missing file fails before any store is opened or created.
    const input = await openInput(file, context.stdin, signal);
    const store = await openClientStore(line, context);
    const progress = new ProgressReporter(stderr, {
      label: "put",
      total: input.size,
      enabled: stderr.isTTY === true && !flag(line, "quiet"),
    });
    let digest: B3Digest;
    try {
      const writer = await store.openWrite({ signal });
      try {
        await writer.write(counted(input.stream, progress), { signal });
        digest = await writer.close({ signal });
      } catch (error) {
        // Whatever was written so far must not become a blob.
        await writer.abort(error);
        throw error;
      }
    } finally {
      progress.finish();
      input.stream.destroy();
      await store.close();
    }
    context.logger.debug("stored", { digest, bytes: progress.bytes, from: input.name });
    context.stdout.write(`${digest}\n`);
    return 0;
  },
};

async function* counted(source: AsyncIterable<Uint8Array>, progress: ProgressReporter): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    progress.add(chunk.length);
    yield chunk;
  }
}
