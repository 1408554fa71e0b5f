/**
 * Writes the backup YAML format (docs/backup-format.md): a block mapping of sorted `Key: Value` string pairs, with
 * parameter-set rows nested as `name: {subkey: value}`. Reading it back is in yaml-codec.ts; this
 * half needs no YAML library, so the functions that only write backups are bundled without one.
 *
 * The emitter is hand-written rather than delegated to a YAML library because the output must read
 * back as the identical strings under two different rule sets at once: PyYAML `safe_load` (YAML
 * 1.1, where `yes`, `off`, `0755`, `10:30` or `2021-01-01` are not strings) and YAML 1.2. A scalar is
 * written plain only when it is provably a string under both; everything else is double-quoted with
 * escapes that both versions define.
 */
import { provenanceLine, type BackupProvenance } from '#shared/backup/provenance';
import { compareCodePoints, splitParameterSetKey, type TableRow } from '#shared/catalog/table-rows';

/** Letters first (so never a number, date or `.inf`), then a conservative set; no `: `, ` #` or edges of space. */
const PLAIN_SAFE = /^[A-Za-z](?:[A-Za-z0-9_./-]| (?=[A-Za-z0-9_./-]))*$/;

/** Words that YAML 1.1 or 1.2 read as booleans or null, compared case-insensitively. */
const NON_STRING_WORDS = new Set(['y', 'n', 'yes', 'no', 'true', 'false', 'on', 'off', 'null']);

/** An exponent without mantissa: the `yaml` package's YAML 1.1 schema reads `e5` or `E0` as a float. */
const BARE_EXPONENT = /^[eE]-?[0-9]+$/;

function isPlainSafe(text: string): boolean {
  return PLAIN_SAFE.test(text) && !NON_STRING_WORDS.has(text.toLowerCase()) && !BARE_EXPONENT.test(text);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\0': '\\0',
  '\x07': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\v': '\\v',
  '\f': '\\f',
  '\r': '\\r',
  '\x1b': '\\e',
};

/**
 * Characters left as they are inside double quotes: printable ASCII and printable non-ASCII.
 * Excluded, and so escaped: controls, DEL, the C1 range (U+0085 is a YAML 1.1 line break), the
 * Unicode line and paragraph separators (also line breaks in 1.1), the BOM, non-characters and lone
 * surrogates, none of which a reader is obliged to accept raw.
 */
function isLiteralInQuotes(codePoint: number): boolean {
  if (codePoint >= 0x20 && codePoint <= 0x7e) return true;
  if (codePoint < 0xa0) return false;
  if (codePoint === 0x2028 || codePoint === 0x2029 || codePoint === 0xfeff) return false;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return false;
  if (codePoint === 0xfffe || codePoint === 0xffff) return false;
  return true;
}

function hex(codePoint: number, width: number): string {
  return codePoint.toString(16).toUpperCase().padStart(width, '0');
}

function doubleQuoted(text: string): string {
  let out = '"';
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    if (SHORT_ESCAPES[char] !== undefined) out += SHORT_ESCAPES[char];
    else if (isLiteralInQuotes(codePoint)) out += char;
    else if (codePoint <= 0xff) out += `\\x${hex(codePoint, 2)}`;
    else if (codePoint <= 0xffff) out += `\\u${hex(codePoint, 4)}`;
    else out += `\\U${hex(codePoint, 8)}`;
  }
  return `${out}"`;
}

/** One scalar, plain when safe under YAML 1.1 and 1.2, else double-quoted. */
export function formatScalar(text: string): string {
  return isPlainSafe(text) ? text : doubleQuoted(text);
}

type BackupNode = string | Map<string, string>;

/**
 * Groups rows into the document's top level. Parameter-set rows nest under their set name unless
 * that name is also a plain key of the table: then nesting would merge two different rows, so those
 * rows keep their raw `[name]subkey` key (which imports back to the same row).
 */
function nestRows(rows: Iterable<TableRow>): Map<string, BackupNode> {
  const rowsByKey = new Map<string, string>();
  for (const row of rows) rowsByKey.set(row.key, row.value);
  const top = new Map<string, BackupNode>();
  for (const [key, value] of rowsByKey) {
    const split = splitParameterSetKey(key);
    if (!split || rowsByKey.has(split.set)) {
      top.set(key, value);
      continue;
    }
    let set = top.get(split.set);
    if (set === undefined) {
      set = new Map();
      top.set(split.set, set);
    }
    (set as Map<string, string>).set(split.subkey, value);
  }
  return top;
}

/**
 * YAML 1.1 and 1.2 end an implicit key at most 1024 characters after it starts (PyYAML and the
 * `yaml` package refuse longer ones); longer keys are written as explicit `? key` entries. Counted in
 * UTF-16 units, never fewer than the characters that readers count.
 */
const MAX_IMPLICIT_KEY = 1024;

/**
 * UTF-8 bytes appended into fixed chunks: a 100k-row table's backup is held once, as bytes, rather
 * than as lines, their joined string and its encoding at the same time.
 */
class Utf8Chunks {
  private static readonly CHUNK_BYTES = 1024 * 1024;
  private readonly chunks: Buffer[] = [];
  private current = Buffer.allocUnsafe(Utf8Chunks.CHUNK_BYTES);
  private offset = 0;
  private total = 0;

  write(text: string): void {
    // A UTF-16 unit never takes more than 3 UTF-8 bytes: most writes skip measuring.
    if (text.length * 3 > this.current.length - this.offset) {
      const bytes = Buffer.byteLength(text);
      if (bytes > this.current.length - this.offset) {
        this.seal();
        this.current = Buffer.allocUnsafe(Math.max(Utf8Chunks.CHUNK_BYTES, bytes));
      }
    }
    this.offset += this.current.write(text, this.offset, 'utf8');
  }

  private seal(): void {
    if (this.offset === 0) return;
    this.chunks.push(this.current.subarray(0, this.offset));
    this.total += this.offset;
    this.offset = 0;
  }

  bytes(): Buffer {
    this.seal();
    if (this.chunks.length === 1) return this.chunks[0];
    const whole = Buffer.concat(this.chunks, this.total);
    this.chunks.length = 0;
    return whole;
  }
}

function writeKey(out: Utf8Chunks, indent: string, key: string, value: string | undefined): void {
  const formatted = formatScalar(key);
  out.write(indent);
  if (formatted.length > MAX_IMPLICIT_KEY) {
    out.write('? ');
    out.write(formatted);
    out.write('\n');
    out.write(indent);
  } else {
    out.write(formatted);
  }
  if (value === undefined) {
    out.write(':\n');
    return;
  }
  out.write(': ');
  out.write(formatScalar(value));
  out.write('\n');
}

function sortedEntries<V>(map: Map<string, V>): [string, V][] {
  return [...map.entries()].sort(([a], [b]) => compareCodePoints(a, b));
}

/**
 * Writes the backup document for a table's rows as UTF-8, starting with the provenance line when
 * given. An empty table gives `{}`.
 */
export function dumpBackupYamlBytes(rows: Iterable<TableRow>, provenance?: BackupProvenance): Buffer {
  const top = nestRows(rows);
  const out = new Utf8Chunks();
  if (provenance) {
    out.write(provenanceLine(provenance));
    out.write('\n');
  }
  if (top.size === 0) {
    out.write('{}\n');
    return out.bytes();
  }
  for (const [key, node] of sortedEntries(top)) {
    if (typeof node === 'string') {
      writeKey(out, '', key, node);
      continue;
    }
    writeKey(out, '', key, undefined);
    for (const [subkey, value] of sortedEntries(node)) writeKey(out, '  ', subkey, value);
  }
  return out.bytes();
}

/** {@link dumpBackupYamlBytes} as text. */
export function dumpBackupYaml(rows: Iterable<TableRow>, provenance?: BackupProvenance): string {
  return dumpBackupYamlBytes(rows, provenance).toString('utf8');
}
