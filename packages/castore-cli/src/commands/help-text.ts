/** Help lines shared by the client commands (put, cat, stat). */
export const clientOptionsHelp = `      --blob-service-addr URL  the store to use (also CASTORE_BLOB_SERVICE_ADDR); default: the
                               embedded SQLite store, see 'castore --help'
      --log-level LEVEL        error, warn, info (default) or debug (debug adds stack traces)`;
