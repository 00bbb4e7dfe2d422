import { readFile } from "node:fs/promises";
import { integerOption } from "castore-core/backend";
import { type CommandLine, stringOption } from "../args.js";
import { UsageError } from "../errors.js";

/** What the daemon's flags ask of its server beyond where to listen. */
export interface ServerSettings {
  allowedHosts: "*" | string[] | undefined;
  corsOrigins: string[] | undefined;
  tls: { cert: Buffer; key: Buffer } | undefined;
  authToken: string | undefined;
  socketMode: number | undefined;
  headersTimeoutMs: number | undefined;
  idleTimeoutMs: number | undefined;
  stalledBodyTimeoutMs: number | undefined;
  maxConnections: number | undefined;
  maxCalls: number | undefined;
  maxBufferedBytes: number | undefined;
}

export const securityOptionSpecs = {
  "allowed-host": { type: "string", multiple: true },
  "cors-allow-origin": { type: "string", multiple: true },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "auth-token-file": { type: "string" },
  "socket-mode": { type: "string" },
  "headers-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  "stalled-body-timeout": { type: "string" },
  "max-connections": { type: "string" },
  "max-calls": { type: "string" },
  "max-buffered-mib": { type: "string" },
} as const;

function strings(line: CommandLine, name: string): string[] | undefined {
  const value = line.values[name];
  return Array.isArray(value) ? value.map(String) : undefined;
}

/** A number of seconds (decimals allowed, more than 0) as milliseconds. */
function seconds(line: CommandLine, name: string): number | undefined {
  const text = stringOption(line, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 86_400) {
    throw new UsageError(`invalid --${name} ${JSON.stringify(text)} (expected seconds, more than 0, e.g. 30 or 0.5)`);
  }
  return Math.max(1, Math.round(value * 1000));
}

function count(line: CommandLine, name: string): number | undefined {
  const text = stringOption(line, name);
  if (text === undefined) return undefined;
  try {
    return countOption(text);
  } catch (error) {
    throw new UsageError(`invalid --${name} ${JSON.stringify(text)} (${(error as Error).message})`);
  }
}

/** A count flag: a positive integer of at most nine digits (core's option parser says what is wrong). */
const countOption = integerOption(1, 999_999_999);

async function readSecretFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read --${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Reads and checks the daemon's security and limit flags (files are read here, once, at startup). */
export async function serverSettings(line: CommandLine): Promise<ServerSettings> {
  const allowed = strings(line, "allowed-host");
  const certFile = stringOption(line, "tls-cert");
  const keyFile = stringOption(line, "tls-key");
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError("--tls-cert and --tls-key go together");
  const tokenFile = stringOption(line, "auth-token-file");
  let authToken: string | undefined;
  if (tokenFile !== undefined) {
    authToken = (await readSecretFile("auth-token-file", tokenFile)).toString("utf8").trim();
    if (!/^[\x21-\x7e]+$/.test(authToken)) {
      throw new UsageError(`--auth-token-file ${tokenFile}: the token must be one word of printable ASCII`);
    }
  }
  const modeText = stringOption(line, "socket-mode");
  if (modeText !== undefined && !/^0?[0-7]{3}$/.test(modeText)) {
    throw new UsageError(`invalid --socket-mode ${JSON.stringify(modeText)} (expected octal, e.g. 0660)`);
  }
  const mib = count(line, "max-buffered-mib");
  return {
    allowedHosts: allowed?.includes("*") ? "*" : allowed,
    corsOrigins: strings(line, "cors-allow-origin"),
    tls:
      certFile && keyFile
        ? { cert: await readSecretFile("tls-cert", certFile), key: await readSecretFile("tls-key", keyFile) }
        : undefined,
    authToken,
    socketMode: modeText === undefined ? undefined : Number.parseInt(modeText, 8),
    headersTimeoutMs: seconds(line, "headers-timeout"),
    idleTimeoutMs: seconds(line, "idle-timeout"),
    stalledBodyTimeoutMs: seconds(line, "stalled-body-timeout"),
    maxConnections: count(line, "max-connections"),
    maxCalls: count(line, "max-calls"),
    maxBufferedBytes: mib === undefined ? undefined : mib * 2 ** 20,
  };
}
