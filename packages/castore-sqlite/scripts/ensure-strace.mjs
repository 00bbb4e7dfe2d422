#!/usr/bin/env node
// Makes Debian's strace available for the test of the order in which a durable put syncs its files
// (test/durability-order.test.ts), where that is possible (see scripts/ensure-debian-package.mjs at
// the repository root). Linux only, like the test.
import { ensureDebianPackage } from "../../../scripts/ensure-debian-package.mjs";

if (process.platform === "linux") {
  ensureDebianPackage({
    path: "/usr/bin/strace",
    pkg: "strace",
    tag: "ensure-strace",
    neededBy: "the durability-order test",
  });
}
