/**
 * Rows of a CloneSquad Configuration or Scheduler table (docs/cmdb.md) and the parameter-set naming rule.
 */

export interface TableRow {
  key: string;
  value: string;
  /** DynamoDB TTL, epoch seconds, when the row has one. */
  expirationTime?: number;
}

/** `[name]subkey` rows belong to parameter set `name`. */
const PARAMETER_SET_KEY = /^\[([^\]]+)\](.+)$/s;

export function splitParameterSetKey(key: string): { set: string; subkey: string } | undefined {
  const match = PARAMETER_SET_KEY.exec(key);
  return match ? { set: match[1], subkey: match[2] } : undefined;
}

export function parameterSetKey(set: string, subkey: string): string {
  return `[${set}]${subkey}`;
}

/** Orders strings by Unicode code point, as Python's `sorted()` does (UTF-16 order differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const l = left.next();
    const r = right.next();
    if (l.done || r.done) return l.done ? (r.done ? 0 : -1) : 1;
    const difference = l.value.codePointAt(0)! - r.value.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
}
