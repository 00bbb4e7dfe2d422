import { register } from "castore-core";
import { memoryBackend } from "castore-memory";
import { sqliteBackend } from "castore-sqlite";

let registered = false;

/** Registers every backend castore ships with core's registry (once). */
export function registerBackends(): void {
  if (registered) return;
  registered = true;
  register(memoryBackend, sqliteBackend);
}
