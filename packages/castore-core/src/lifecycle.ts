// Lets a service learn when a reader or writer it handed out has finished (closed, aborted or
// failed), so it can close the unfinished ones on shutdown without holding finished ones forever.
const listeners = new WeakMap<object, () => void>();

/** Calls `listener` once when `handle` finishes. Only handles built on the core base classes report it. */
export function onFinished(handle: object, listener: () => void): void {
  listeners.set(handle, listener);
}

/** Called by the base classes when a handle finishes. */
export function notifyFinished(handle: object): void {
  const listener = listeners.get(handle);
  if (!listener) return;
  listeners.delete(handle);
  listener();
}
