/**
 * Hooks for tests of code that uses castore-sqlite (`castore-sqlite/testing`), kept out of the
 * main entry point so they are not mistaken for the store's API.
 */
export { isReleased } from "./service.js";
