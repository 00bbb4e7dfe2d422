import { B3Digest, NotFoundError, ReadBuffers } from "castore-core";
import { expectPositionals, flag } from "../args.js";
import { type Command, clientOptions, quietOption } from "../command.js";
import { OutputSink } from "../output.js";
import { ProgressReporter } from "../progress.js";
import { rangeOption, rangeSize, readRange } from "../range.js";
import { BLOB_READ_BYTES } from "../read-size.js";
import { openClientStore } from "../store.js";
import { clientOptionsHelp } from "./help-text.js";

export const catCommand: Command = {
  name: "cat",
  summary: "write a blob to stdout",
  options: { ...clientOptions, ...quietOption, offset: { type: "string" }, length: { type: "string" } },
  help: () => `Usage: castore cat DIGEST [options]

Writes the blob with this digest to stdout. DIGEST is b3:<base64> (as 'castore put' prints it) or
64 hex characters. Every byte is checked against the digest: a corrupt blob fails with an integrity
error and exit status 1, and its output is never complete (the last chunk is held back until the
blob is verified).

With --offset N and/or --length M, writes only M bytes (fewer if the blob ends first; to the end
without --length) from byte N (0 without --offset). A chunked blob is read through random access:
only the chunks the range touches are fetched, each verified against its digest before any of its
bytes is written. A one-piece blob is verified whole; from a store that streams blobs without a chunk
list, the whole blob is read and verified and the range written after. An offset past the end of
the blob is an error (exit status 2).

Options:
${clientOptionsHelp}
      --offset N               start at byte N (a whole number)
      --length M               write at most M bytes
  -q, --quiet                  no progress display (shown only when stderr is a terminal and
                               stdout is not)
  -h, --help                   show this help

Exit status: 0 written, 1 absent or corrupt or store failure, 2 malformed DIGEST or options.
`,

  async run(line, context) {
    const [text = ""] = expectPositionals(line, 1, 1, "DIGEST");
    const digest = B3Digest.parse(text);
    const range = rangeOption(line);
    const { signal, stderr } = context;
    const store = await openClientStore(line, context);
    // Gathered: pieces from a remote store can be as short as one HTTP/2 frame.
    const sink = new OutputSink(context.stdout, { gather: true });
    const buffers = new ReadBuffers(BLOB_READ_BYTES);
    try {
      const reader = await store.openRead(digest, { signal });
      if (!reader) throw new NotFoundError(`blob ${digest} not found`);
      const progress = new ProgressReporter(stderr, {
        label: "cat",
        total: range ? rangeSize(range, reader.size) : reader.size,
        // Not when the blob itself goes to the terminal: the progress line would tear through it.
        enabled: stderr.isTTY === true && context.stdout.isTTY !== true && !flag(line, "quiet"),
      });
      try {
        if (range) {
          for await (const chunk of readRange(reader, range, signal)) {
            await sink.write(chunk);
            progress.add(chunk.length);
          }
          await sink.flush();
          return 0;
        }
        // Each chunk is written only once the reader has produced the next one or confirmed a clean
        // (verified) end. A reader that detects corruption at the end therefore fails before the
        // last bytes go out: a corrupt blob never appears as a complete output. Chunks are read into
        // buffers used again once stdout is done with them (see ReadBuffers).
        let held: { bytes: Uint8Array; giveBack: () => void } | undefined;
        for (;;) {
          const { buffer, giveBack } = buffers.take();
          const chunk = await reader.read({ signal, into: buffer });
          if (held) {
            const { bytes, giveBack: done } = held;
            held = undefined;
            await sink.write(bytes, done);
            progress.add(bytes.length);
          }
          if (chunk === undefined) {
            giveBack();
            break;
          }
          held = { bytes: chunk, giveBack };
        }
      } finally {
        progress.finish();
        await reader.close();
      }
      await sink.flush();
    } catch (error) {
      // The sink holds bytes it gathered, all verified before it got them: they go out, as they
      // would have without gathering (a failed range still writes its verified part).
      await sink.flush().catch(() => {});
      throw error;
    } finally {
      sink.release();
      await store.close();
    }
    return 0;
  },
};
