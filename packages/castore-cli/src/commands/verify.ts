import { B3Digest, type BlobService, canListBlobs, isCastoreError, UnsupportedError } from "castore-core";
import { expectPositionals, flag } from "../args.js";
import { type Command, clientOptions, quietOption } from "../command.js";
import type { CommandContext } from "../context.js";
import { OutputSink } from "../output.js";
import { formatBytes, ProgressReporter } from "../progress.js";
import { BLOB_READ_BYTES } from "../read-size.js";
import { openClientStore } from "../store.js";
import { clientOptionsHelp } from "./help-text.js";

export const verifyCommand: Command = {
  name: "verify",
  summary: "check every blob of a store (or the ones named) against its digests",
  options: { ...clientOptions, ...quietOption },
  help: () => `Usage: castore verify [DIGEST...] [options]

Reads every blob of the store, or only the blobs named, through the store's verifying reader: every
chunk is checked against its own hash and the whole blob against its digest. Prints one line per bad
blob ("<digest> corrupt: <why>" or "<digest> missing") and then a summary. Nothing is changed.

Safe while a daemon serves the same SQLite file: blobs are read as any other reader would, and
blobs stored during the walk may or may not be checked. Listing every blob needs a store that can
list its blobs (the embedded SQLite store can; a gRPC store cannot: name the digests instead).

Options:
${clientOptionsHelp}
  -q, --quiet                  no progress display (shown only when stderr is a terminal)
  -h, --help                   show this help

Exit status: 0 every blob is sound, 1 a bad or missing blob or a store failure, 2 malformed DIGEST
or options.
`,

  async run(line, context) {
    const digests = expectPositionals(line, 0, Number.POSITIVE_INFINITY, "DIGEST").map((text) => B3Digest.parse(text));
    const store = await openClientStore(line, context);
    const sink = new OutputSink(context.stdout);
    const progress = new ProgressReporter(context.stderr, {
      label: "verify",
      enabled: context.stderr.isTTY === true && !flag(line, "quiet"),
    });
    try {
      const tally = { blobs: 0, bad: 0 };
      for await (const digest of digestsToCheck(store, digests, context)) {
        const problem = await checkBlob(store, digest, context, (bytes) => progress.add(bytes));
        tally.blobs++;
        progress.setLabel(`verify  ${tally.blobs} blobs`);
        if (problem === undefined) continue;
        tally.bad++;
        // Off the terminal first, or the line would run on from the progress display.
        progress.clear();
        await sink.write(new TextEncoder().encode(`${digest} ${problem}\n`));
      }
      progress.finish();
      const summary =
        `verified ${tally.blobs} blob${tally.blobs === 1 ? "" : "s"} (${formatBytes(progress.bytes)} read): ` +
        `${tally.blobs - tally.bad} sound, ${tally.bad} bad\n`;
      await sink.write(new TextEncoder().encode(summary));
      await sink.flush();
      return tally.bad === 0 ? 0 : 1;
    } finally {
      progress.finish();
      sink.release();
      await store.close();
    }
  },
};

/** The digests named on the command line, or else every digest the store lists. */
function digestsToCheck(
  store: BlobService,
  named: readonly B3Digest[],
  context: CommandContext,
): Iterable<B3Digest> | AsyncIterable<B3Digest> {
  if (named.length > 0) return named;
  if (!canListBlobs(store)) {
    throw new UnsupportedError("this store cannot list its blobs; name the digests to verify");
  }
  return store.listBlobs({ signal: context.signal });
}

/**
 * Reads one blob to its end through the store's verifying reader. Returns what is wrong with it
 * ("missing", "corrupt: …"), or undefined when it is sound; failures of the store itself are thrown.
 */
async function checkBlob(
  store: BlobService,
  digest: B3Digest,
  context: CommandContext,
  onBytes: (count: number) => void,
): Promise<string | undefined> {
  const { signal } = context;
  try {
    const reader = await store.openRead(digest, { signal });
    if (!reader) return "missing";
    try {
      // The bytes are only counted: one buffer serves every read (see ReadOptions.into).
      const into = Buffer.allocUnsafeSlow(BLOB_READ_BYTES);
      for (let chunk = await reader.read({ signal, into }); chunk; chunk = await reader.read({ signal, into })) {
        onBytes(chunk.length);
      }
    } finally {
      await reader.close();
    }
    return undefined;
  } catch (error) {
    if (isCastoreError(error, "Integrity")) return `corrupt: ${error.message}`;
    throw error;
  }
}
