/**
 * A small type language for the CMDB tables' explicit column schemas. Each table is described once
 * (glue/tables/*.ts) in these terms; the Glue tables, the Athena DDL, the local engine's column
 * definitions and the record validators are all derived from that description.
 */

export type ScalarKind = 'string' | 'bigint' | 'int' | 'double' | 'boolean' | 'timestamp';

export type ColumnType =
  { kind: ScalarKind } | { kind: 'array'; of: ColumnType } | { kind: 'struct'; fields: Column[] };

/** `name` is the JSON field name exactly as records carry it; Glue and Athena see it lower-cased. */
export interface Column {
  name: string;
  type: ColumnType;
  comment?: string;
}

export const string: ColumnType = { kind: 'string' };
export const bigint: ColumnType = { kind: 'bigint' };
export const int: ColumnType = { kind: 'int' };
export const double: ColumnType = { kind: 'double' };
export const boolean: ColumnType = { kind: 'boolean' };
/** Written as naive UTC text `YYYY-MM-DD HH:MM:SS[.fff]` (see shared/metadata/records.ts); read with up to 9 fraction digits. */
export const timestamp: ColumnType = { kind: 'timestamp' };

export function array(of: ColumnType): ColumnType {
  return { kind: 'array', of };
}

export function struct(fields: Record<string, ColumnType>): ColumnType {
  return { kind: 'struct', fields: columns(fields) };
}

export function columns(fields: Record<string, ColumnType>): Column[] {
  return Object.entries(fields).map(([name, type]) => ({ name, type }));
}

/** The `Key`/`Value` tag list every AWS resource carries. */
export const tags = array(struct({ Key: string, Value: string }));

export interface TableSchema {
  /** Folder under `P/metadata/` (docs/reference/s3-layout.md). */
  folder: string;
  /** Glue / Athena table name. */
  name: string;
  description: string;
  columns: Column[];
  /**
   * Top-level fields whose name starts with this prefix are per-deployment and cannot all be
   * columns; records may carry them, queries reach them another way (the table's description says how).
   */
  dynamicFieldPrefix?: string;
}

/** Partition columns of every table, in order (docs/cmdb.md). */
export const PARTITION_COLUMNS = ['accountid', 'region', 'groupname'] as const;
