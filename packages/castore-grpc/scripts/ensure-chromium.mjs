#!/usr/bin/env node
// Makes Debian's Chromium available for the browser tests (test/browser), where that is possible
// (see scripts/ensure-debian-package.mjs at the repository root). CASTORE_CHROMIUM names another
// browser, which is then never installed.
import { existsSync } from "node:fs";
import { ensureDebianPackage } from "../../../scripts/ensure-debian-package.mjs";

const chromium = process.env.CASTORE_CHROMIUM ?? "/usr/bin/chromium";

if (process.env.CASTORE_CHROMIUM && !existsSync(chromium)) {
  console.warn(`ensure-chromium: CASTORE_CHROMIUM=${chromium} does not exist; the browser tests will be skipped`);
} else {
  ensureDebianPackage({ path: chromium, pkg: "chromium", tag: "ensure-chromium", neededBy: "the browser tests" });
}
