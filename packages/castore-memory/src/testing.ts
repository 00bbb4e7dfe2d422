/**
 * Hooks for tests of code that uses castore-memory (`castore-memory/testing`), kept out of the main
 * entry point so they are not mistaken for the store's API.
 */

export { corruptForTesting } from "./memory-service.js";
