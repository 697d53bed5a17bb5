/**
 * Namespaces as a key space. An execution, schedule, template/dedup/debounce key or lock key of
 * namespace `ns` is stored as `ns` + U+001F + the caller's key; the default namespace stores keys
 * unprefixed, so existing rows and single-namespace deployments are unchanged. U+001F is refused
 * in every caller-chosen id and key (validation.ts), so a stored key maps back to exactly one
 * (namespace, key) pair and two namespaces can never produce the same stored key: ids are unique
 * per namespace, and nothing in one can name a row of another. The client and the runner
 * translate at their boundary; `workflow_executions.namespace` (written with each row) lets a
 * runner claim only its own namespace through an index.
 */
import { ValidationError } from '../errors';

export const DEFAULT_NAMESPACE = 'default';
/** Separator between the namespace and the key (ASCII unit separator; never in user ids). */
export const NS_SEP = '\u001f';
/** Longest namespace name (the `namespace` column). */
export const MAX_NAMESPACE_LENGTH = 64;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A namespace option: undefined → `default`; otherwise 1–64 letters, digits, `.`, `_`, `-`. */
export function validateNamespace(ns: unknown, field = 'namespace'): string {
  if (ns === undefined) return DEFAULT_NAMESPACE;
  if (typeof ns !== 'string' || !NAME.test(ns)) {
    throw new ValidationError(`namespace must be 1–${MAX_NAMESPACE_LENGTH} letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(ns)})`, field);
  }
  return ns;
}

/** The stored form of `key` in namespace `ns`. */
export function nsKey(ns: string, key: string): string {
  return ns === DEFAULT_NAMESPACE ? key : `${ns}${NS_SEP}${key}`;
}

/** Same, passing null through (optional keys). */
export function nsKeyOrNull(ns: string, key: string | null): string | null {
  return key === null ? null : nsKey(ns, key);
}

/** The namespace a stored key belongs to. */
export function namespaceOf(stored: string): string {
  const i = stored.indexOf(NS_SEP);
  return i < 0 ? DEFAULT_NAMESPACE : stored.slice(0, i);
}

/** The caller's key of a stored key (its namespace stripped). */
export function localKey(stored: string): string {
  const i = stored.indexOf(NS_SEP);
  return i < 0 ? stored : stored.slice(i + 1);
}

/** Same, passing null through. */
export function localKeyOrNull(stored: string | null): string | null {
  return stored === null ? null : localKey(stored);
}

/** The stored key of a validated caller key, refused when the namespace makes it longer than `max`. */
export function storedKey(ns: string, key: string, max: number, what: string): string {
  const stored = nsKey(ns, key);
  if (stored !== key && [...stored].length > max) {
    throw new ValidationError(`${what} "${key}" is too long in namespace "${ns}": namespace, separator and ${what} together may be at most ${max} characters`, 'id');
  }
  return stored;
}

/** A prepared start's flow keys (dedup, debounce) moved into namespace `ns`. */
export function inNamespace<T extends { dedup: { key: string } | null; debounce: { key: string } | null }>(ns: string, p: T): T {
  if (ns === DEFAULT_NAMESPACE) return p;
  return {
    ...p,
    dedup: p.dedup && { ...p.dedup, key: nsKey(ns, p.dedup.key) },
    debounce: p.debounce && { ...p.debounce, key: nsKey(ns, p.debounce.key) },
  };
}
