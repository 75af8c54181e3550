/**
 * Small helpers over plain JSON-like trees, used to layer the configuration sources.
 * Only plain objects are merged or walked; every other value (including arrays) is a leaf.
 */

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Sets `a.b.c` in `target`, creating the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = target;
  for (const key of keys) {
    const next = node[key];
    if (!isPlainObject(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[last] = value;
}

/**
 * Layers `upper` over `lower` into a new tree; neither input is modified. `undefined` in `upper`
 * means "not set here", so an override object with an absent optional key changes nothing.
 */
export function mergeTrees(lower: Record<string, unknown>, upper: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...lower };
  for (const [key, value] of Object.entries(upper)) {
    if (value === undefined) continue;
    const below = Object.hasOwn(result, key) ? result[key] : undefined;
    const merged = isPlainObject(value) && isPlainObject(below) ? mergeTrees(below, value) : value;
    // defineProperty, not assignment: a `__proto__` key from a JSON file must stay an ordinary
    // (and then rejected) key instead of replacing the object's prototype.
    Object.defineProperty(result, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** Every dotted path in `tree`, objects included, so an error on a whole section finds its source too. */
export function* paths(tree: Record<string, unknown>, prefix = ''): Generator<string> {
  for (const [key, value] of Object.entries(tree)) {
    if (value === undefined) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    yield path;
    if (isPlainObject(value)) yield* paths(value, path);
  }
}

/** Freezes `value` and everything reachable from it, so no module can change shared settings. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
