/**
 * Hooks for tests of code that uses castore-sqlite (`castore-sqlite/testing`), kept out of the
 * main entry point so they are not mistaken for the store's API.
 */

export { isReleased, leaseTick, openWithHooks, settleEviction } from "./service.js";
export type { StoreHooks } from "./store.js";
export type { UploadOwner } from "./uploads.js";
