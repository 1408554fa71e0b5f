/**
 * Record-shaping rules shared by every CMDB table (SPEC §6).
 */
import { PARTITION_COLUMNS } from '../../glue/schema-types.ts';

/** Typed timestamp columns are naive UTC text `YYYY-MM-DD HH:MM:SS.fff`, which Athena and DuckDB both parse. */
export function naiveUtc(instant: Date | string | number): string {
  const date = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(date.getTime())) throw new RangeError(`naiveUtc: ${JSON.stringify(instant)} is not a valid time`);
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** True when a top-level field would collide with a partition column (`accountid`, `region`, `groupname`). */
export function isPartitionColumnName(field: string): boolean {
  return (PARTITION_COLUMNS as readonly string[]).includes(field.toLowerCase());
}
