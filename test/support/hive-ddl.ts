/**
 * A small reader of Hive DDL, enough to take the column list out of an Athena
 * `CREATE EXTERNAL TABLE` statement as data: each column's name and its Hive type as a tree.
 *
 * Types read: the primitives `tinyint`, `smallint`, `int`/`integer`, `bigint`, `float`, `double`
 * (also `double precision`), `decimal`/`numeric` with optional `(precision[, scale])`, `string`,
 * `varchar(n)`, `char(n)`, `boolean`, `binary`, `date`, `timestamp`; and the complex types
 * `array<T>`, `map<K,V>`, `struct<name:T, …>`, nested to any depth. Keywords are matched without
 * regard to case and are kept lower-cased; names keep the case they are written in (Athena matches
 * JSON keys without regard to case, but readers of the same files may not). Names may be quoted
 * with backticks (a doubled backtick inside stands for one). Whitespace and newlines anywhere
 * between tokens, and `--` comments, are ignored.
 *
 * Statements: `CREATE [EXTERNAL] TABLE [IF NOT EXISTS] name (columns) [COMMENT '…']
 * [PARTITIONED BY (columns)] …`; what follows the partition list (row format, location,
 * properties) is not read. A column or struct field may carry `COMMENT '…'` (kept as written,
 * escapes included). Anything else is refused with an error that names the offset and what was
 * expected, so a fixture never silently loses a column.
 *
 * @example
 * parseHiveType('array<struct<`Key`:string,`Value`:string>>');
 * // { kind: 'array', element: { kind: 'struct', fields: [
 * //   { name: 'Key', type: { kind: 'primitive', name: 'string' } }, … ] } }
 */

export type HiveType =
  | { kind: 'primitive'; name: string; parameters?: number[] }
  | { kind: 'array'; element: HiveType }
  | { kind: 'map'; key: HiveType; value: HiveType }
  | { kind: 'struct'; fields: HiveField[] };

export interface HiveField {
  name: string;
  type: HiveType;
  comment?: string;
}

export interface HiveTable {
  /** As written, without backticks; a database qualifier is kept (`db.table`). */
  name: string;
  columns: HiveField[];
  partitionColumns: HiveField[];
  comment?: string;
}

/** Primitive type names and how many parameters each accepts in parentheses. */
const PRIMITIVES: Record<string, { min: number; max: number }> = {
  tinyint: { min: 0, max: 0 },
  smallint: { min: 0, max: 0 },
  int: { min: 0, max: 0 },
  integer: { min: 0, max: 0 },
  bigint: { min: 0, max: 0 },
  float: { min: 0, max: 0 },
  double: { min: 0, max: 0 },
  decimal: { min: 0, max: 2 },
  numeric: { min: 0, max: 2 },
  string: { min: 0, max: 0 },
  varchar: { min: 1, max: 1 },
  char: { min: 1, max: 1 },
  boolean: { min: 0, max: 0 },
  binary: { min: 0, max: 0 },
  date: { min: 0, max: 0 },
  timestamp: { min: 0, max: 0 },
};

type Token =
  | { kind: 'word'; text: string; quoted: boolean; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'text'; text: string; at: number }
  | { kind: 'symbol'; text: string; at: number };

export class HiveDdlError extends Error {
  constructor(
    readonly offset: number,
    problem: string,
  ) {
    super(`Hive DDL, offset ${offset}: ${problem}`);
    this.name = 'HiveDdlError';
  }
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < source.length) {
    const rest = source.slice(at);
    const space = /^(\s+|--[^\n]*)/.exec(rest);
    if (space) {
      at += space[0].length;
      continue;
    }
    if (rest.startsWith('`')) {
      const quoted = /^`((?:[^`]|``)*)`/.exec(rest);
      if (!quoted) throw new HiveDdlError(at, 'a backtick-quoted name is not closed');
      tokens.push({ kind: 'word', text: quoted[1].replace(/``/g, '`'), quoted: true, at });
      at += quoted[0].length;
      continue;
    }
    if (rest.startsWith("'") || rest.startsWith('"')) {
      const quote = rest[0];
      const literal = new RegExp(`^${quote}((?:[^${quote}\\\\]|\\\\.|${quote}${quote})*)${quote}`, 's').exec(rest);
      if (!literal) throw new HiveDdlError(at, 'a quoted string is not closed');
      tokens.push({ kind: 'text', text: literal[1], at });
      at += literal[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0], quoted: false, at });
      at += word[0].length;
      continue;
    }
    const number = /^\d+/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0], at });
      at += number[0].length;
      continue;
    }
    if ('<>(),:;.-='.includes(rest[0])) {
      tokens.push({ kind: 'symbol', text: rest[0], at });
      at += 1;
      continue;
    }
    throw new HiveDdlError(at, `unexpected character ${JSON.stringify(rest[0])}`);
  }
  return tokens;
}

class Reader {
  private index = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.index + offset];
  }

  get done(): boolean {
    return this.index >= this.tokens.length;
  }

  private where(): number {
    return this.peek()?.at ?? this.length;
  }

  fail(expected: string): never {
    const token = this.peek();
    const found = token ? JSON.stringify(token.text) : 'the end of the text';
    throw new HiveDdlError(this.where(), `expected ${expected}, found ${found}`);
  }

  next(): Token {
    const token = this.peek();
    if (!token) this.fail('more text');
    this.index += 1;
    return token;
  }

  isSymbol(text: string): boolean {
    const token = this.peek();
    return token?.kind === 'symbol' && token.text === text;
  }

  isKeyword(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token?.kind === 'word' && !token.quoted && token.text.toLowerCase() === text;
  }

  symbol(text: string): void {
    if (!this.isSymbol(text)) this.fail(`"${text}"`);
    this.index += 1;
  }

  keyword(text: string): void {
    if (!this.isKeyword(text)) this.fail(`the keyword ${text.toUpperCase()}`);
    this.index += 1;
  }

  name(what: string): string {
    const token = this.peek();
    if (token?.kind !== 'word') this.fail(what);
    this.index += 1;
    return token.text;
  }

  integer(what: string): number {
    const token = this.peek();
    if (token?.kind !== 'number') this.fail(what);
    this.index += 1;
    return Number(token.text);
  }

  text(what: string): string {
    const token = this.peek();
    if (token?.kind !== 'text') this.fail(what);
    this.index += 1;
    return token.text;
  }
}

function commaSeparated<T>(reader: Reader, readItem: () => T): T[] {
  const items = [readItem()];
  while (reader.isSymbol(',')) {
    reader.next();
    items.push(readItem());
  }
  return items;
}

function field(name: string, type: HiveType, comment: string | undefined): HiveField {
  return { name, type, ...(comment === undefined ? {} : { comment }) };
}

function readType(reader: Reader): HiveType {
  const start = reader.peek();
  if (start?.kind !== 'word' || start.quoted) reader.fail('a Hive type');
  const keyword = reader.name('a Hive type').toLowerCase();
  if (keyword === 'array') {
    reader.symbol('<');
    const element = readType(reader);
    reader.symbol('>');
    return { kind: 'array', element };
  }
  if (keyword === 'map') {
    reader.symbol('<');
    const key = readType(reader);
    reader.symbol(',');
    const value = readType(reader);
    reader.symbol('>');
    return { kind: 'map', key, value };
  }
  if (keyword === 'struct') {
    reader.symbol('<');
    const fields = commaSeparated(reader, () => {
      const name = reader.name('a struct field name');
      reader.symbol(':');
      return field(name, readType(reader), readComment(reader));
    });
    reader.symbol('>');
    return { kind: 'struct', fields };
  }
  const arity = PRIMITIVES[keyword];
  if (!arity) throw new HiveDdlError(start.at, `unknown Hive type ${JSON.stringify(start.text)}`);
  if (keyword === 'double' && reader.isKeyword('precision')) reader.next();
  let parameters: number[] = [];
  if (reader.isSymbol('(')) {
    reader.next();
    parameters = commaSeparated(reader, () => reader.integer(`a number in the parameters of ${keyword}`));
    reader.symbol(')');
  }
  if (parameters.length < arity.min || parameters.length > arity.max) {
    throw new HiveDdlError(
      start.at,
      `${keyword} takes ${arity.min === arity.max ? arity.min : `${arity.min} to ${arity.max}`} parameters, ` +
        `not ${parameters.length}`,
    );
  }
  return { kind: 'primitive', name: keyword, ...(parameters.length > 0 ? { parameters } : {}) };
}

function readComment(reader: Reader): string | undefined {
  if (!reader.isKeyword('comment')) return undefined;
  reader.next();
  return reader.text("the comment's quoted text");
}

function readColumns(reader: Reader): HiveField[] {
  reader.symbol('(');
  const columns = commaSeparated(reader, () => {
    const name = reader.name('a column name');
    return field(name, readType(reader), readComment(reader));
  });
  reader.symbol(')');
  return columns;
}

/** A table name as written: words joined by `.` or `-` (the latter is not valid in Athena, but is found in DDL files). */
function readTableName(reader: Reader): string {
  let name = reader.name('a table name');
  while (reader.isSymbol('.') || reader.isSymbol('-')) {
    name += reader.next().text;
    name += reader.name('the rest of the table name');
  }
  return name;
}

/**
 * Reads one Hive type, e.g. `struct<a:int,b:array<string>>`; the whole text must be that type.
 * Throws a {@link HiveDdlError} otherwise.
 */
export function parseHiveType(text: string): HiveType {
  const reader = new Reader(tokenize(text), text.length);
  const type = readType(reader);
  if (!reader.done) reader.fail('the end of the type');
  return type;
}

function skipStatement(reader: Reader): void {
  while (!reader.done && !reader.isSymbol(';')) reader.next();
  if (!reader.done) reader.next();
}

/** Every `CREATE … TABLE` statement of a DDL text (other statements, such as `MSCK REPAIR TABLE`, are skipped). */
export function parseCreateTables(ddl: string): HiveTable[] {
  const reader = new Reader(tokenize(ddl), ddl.length);
  const tables: HiveTable[] = [];
  while (!reader.done) {
    const external = reader.isKeyword('external', 1) && reader.isKeyword('table', 2);
    if (!(reader.isKeyword('create') && (reader.isKeyword('table', 1) || external))) {
      skipStatement(reader);
      continue;
    }
    reader.keyword('create');
    if (external) reader.keyword('external');
    reader.keyword('table');
    if (reader.isKeyword('if')) {
      reader.keyword('if');
      reader.keyword('not');
      reader.keyword('exists');
    }
    const name = readTableName(reader);
    const columns = readColumns(reader);
    const comment = readComment(reader);
    let partitionColumns: HiveField[] = [];
    if (reader.isKeyword('partitioned')) {
      reader.keyword('partitioned');
      reader.keyword('by');
      partitionColumns = readColumns(reader);
    }
    tables.push({ name, columns, partitionColumns, ...(comment === undefined ? {} : { comment }) });
    skipStatement(reader);
  }
  return tables;
}

/**
 * Canonical text of a type: keywords lower-cased, names as written and never quoted, no spaces,
 * e.g. `array<struct<Key:string,Value:string>>`.
 */
export function formatHiveType(type: HiveType): string {
  switch (type.kind) {
    case 'primitive':
      return type.parameters ? `${type.name}(${type.parameters.join(',')})` : type.name;
    case 'array':
      return `array<${formatHiveType(type.element)}>`;
    case 'map':
      return `map<${formatHiveType(type.key)},${formatHiveType(type.value)}>`;
    case 'struct':
      return `struct<${type.fields.map((field) => `${field.name}:${formatHiveType(field.type)}`).join(',')}>`;
  }
}

/** Where a node sits in a column's type tree. */
export type HiveNodeRole = 'column' | 'partition' | 'field' | 'element' | 'key' | 'value';

export interface HiveNode {
  /**
   * Segments from the table down: column and field names, `[]` for an array's element, `{key}` and
   * `{value}` for a map's key and value.
   */
  segments: string[];
  role: HiveNodeRole;
  type: HiveType;
}

/** Path text of segments: `BlockDeviceMappings[].Ebs.AttachTime`, `Tags{value}`. */
export function nodePath(segments: string[]): string {
  return segments.reduce((path, segment) => {
    if (segment === '[]' || segment === '{key}' || segment === '{value}') return `${path}${segment}`;
    return path === '' ? segment : `${path}.${segment}`;
  }, '');
}

/** Every node of a table, depth first in DDL order: each column, then its nested fields and elements. */
export function tableNodes(table: HiveTable): HiveNode[] {
  const nodes: HiveNode[] = [];
  const visit = (segments: string[], role: HiveNodeRole, type: HiveType) => {
    nodes.push({ segments, role, type });
    switch (type.kind) {
      case 'array':
        visit([...segments, '[]'], 'element', type.element);
        break;
      case 'map':
        visit([...segments, '{key}'], 'key', type.key);
        visit([...segments, '{value}'], 'value', type.value);
        break;
      case 'struct':
        for (const field of type.fields) visit([...segments, field.name], 'field', field.type);
        break;
      default:
        break;
    }
  };
  for (const column of table.columns) visit([column.name], 'column', column.type);
  for (const column of table.partitionColumns) visit([column.name], 'partition', column.type);
  return nodes;
}
