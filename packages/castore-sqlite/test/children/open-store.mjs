// A separate process that opens a store (upgrading a v1 file) so that a test can kill it mid-way.
//
//   node open-store.mjs <file>
//
// Prints "OPENING" just before the open and "OPEN" once it returned, then exits.
import { openSqliteBlobService } from "../../dist/index.js";

const [file] = process.argv.slice(2);
process.stdout.write("OPENING\n");
const service = await openSqliteBlobService(file);
process.stdout.write("OPEN\n");
await service.close();
