/**
 * The backup YAML format (docs/backup-format.md): a block mapping of sorted `Key: Value` string pairs, with
 * parameter-set rows nested as `name: {subkey: value}`. The hand-written writer is in yaml-dump.ts
 * (which says why it is hand-written); this module reads backups back, with the `yaml` package.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type YAMLMap } from 'yaml';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { parameterSetKey, type TableRow } from '#shared/catalog/table-rows';

// The writer lives apart, free of the YAML library, so that the functions that only write backups
// are bundled without it (115 KB less to load at each cold start).
export { dumpBackupYaml, formatScalar } from '#shared/backup/yaml-dump';

export interface LoadOptions {
  /** Receives a progress line every `progressEvery` lines read (100,000 unless given). */
  onProgress?: (line: string) => void;
  progressEvery?: number;
}

/**
 * Reads a backup document back into table rows (`[name]subkey` for nested entries). `source` names
 * the document in error messages. Values must be strings: the tables hold nothing else. The mapping
 * read is the one PyYAML `safe_load` (CloneSquad's import) reads, merge keys included; what it would
 * refuse (unknown tags), read differently from version to version, or silently drop (a key given
 * twice) is refused, as are aliases and empty documents.
 *
 * One pass over the parsed nodes, with the duplicate-key check done here by hashing: the `yaml`
 * package's own (`uniqueKeys`) compares each key with every earlier key of its mapping, which made a
 * backup of a million keys take hours.
 */
export function loadBackupYaml(text: string, source: string, options: LoadOptions = {}): TableRow[] {
  const document = parseDocument(text, {
    version: '1.1',
    uniqueKeys: false,
    lineCounter: progressCounter(text, source, options),
  });
  if (document.errors.length > 0) {
    throw new UserInputError(source, `it is not valid YAML (${yamlErrorLine(document.errors[0])})`, RESTORE_FIX);
  }
  const top = document.contents;
  checkNode(top, { input: source, what: 'top level' });
  if (top === null || (isScalar(top) && top.value === null)) {
    throw new UserInputError(
      source,
      'it holds no mapping (the document is empty, only comments, or a null such as ~)',
      'restore a backup this service wrote; a backup of an empty table is {} (restore {} to empty the table on purpose)',
    );
  }
  if (!isMap(top)) {
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
  for (const [name, node] of entriesOf(source, top, (key) => key)) {
    checkNode(node, valueOf(source, name));
    if (isMap(node)) {
      for (const [subname, value] of entriesOf(source, node, (subkey) => `${name}.${subkey}`)) {
        const rowKey = parameterSetKey(name, subname);
        checkNode(value, valueOf(source, rowKey));
        add(rowKey, requireString(source, 'value', rowKey, value));
      }
    } else {
      add(name, requireString(source, 'value', name, node));
    }
  }
  return [...rows].map(([key, value]) => ({ key, value }));
}

const PROGRESS_EVERY = 100_000;

/** Counts lines for error positions, as the `yaml` package does, and reports every so many. */
function progressCounter(text: string, source: string, options: LoadOptions): LineCounter {
  const counter = new LineCounter();
  const { onProgress } = options;
  const every = options.progressEvery ?? PROGRESS_EVERY;
  const total = onProgress ? lineCount(text) : 0;
  if (!onProgress || total < every) return counter;
  const addNewLine = counter.addNewLine;
  let lines = 0;
  counter.addNewLine = (offset) => {
    if (offset < text.length) {
      lines += 1;
      if (lines % every === 0) onProgress(`reading ${source}: ${lines} of ${total} lines`);
      // Building the mapping from what was read takes about a third of the time.
      if (lines === total) onProgress(`reading ${source}: all ${total} lines read, now checking its keys`);
    }
    return addNewLine(offset);
  };
  return counter;
}

function lineCount(text: string): number {
  let count = text === '' || text.endsWith('\n') ? 0 : 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}

/**
 * A mapping's entries as PyYAML `safe_load` builds them: the entries of merge keys (`<<`) come in
 * unless the mapping names the key itself. Refused: a key named twice (`safe_load` would silently
 * keep the last value), and a key that two merged mappings give but the mapping does not name
 * (which of the two PyYAML keeps differs between its versions, and in 6.0 even with the key's length).
 */
function entriesOf(source: string, map: YAMLMap, where: (key: string) => string): Map<string, unknown> {
  const named = new Map<string, unknown>();
  const merged = new Map<string, unknown>();
  const mergedTwice = new Set<string>();
  for (const { key: keyNode, value } of map.items) {
    checkNode(keyNode, keyOf(source, where(keyText(keyNode))));
    if (isMergeKey(keyNode)) {
      for (const mergedMap of mergeSources(value, valueOf(source, where('<<')))) {
        for (const [key, node] of entriesOf(source, mergedMap, where)) {
          if (merged.has(key)) mergedTwice.add(key);
          else merged.set(key, node);
        }
      }
      continue;
    }
    const key = requireString(source, 'key', where(keyText(keyNode)), keyNode);
    if (named.has(key)) {
      throw new UserInputError(
        `${source}, key ${quoteInput(where(key))}`,
        'it is given twice in the same mapping',
        'keep only one of the two (PyYAML would silently keep the last)',
      );
    }
    named.set(key, value);
  }
  for (const key of mergedTwice) {
    if (named.has(key)) continue;
    throw new UserInputError(
      `${source}, key ${quoteInput(where(key))}`,
      'two merged mappings (<<) give it a value, and which one PyYAML safe_load keeps depends on its version, ' +
        "even on the key's length",
      'name the key in the mapping itself, or merge it from one mapping only',
    );
  }
  if (merged.size === 0) return named;
  for (const [key, node] of named) merged.set(key, node);
  return merged;
}

/** The `yaml` package resolves a plain `<<` key (or one tagged `!!merge`) to a symbol. */
function isMergeKey(node: unknown): boolean {
  return isScalar(node) && typeof node.value === 'symbol' && node.value.description === '<<';
}

/**
 * The mappings a merge key brings in. PyYAML only takes their entries: a tag on them is never
 * constructed, so it is ignored here too.
 */
function mergeSources(value: unknown, place: Place): YAMLMap[] {
  refuseAlias(value, place);
  const items = isSeq(value) ? value.items : [value];
  for (const item of items) refuseAlias(item, place);
  if ((!isMap(value) && !isSeq(value)) || !items.every((item) => isMap(item))) {
    throw new UserInputError(
      place.input,
      'it is a merge key, but its value is not a mapping or a list of mappings',
      'give << a mapping, or write its entries out as keys',
    );
  }
  return items as YAMLMap[];
}

function keyText(node: unknown): string {
  return isScalar(node) ? String(node.value) : String(node);
}

/** Where a node is, for messages: the input it belongs to, and what it is there. */
interface Place {
  input: string;
  what: 'key' | 'value' | 'top level';
}

const keyOf = (source: string, key: string): Place => ({ input: `${source}, key ${quoteInput(key)}`, what: 'key' });
const valueOf = (source: string, key: string): Place => ({ input: `${source}, key ${quoteInput(key)}`, what: 'value' });

const YAML_TAG = 'tag:yaml.org,2002:';

/** What PyYAML `safe_load` constructs, by kind of node; it refuses any other tag. */
const SAFE_LOAD_TAGS = {
  scalar: new Set(['null', 'bool', 'int', 'float', 'binary', 'timestamp', 'str'].map((name) => YAML_TAG + name)),
  sequence: new Set(['seq', 'omap', 'pairs'].map((name) => YAML_TAG + name)),
  mapping: new Set(['map', 'set'].map((name) => YAML_TAG + name)),
};

const TAG_FIX =
  'remove the tag, and quote the value if YAML would read it as something else than a string (such as yes or 0755)';

/**
 * Refuses the aliases and tags a backup never has. Tags are kept only where every reader agrees on
 * their meaning: `!!str` on a scalar, `!!map` on a mapping, `!!merge` on a merge key. Any other is
 * either refused by PyYAML `safe_load` (`!!python/object…`, `!custom`), or makes something other than
 * a string.
 */
function checkNode(node: unknown, place: Place): void {
  refuseAlias(node, place);
  const tag = isNode(node) ? node.tag : undefined;
  if (tag === undefined) return;
  if (tag === `${YAML_TAG}str` && isScalar(node)) return;
  if (tag === `${YAML_TAG}map` && isMap(node)) return;
  if (tag === `${YAML_TAG}merge` && isMergeKey(node)) return;
  const kind = isScalar(node) ? 'scalar' : isSeq(node) ? 'sequence' : 'mapping';
  const constructed = tag === '!' || SAFE_LOAD_TAGS[kind].has(tag);
  throw new UserInputError(
    place.input,
    `its ${place.what} has the tag ${shownTag(tag)}, ` +
      (constructed
        ? 'and a backup holds only strings, untagged or !!str'
        : "which PyYAML safe_load (CloneSquad's import) refuses"),
    TAG_FIX,
  );
}

/** Aliases are refused outright: backups never use them, and they are the way to alias bombs. */
function refuseAlias(node: unknown, place: Place): void {
  if (isAlias(node)) {
    throw new UserInputError(
      place.input,
      `its ${place.what} is a YAML alias (*${node.source})`,
      'write each value out in full, as backups do',
    );
  }
}

/** A tag as it is written: `!!int`, `!custom`, or `!<tag:example.com,2000:x>`. */
function shownTag(tag: string): string {
  if (tag.startsWith(YAML_TAG)) return `!!${tag.slice(YAML_TAG.length)}`;
  return tag.startsWith('!') ? tag : `!<${tag}>`;
}

/**
 * The first line of a `yaml` parse error ("… at line 2, column 1"), without the source excerpt the
 * package appends on further lines: a message that travels through logs and summaries stays one line.
 */
export function yamlErrorLine(error: Error): string {
  return error.message.split('\n')[0].replace(/:$/, '');
}

const RESTORE_FIX = 'restore from a backup file this service wrote, or a mapping of "Key: Value" strings';

function requireString(source: string, what: 'key' | 'value', where: string, node: unknown): string {
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  const collection = isMap(node) ? 'a mapping' : isSeq(node) ? 'a sequence' : undefined;
  if (collection) {
    throw new UserInputError(
      `${source}, key ${quoteInput(where)}`,
      `its ${what} is ${collection}, not a string`,
      'give a string there: only parameter sets nest, and only one level deep',
    );
  }
  const found = isScalar(node) ? node.value : null;
  throw new UserInputError(
    `${source}, key ${quoteInput(where)}`,
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
