/** Help lines shared by the client commands (put, cat, stat). */
export const clientOptionsHelp = `      --blob-service-addr URL  the store to use (also CASTORE_BLOB_SERVICE_ADDR); default: the
                               embedded SQLite store, see 'castore --help'
      --config FILE            open the store a configuration file (.toml or .json) names as
                               root instead: named stores, cache tiers (see the README)
      --log-level LEVEL        error, warn, info (default) or debug (debug adds stack traces)`;
