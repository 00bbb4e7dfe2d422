import type { B3Digest } from "castore-core";
import { type CommandLine, expectPositionals, flag } from "../args.js";
import { type Command, clientOptions, quietOption } from "../command.js";
import type { CommandContext } from "../context.js";
import { type Input, openInput } from "../input.js";
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
    // The input first: a missing file fails before any store is opened or created.
    const input = await openInput(file, context.stdin, context.signal);
    let digest: B3Digest;
    let bytes: number;
    try {
      ({ digest, bytes } = await store(input, line, context));
    } finally {
      // Also when the store fails to open: runCli runs in-process too, so no descriptor may leak.
      await input.close();
    }
    context.logger.debug("stored", { digest, bytes, from: input.name });
    context.stdout.write(`${digest}\n`);
    return 0;
  },
};

/** Writes the input into the store the command line names, with progress on a terminal. */
async function store(
  input: Input,
  line: CommandLine,
  context: CommandContext,
): Promise<{ digest: B3Digest; bytes: number }> {
  const { signal, stderr } = context;
  const blobs = await openClientStore(line, context);
  const progress = new ProgressReporter(stderr, {
    label: "put",
    total: input.size,
    enabled: stderr.isTTY === true && !flag(line, "quiet"),
  });
  try {
    const writer = await blobs.openWrite({ signal });
    try {
      await writer.write(counted(input, progress, context), { signal });
      return { digest: await writer.close({ signal }), bytes: progress.bytes };
    } catch (error) {
      // Whatever was written so far must not become a blob.
      await writer.abort(error);
      throw error;
    }
  } finally {
    progress.finish();
    await blobs.close();
  }
}

async function* counted(input: Input, progress: ProgressReporter, context: CommandContext): AsyncGenerator<Uint8Array> {
  let started = false;
  for await (const chunk of input.pieces) {
    if (!started) {
      // At debug, once: the input is flowing (a put stuck on a silent pipe shows where it waits).
      context.logger.debug("reading input", { from: input.name });
      started = true;
    }
    progress.add(chunk.length);
    yield chunk;
  }
}
