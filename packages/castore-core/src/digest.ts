import { decodeBase64, encodeBase64 } from "./base64.js";
import { copyBytes } from "./bytes.js";
import { InvalidDigestError } from "./errors.js";

const PREFIX = "b3:";
const HEX = /^[0-9a-fA-F]{64}$/;
/**
 * Marks every B3Digest, in every copy of castore-core a process loads (Symbol.for is shared by all
 * of them), so a digest made by one copy is a digest to another: `instanceof B3Digest` tests it.
 */
const DIGEST_BRAND = Symbol.for("castore-core.B3Digest");

/**
 * A BLAKE3 digest: exactly 32 bytes, immutable.
 *
 * Text form is `b3:` + standard padded base64 (44 characters), as the Rust original prints it;
 * {@link B3Digest.parse} also accepts 64 hex characters. Two digests are equal when their bytes are;
 * use {@link B3Digest.toString} as a Map key.
 */
export class B3Digest {
  /** Length of a BLAKE3 digest in bytes. */
  static readonly LENGTH = 32;

  readonly #bytes: Uint8Array;
  #text: string | undefined;

  /**
   * True for a B3Digest from any copy of castore-core, not only this one: a dependency tree may hold
   * two copies, and a digest from one must be accepted by the other.
   */
  static [Symbol.hasInstance](value: unknown): value is B3Digest {
    return (
      typeof value === "object" && value !== null && (value as { [DIGEST_BRAND]?: unknown })[DIGEST_BRAND] === true
    );
  }

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** A digest from exactly 32 bytes (copied). Any other length is an `InvalidDigest` error naming it. */
  static fromBytes(bytes: Uint8Array): B3Digest {
    if (!(bytes instanceof Uint8Array)) {
      throw new InvalidDigestError(`invalid digest: expected a Uint8Array, got ${typeof bytes}`);
    }
    if (bytes.length !== B3Digest.LENGTH) {
      throw new InvalidDigestError(`invalid digest length: ${bytes.length} bytes, expected ${B3Digest.LENGTH}`);
    }
    return new B3Digest(copyBytes(bytes));
  }

  /** Parses `b3:<base64>` or 64 hex characters; anything else is an `InvalidDigest` error. */
  static parse(text: string): B3Digest {
    if (typeof text !== "string") throw new InvalidDigestError(`invalid digest: expected a string, got ${typeof text}`);
    if (text.startsWith(PREFIX)) {
      const bytes = decodeBase64(text.slice(PREFIX.length));
      if (!bytes) throw new InvalidDigestError(`invalid digest ${JSON.stringify(text)}: not valid padded base64`);
      return B3Digest.fromBytes(bytes);
    }
    if (HEX.test(text)) {
      const bytes = new Uint8Array(B3Digest.LENGTH);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
      return new B3Digest(bytes);
    }
    throw new InvalidDigestError(
      `invalid digest ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)}: expected "b3:" followed by 44 base64 characters, or 64 hex characters`,
    );
  }

  /** Accepts a digest, its 32 bytes, or its text form. */
  static from(value: B3Digest | Uint8Array | string): B3Digest {
    if (value instanceof B3Digest) return value;
    return typeof value === "string" ? B3Digest.parse(value) : B3Digest.fromBytes(value);
  }

  /** True when `text` parses as a digest. */
  static isValid(text: string): boolean {
    try {
      B3Digest.parse(text);
      return true;
    } catch {
      return false;
    }
  }

  /** A copy of the 32 digest bytes. */
  get bytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /** The digest bytes without a copy. Callers must not modify them. */
  get unsafeBytes(): Uint8Array {
    return this.#bytes;
  }

  /** `b3:` followed by standard padded base64. */
  toString(): string {
    this.#text ??= PREFIX + encodeBase64(this.#bytes);
    return this.#text;
  }

  /** 64 lowercase hex characters. */
  toHex(): string {
    let out = "";
    for (const byte of this.#bytes) out += byte.toString(16).padStart(2, "0");
    return out;
  }

  toJSON(): string {
    return this.toString();
  }

  /** Equality by bytes. */
  equals(other: B3Digest | Uint8Array): boolean {
    // unsafeBytes, not #bytes: `other` may come from another copy of castore-core.
    const theirs = other instanceof B3Digest ? other.unsafeBytes : other;
    if (theirs.length !== this.#bytes.length) return false;
    for (let i = 0; i < theirs.length; i++) if (theirs[i] !== this.#bytes[i]) return false;
    return true;
  }
}

// The brand lives on the prototype (not enumerable, not writable), outside the class body so the
// published declarations do not name a private symbol.
Object.defineProperty(B3Digest.prototype, DIGEST_BRAND, { value: true });
