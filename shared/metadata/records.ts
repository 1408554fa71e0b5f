/**
 * Record-shaping rules shared by every CMDB table (docs/cmdb.md).
 */
import { PARTITION_COLUMNS, type Column, type ColumnType } from '#shared/catalog/schema-types';
import { quoteInput } from '#shared/aws/errors';

/** Typed timestamp columns are naive UTC text `YYYY-MM-DD HH:MM:SS.fff`, which Athena and DuckDB both parse. */
export function naiveUtc(instant: Date | string | number): string {
  const date = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(date.getTime())) throw new RangeError(`naiveUtc: ${quoteInput(instant)} is not a valid time`);
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * UTC text as the original CloneSquad writes its export time (Python's `str()` of an aware datetime):
 * `YYYY-MM-DD HH:MM:SS.ffffff+00:00`, always six fraction digits, so the texts sort in time order.
 */
export function utcTextWithOffset(instant: Date | string | number): string {
  return `${naiveUtc(instant)}000+00:00`;
}

type Rewrite = (value: unknown) => unknown;

function timestampRewrite(type: ColumnType): Rewrite | undefined {
  switch (type.kind) {
    case 'timestamp':
      return (value) => (value instanceof Date ? naiveUtc(value) : value);
    case 'array': {
      const element = timestampRewrite(type.of);
      return element && ((value) => (Array.isArray(value) ? value.map(element) : value));
    }
    case 'struct':
      return fieldsRewrite(type.fields);
    default:
      return undefined;
  }
}

function fieldsRewrite(fields: readonly Column[]): Rewrite | undefined {
  const rewrites = fields.flatMap((field) => {
    const rewrite = timestampRewrite(field.type);
    return rewrite ? [[field.name, rewrite] as const] : [];
  });
  if (rewrites.length === 0) return undefined;
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const copy: Record<string, unknown> = { ...value };
    for (const [name, rewrite] of rewrites) {
      if (copy[name] !== undefined) copy[name] = rewrite(copy[name]);
    }
    return copy;
  };
}

/**
 * For the `columns` of a table, a function that gives an API object with each `Date` of a timestamp
 * column as naive UTC text (the SDK gives `Date`s, which JSON writes as ISO text, which Athena does
 * not read as a timestamp). The object is left as it was: only the objects on the way to a timestamp
 * are copied, shallowly, which costs far less than writing them.
 */
export function naiveTimestamps(columns: readonly Column[]): (record: object) => Record<string, unknown> {
  const rewrite = fieldsRewrite(columns) ?? ((value: unknown) => ({ ...(value as object) }));
  return (record) => rewrite(record) as Record<string, unknown>;
}

/**
 * A value's JSON text, made once and written as is into every record that carries it (see
 * {@link recordJson}): the DescribeInstanceTypes entry that every instance of a type carries.
 */
export class JsonText {
  readonly text: string;

  constructor(value: unknown) {
    this.text = JSON.stringify(value);
  }

  /** For the rare record serialised as a whole (see {@link recordJson}). */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

const PARTITION_COLUMN_LENGTHS = new Set(PARTITION_COLUMNS.map((column) => column.length));

/** True when a top-level field would collide with a partition column (`accountid`, `region`, `groupname`). */
export function isPartitionColumnName(field: string): boolean {
  return (
    PARTITION_COLUMN_LENGTHS.has(field.length) && (PARTITION_COLUMNS as readonly string[]).includes(field.toLowerCase())
  );
}

/**
 * A record made of an object as an AWS API returned it plus a few fields of ours. It is written as
 * one JSON object without merging the two first, a {@link JsonText} field as the text it holds.
 * Build it with {@link extendRecord}.
 */
export class ExtendedRecord {
  constructor(
    readonly base: object,
    readonly fields: Record<string, unknown>,
  ) {}
}

/** `{ ...base, ...fields }` as a record, serialised without the copy (see {@link ExtendedRecord}). */
export function extendRecord(base: object, fields: Record<string, unknown>): ExtendedRecord {
  return new ExtendedRecord(base, fields);
}

/** The first top-level field of `record` that would collide with a partition column, if any. */
export function partitionColumnCollision(record: object): string | undefined {
  if (record instanceof ExtendedRecord) {
    return partitionColumnCollision(record.base) ?? partitionColumnCollision(record.fields);
  }
  for (const field in record) if (isPartitionColumnName(field)) return field;
  return undefined;
}

/**
 * The JSON text of a record: `JSON.stringify(record)`, or of `{ ...base, ...fields }` for an extended
 * one, where a {@link JsonText} field is written as the JSON it holds.
 */
export function recordJson(record: object): string {
  if (!(record instanceof ExtendedRecord)) return JSON.stringify(record);
  const { base, fields } = record;
  const names = Object.keys(fields);
  // A spread orders integer-like keys first; our added fields never are, but stay exact if one is.
  if ('toJSON' in base || names.some((field) => field in base || /^\d+$/.test(field))) {
    return JSON.stringify({ ...base, ...fields });
  }
  let tail = '';
  for (const name of names) {
    const value = fields[name];
    const json = value instanceof JsonText ? value.text : (JSON.stringify(value) as string | undefined);
    // JSON leaves out the members it cannot write (undefined, functions, symbols).
    if (json !== undefined) tail += `${tail === '' ? '' : ','}${JSON.stringify(name)}:${json}`;
  }
  const head = JSON.stringify(base);
  if (tail === '') return head;
  return head === '{}' ? `{${tail}}` : `${head.slice(0, -1)},${tail}}`;
}
