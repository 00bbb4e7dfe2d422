import { type CommandLine, flag, parseCommandLine, stringOption } from "./args.js";
import { type Command, commonOptions } from "./command.js";
import { catCommand } from "./commands/cat.js";
import { daemonCommand } from "./commands/daemon.js";
import { putCommand } from "./commands/put.js";
import { statCommand } from "./commands/stat.js";
import { verifyCommand } from "./commands/verify.js";
import type { CommandContext } from "./context.js";
import { describeError, ExitCode, exitCodeFor, InterruptedError, UsageError } from "./errors.js";
import { Logger, parseLogLevel } from "./logger.js";
import { BrokenPipeError } from "./output.js";
import { ADDRESS_ENV, describeBackends } from "./store.js";
import { startTracing, type Tracing } from "./tracing.js";
import { packageVersion } from "./version.js";

export const commands: readonly Command[] = [daemonCommand, putCommand, catCommand, statCommand, verifyCommand];

/** The process-level things a run needs; `bin.ts` passes the real ones. */
export type CliIo = Omit<CommandContext, "logger">;

/**
 * Runs `castore <args>` and returns the exit status. Every failure ends here as one line on stderr
 * ("castore cat: blob b3:… not found"); stack traces only with --log-level debug.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  // `pnpm run castore -- put x` passes the `--` on; before the command it can only mean "end of
  // pnpm's options", so it is skipped.
  const [first, ...rest] = args[0] === "--" ? args.slice(1) : args;
  if (first === undefined) {
    io.stderr.write(`${usageLine()}\nRun 'castore --help' for the commands.\n`);
    return ExitCode.Usage;
  }
  if (first === "--version" || first === "-V") {
    io.stdout.write(`castore ${packageVersion()}\n`);
    return ExitCode.Ok;
  }
  if (first === "--help" || first === "-h") {
    io.stdout.write(await generalHelp());
    return ExitCode.Ok;
  }
  if (first === "help") return helpCommand(rest, io);
  const command = commands.find((c) => c.name === first);
  if (!command) {
    const what = first.startsWith("-") ? `unknown option '${first}'` : `unknown command '${first}'`;
    io.stderr.write(`castore: ${what} (commands: ${commandNames()}; see 'castore --help')\n`);
    return ExitCode.Usage;
  }
  return runCommand(command, rest, io);
}

async function runCommand(command: Command, args: readonly string[], io: CliIo): Promise<number> {
  let logger = new Logger(io.stderr, "info");
  let tracing: Tracing | undefined;
  try {
    const line: CommandLine = parseCommandLine(args, { ...commonOptions, ...command.options });
    if (flag(line, "help")) {
      io.stdout.write(command.help());
      return ExitCode.Ok;
    }
    logger = new Logger(io.stderr, parseLogLevel(stringOption(line, "log-level")));
    const context = { ...io, logger };
    tracing = await startTracing(io.env, command.name === "daemon" ? "castore-daemon" : "castore", logger).catch(
      (error: unknown) => {
        // A tracing setup the environment got wrong must not stop the command itself.
        logger.warn("tracing off", { error });
        return undefined;
      },
    );
    // A client command is one trace: its calls to a daemon are spans of it (the daemon's calls are their own).
    if (tracing && command.name !== "daemon")
      return await tracing.inSpan(`castore ${command.name}`, () => command.run(line, context));
    return await command.run(line, context);
  } catch (caught) {
    // An interrupt surfaces as whatever the interrupted operation threw (often an Aborted error).
    const error = io.signal.aborted && io.signal.reason instanceof InterruptedError ? io.signal.reason : caught;
    if (error instanceof BrokenPipeError) return ExitCode.Ok;
    const hint = error instanceof UsageError ? ` (see 'castore ${command.name} --help')` : "";
    io.stderr.write(`castore ${command.name}: ${describeError(error)}${hint}\n`);
    const interrupted = error instanceof InterruptedError;
    if (logger.enabled("debug") && !interrupted && caught instanceof Error && caught.stack) {
      io.stderr.write(`${caught.stack}\n`);
    }
    return exitCodeFor(error);
  } finally {
    await tracing?.shutdown();
  }
}

async function helpCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [name, ...extra] = args;
  const command = commands.find((c) => c.name === name);
  if (name === undefined) {
    io.stdout.write(await generalHelp());
    return ExitCode.Ok;
  }
  if (!command || extra.length > 0) {
    io.stderr.write(`castore help: unknown command '${args.join(" ")}' (commands: ${commandNames()})\n`);
    return ExitCode.Usage;
  }
  io.stdout.write(command.help());
  return ExitCode.Ok;
}

function commandNames(): string {
  return commands.map((c) => c.name).join(", ");
}

function usageLine(): string {
  return `Usage: castore <${commands.map((c) => c.name).join("|")}> [options]`;
}

async function generalHelp(): Promise<string> {
  const width = Math.max(...commands.map((c) => c.name.length)) + 3;
  const list = commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n");
  const stores = (await describeBackends()).map((line) => `  ${line}`).join("\n");
  return `castore ${packageVersion()}: a content-addressed blob store. Blobs are named by their BLAKE3
digest (b3:…); stores speak tvix-castore's gRPC BlobService protocol.

${usageLine()}

Commands:
${list}

Options:
  -h, --help       show help (also 'castore <command> --help' or 'castore help <command>')
  -V, --version    print the version

Stores (--blob-service-addr URL; client commands also read ${ADDRESS_ENV}):
${stores}
  With no address, commands use the embedded store $XDG_DATA_HOME/castore/blobs.sqlite
  (~/.local/share/castore/blobs.sqlite when XDG_DATA_HOME is unset), so 'castore put' works
  without a daemon. --config FILE (.toml or .json) opens a composition of named stores instead,
  such as a local cache in front of a daemon (see the README).

Exit status: 0 success, 1 failure (blob absent or corrupt, store unreachable), 2 usage error
(unknown option, malformed digest or address), 130/143 interrupted by SIGINT/SIGTERM.
`;
}
