import { parseAddress, requireNoFragment, schemeOf } from "./address.js";
import type { ConfigContext, ConfigTable } from "./config.js";
import { InvalidAddressError } from "./errors.js";
import type { SignalOptions } from "./signal.js";
import type { BlobService } from "./types.js";

/** What a backend's `open` receives besides the URL. */
export interface OpenOptions extends SignalOptions {
  /**
   * The registry that is opening this address. A backend that composes other stores (a cache of a
   * near and a far store) opens their addresses through it, so schemes registered there are found.
   */
  registry?: BlobServiceRegistry | undefined;
}

/** A backend that can be opened by URL. Backend packages export one of these. */
export interface BlobServiceBackend {
  /** URL scheme without the colon, lower case, e.g. "memory" or "grpc+unix". */
  readonly scheme: string;
  /** One line for error messages and help, e.g. "memory:// — in-process, lost on exit". */
  readonly description?: string;
  /** Validates the URL (throwing `InvalidAddress` errors) and opens the service. */
  open(url: URL, options?: OpenOptions): Promise<BlobService>;
  /**
   * Opens the service from a table of a store configuration (see `openStoreConfig`), for backends
   * whose tables need more than the generic mapping (`path` and `host` into the URL, every other
   * field a query option): a cache's `near` and `far` name other stores of the configuration.
   */
  openConfig?(table: ConfigTable, context: ConfigContext): Promise<BlobService>;
}

/** Maps URL schemes to backends. Most programs use the shared {@link defaultRegistry}. */
export class BlobServiceRegistry {
  readonly #backends = new Map<string, BlobServiceBackend>();

  constructor(backends: Iterable<BlobServiceBackend> = []) {
    for (const backend of backends) this.register(backend);
  }

  /** Adds a backend (or several). Registering the same backend object again is a no-op; a different one for a taken scheme is an error. */
  register(...backends: BlobServiceBackend[]): this {
    for (const backend of backends) {
      const scheme = backend.scheme.toLowerCase();
      if (!/^[a-z][a-z0-9+.-]*$/.test(scheme))
        throw new InvalidAddressError(`invalid URL scheme ${JSON.stringify(backend.scheme)}`);
      const existing = this.#backends.get(scheme);
      if (existing && existing !== backend) throw new InvalidAddressError(`scheme ${scheme}:// is already registered`);
      this.#backends.set(scheme, backend);
    }
    return this;
  }

  /** Registered schemes, sorted. */
  schemes(): string[] {
    return [...this.#backends.keys()].sort();
  }

  /** The backend for a scheme, if registered. */
  get(scheme: string): BlobServiceBackend | undefined {
    return this.#backends.get(scheme.toLowerCase());
  }

  /** Opens the store an address names. Malformed URLs and unknown schemes are `InvalidAddress` errors. */
  async open(address: string | URL, options?: SignalOptions): Promise<BlobService> {
    const url = parseAddress(address);
    requireNoFragment(url);
    const scheme = schemeOf(url);
    const backend = this.#backends.get(scheme);
    if (!backend) {
      const known = this.schemes();
      const list = known.length > 0 ? known.map((s) => `${s}://`).join(", ") : "none are registered";
      throw new InvalidAddressError(
        `unknown store scheme ${JSON.stringify(`${scheme}://`)} in ${url.href} (known schemes: ${list})`,
      );
    }
    return backend.open(url, { ...options, registry: this });
  }
}

/** The process-wide registry that {@link fromAddr} and {@link register} use. */
export const defaultRegistry = new BlobServiceRegistry();

/** Registers backends with the default registry. */
export function register(...backends: BlobServiceBackend[]): void {
  defaultRegistry.register(...backends);
}

/** Opens a store by URL through the default registry, e.g. `await fromAddr("memory://")`. */
export function fromAddr(address: string | URL, options?: SignalOptions): Promise<BlobService> {
  return defaultRegistry.open(address, options);
}
