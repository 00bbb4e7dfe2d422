// Lets a service learn when a reader or writer it handed out has finished (closed, aborted or
// failed), so it can close the unfinished ones on shutdown without holding finished ones forever.
//
// A dependency tree may hold two copies of castore-core: a service built on one copy can hand out
// readers built on the other. So nothing here is module-local (no instanceof, no WeakMap): handles
// carry a brand and their listener under Symbol.for keys, which every copy shares. These keys and
// their meaning are a protocol between copies and versions of castore-core: keep them stable.
const REPORTS_FINISH = Symbol.for("castore-core.lifecycle.reportsFinish");
const LISTENER = Symbol.for("castore-core.lifecycle.listener");

type Slots = { [REPORTS_FINISH]?: unknown; [LISTENER]?: unknown };

/** Brands the instances of a base class as handles that report when they finish. */
export function markReportsFinish(prototype: object): void {
  Object.defineProperty(prototype, REPORTS_FINISH, { value: true });
}

/** Whether `handle` reports when it finishes (it is built on a core base class, of any copy of core). */
export function reportsFinish(handle: unknown): handle is object {
  return typeof handle === "object" && handle !== null && (handle as Slots)[REPORTS_FINISH] === true;
}

/** Calls `listener` once when `handle` finishes. Only handles built on the core base classes report it. */
export function onFinished(handle: object, listener: () => void): void {
  Object.defineProperty(handle, LISTENER, { value: listener, configurable: true, writable: true });
}

/** Called by the base classes when a handle finishes. */
export function notifyFinished(handle: object): void {
  const listener = (handle as Slots)[LISTENER];
  if (typeof listener !== "function") return;
  delete (handle as Slots)[LISTENER];
  listener();
}
