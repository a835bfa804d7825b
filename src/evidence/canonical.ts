/**
 * Canonical JSON: the one byte form of a value that evidence records are written, hashed and signed in.
 *
 * - object keys sorted by UTF-16 code units (JavaScript's default sort, as RFC 8785 does);
 * - no whitespace between tokens; one newline at the end, so `cat` and `git diff` show a whole line;
 * - strings and numbers as `JSON.stringify` writes them (ECMAScript's shortest round-trip numbers, the
 *   same as RFC 8785's), so equal values always give equal bytes;
 * - only JSON values: `undefined`, functions, symbols, bigints, NaN, ±Infinity and objects that are not
 *   plain (Date, Map, class instances …) are refused with the path of the offending value, never dropped
 *   or converted silently.
 */

export class CanonicalJsonError extends Error {
  /** Where the offending value is, as a JSON path (`$.measurements.bytes`). */
  readonly path: string;

  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'CanonicalJsonError';
    this.path = path;
  }
}

/** Nesting deeper than this is refused (a record is a few levels deep; this stops runaway recursion). */
const MAX_DEPTH = 64;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function write(value: unknown, path: string, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(path, `nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `${value} is not a JSON number`);
      out.push(JSON.stringify(value));
      return;
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(path, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      if (!(i in value))
        throw new CanonicalJsonError(child(path, i), 'a hole in an array is not a JSON value');
      write(value[i], child(path, i), depth + 1, out);
    }
    out.push(']');
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (value as object).constructor?.name ?? 'object';
    throw new CanonicalJsonError(path, `a ${name} is not a plain JSON object`);
  }
  if (Object.getOwnPropertySymbols(value).length > 0) {
    throw new CanonicalJsonError(path, 'symbol keys are not JSON');
  }
  const keys = Object.keys(value).sort();
  out.push('{');
  keys.forEach((key, i) => {
    if (i > 0) out.push(',');
    out.push(JSON.stringify(key), ':');
    write((value as Record<string, unknown>)[key], child(path, key), depth + 1, out);
  });
  out.push('}');
}

/** The canonical text of `value`, ending with a newline. Throws CanonicalJsonError for what is not JSON. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', 0, out);
  out.push('\n');
  return out.join('');
}

/** The canonical bytes (UTF-8) of `value`: what is hashed, signed and stored. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

/**
 * Whether `bytes` are exactly the canonical form of the JSON they hold. False for text that is not UTF-8 or
 * not JSON, and for JSON written any other way (spaces, key order, escapes, duplicate keys, a missing
 * final newline).
 */
export function isCanonical(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}
