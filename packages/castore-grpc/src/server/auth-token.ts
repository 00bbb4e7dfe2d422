import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks the bearer token of a request (`authorization: Bearer TOKEN`) against the server's, in
 * constant time: both are hashed first, so neither their contents nor their lengths show in the
 * time the comparison takes.
 */
export class BearerToken {
  readonly #expected: Buffer;

  constructor(token: string) {
    this.#expected = sha256(token);
  }

  matches(authorization: string | undefined): boolean {
    const given = /^Bearer +(\S+) *$/i.exec(authorization ?? "")?.[1] ?? "";
    // Always compared, even when absent, so that a missing header costs the same as a wrong one.
    return timingSafeEqual(sha256(given), this.#expected) && given !== "";
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
