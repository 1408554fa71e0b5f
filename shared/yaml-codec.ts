/**
 * The backup YAML format (SPEC §5): a block mapping of sorted `Key: Value` string pairs, with
 * parameter-set rows nested as `name: {subkey: value}`. The hand-written writer is in yaml-dump.ts
 * (which says why it is hand-written); this module reads backups back, with the `yaml` package.
 */
import { parseDocument } from 'yaml';
import { quoteInput, UserInputError } from './errors.ts';
import { parameterSetKey, type TableRow } from './table-rows.ts';

// The writer lives apart, free of the YAML library, so that the functions that only write backups
// are bundled without it (115 KB less to load at each cold start).
export { dumpBackupYaml, formatScalar } from './yaml-dump.ts';

/**
 * Reads a backup document back into table rows (`[name]subkey` for nested entries). `source` names
 * the document in error messages. Values must be strings: the tables hold nothing else.
 */
export function loadBackupYaml(text: string, source: string): TableRow[] {
  const document = parseDocument(text, { version: '1.1', uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new UserInputError(source, `it is not valid YAML (${yamlErrorLine(document.errors[0])})`, RESTORE_FIX);
  }
  let content: unknown;
  try {
    content = document.toJS({ mapAsMap: true, maxAliasCount: 0 });
  } catch (error) {
    // `maxAliasCount: 0` makes any alias throw (no alias bombs); backups never use aliases.
    if (!(error instanceof ReferenceError)) throw error;
    throw new UserInputError(source, 'it uses a YAML alias (*name)', 'write each value out in full, as backups do');
  }
  if (content === null || content === undefined) return [];
  if (!(content instanceof Map)) {
    throw new UserInputError(source, 'its top level is not a mapping of keys to values', RESTORE_FIX);
  }
  const rows = new Map<string, string>();
  const add = (key: string, value: string) => {
    if (rows.has(key)) {
      throw new UserInputError(
        `${source}, key ${quoteInput(key)}`,
        'it is given twice, once nested under its parameter set and once as a raw key',
        'keep only one of the two',
      );
    }
    rows.set(key, value);
  };
  for (const [key, node] of content) {
    const name = requireString(source, 'key', key, key);
    if (node instanceof Map) {
      for (const [subkey, value] of node) {
        const subname = requireString(source, 'key', `${name}.${String(subkey)}`, subkey);
        const rowKey = parameterSetKey(name, subname);
        add(rowKey, requireString(source, 'value', rowKey, value));
      }
    } else {
      add(name, requireString(source, 'value', name, node));
    }
  }
  return [...rows].map(([key, value]) => ({ key, value }));
}

/**
 * The first line of a `yaml` parse error ("… at line 2, column 1"), without the source excerpt the
 * package appends on further lines: a message that travels through logs and summaries stays one line.
 */
export function yamlErrorLine(error: Error): string {
  return error.message.split('\n')[0].replace(/:$/, '');
}

const RESTORE_FIX = 'restore from a backup file this service wrote, or a mapping of "Key: Value" strings';

function requireString(source: string, what: 'key' | 'value', where: unknown, found: unknown): string {
  if (typeof found === 'string') return found;
  const collection = found instanceof Map ? 'a mapping' : Array.isArray(found) ? 'a sequence' : undefined;
  if (collection) {
    throw new UserInputError(
      `${source}, key ${quoteInput(String(where))}`,
      `its ${what} is ${collection}, not a string`,
      'give a string there: only parameter sets nest, and only one level deep',
    );
  }
  throw new UserInputError(
    `${source}, key ${quoteInput(String(where))}`,
    `its ${what} ${shownScalar(found)} is not a string (YAML read it as ${scalarType(found)})`,
    'quote it, for example "yes", "0755" or "10:30", so that it stays a string',
  );
}

function shownScalar(found: unknown): string {
  if (found instanceof Date) return found.toISOString();
  // JSON would show NaN and Infinity as null.
  return typeof found === 'number' || typeof found === 'bigint' ? String(found) : JSON.stringify(found);
}

function scalarType(found: unknown): string {
  if (found === null) return 'null';
  return found instanceof Date ? 'a timestamp' : typeof found;
}
