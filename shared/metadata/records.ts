/**
 * Record-shaping rules shared by every CMDB table (SPEC §6).
 */
import { PARTITION_COLUMNS } from '#shared/catalog/schema-types';
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

const PARTITION_COLUMN_LENGTHS = new Set(PARTITION_COLUMNS.map((column) => column.length));

/** True when a top-level field would collide with a partition column (`accountid`, `region`, `groupname`). */
export function isPartitionColumnName(field: string): boolean {
  return (
    PARTITION_COLUMN_LENGTHS.has(field.length) && (PARTITION_COLUMNS as readonly string[]).includes(field.toLowerCase())
  );
}

/**
 * A record made of an object as an AWS API returned it plus a few fields of ours. It is written as
 * one JSON object without copying the API object: copying a 4 KB instance costs about as much as
 * serialising it. Build it with {@link extendRecord}.
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

/** The JSON text of a record: `JSON.stringify(record)`, or of `{ ...base, ...fields }` for an extended one. */
export function recordJson(record: object): string {
  if (!(record instanceof ExtendedRecord)) return JSON.stringify(record);
  const { base, fields } = record;
  // A spread orders integer-like keys first; our added fields never are, but stay exact if one is.
  if ('toJSON' in base || Object.keys(fields).some((field) => field in base || /^\d+$/.test(field))) {
    return JSON.stringify({ ...base, ...fields });
  }
  const head = JSON.stringify(base);
  const tail = JSON.stringify(fields);
  if (tail === '{}') return head;
  return head === '{}' ? tail : `${head.slice(0, -1)},${tail.slice(1)}`;
}
