/**
 * The CMDB catalog, derived from the one description of each table (glue/tables/*.ts): Glue column
 * types, Athena DDL, the local engine's column definitions and record validation.
 */
import type { MetadataTable } from '#shared/aws/s3-layout';
import { PARTITION_COLUMNS, type Column, type ColumnType, type TableSchema } from '#shared/catalog/schema-types';
import { configurationTable, schedulerTable } from '#shared/catalog/tables/configuration';
import { discoveryTable } from '#shared/catalog/tables/discovery';
import { instancesTable } from '#shared/catalog/tables/instances';
import { maintenanceWindowsTable } from '#shared/catalog/tables/maintenance-windows';
import { volumesTable } from '#shared/catalog/tables/volumes';

export { PARTITION_COLUMNS } from '#shared/catalog/schema-types';
export type { Column, ColumnType, TableSchema } from '#shared/catalog/schema-types';

export const TABLES: Record<MetadataTable, TableSchema> = {
  discovery: discoveryTable,
  configuration: configurationTable,
  scheduler: schedulerTable,
  instances: instancesTable,
  volumes: volumesTable,
  'maintenance-windows': maintenanceWindowsTable,
};

export const JSON_SERDE = 'org.apache.hive.hcatalog.data.JsonSerDe';
export const INPUT_FORMAT = 'org.apache.hadoop.mapred.TextInputFormat';
export const OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

/**
 * Hive type text as Glue and Athena take it, field names lower-cased as Hive stores them. The DDL
 * quotes them (`quoteFields`), as the original CloneSquad DDL does: Athena's DDL parser refuses an
 * unquoted name that begins with an underscore. Glue type strings stay unquoted, as Glue writes them.
 */
export function hiveType(type: ColumnType, quoteFields = false): string {
  const name = (field: Column) => (quoteFields ? `\`${field.name.toLowerCase()}\`` : field.name.toLowerCase());
  switch (type.kind) {
    case 'array':
      return `array<${hiveType(type.of, quoteFields)}>`;
    case 'struct':
      return `struct<${type.fields.map((field) => `${name(field)}:${hiveType(field.type, quoteFields)}`).join(',')}>`;
    default:
      return type.kind;
  }
}

const DUCKDB_SCALARS = {
  string: 'VARCHAR',
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
} as const;

function quoteDuckdbIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** DuckDB type text. Field names keep their JSON case: DuckDB matches JSON keys case-sensitively. */
export function duckdbType(type: ColumnType): string {
  switch (type.kind) {
    case 'array':
      return `${duckdbType(type.of)}[]`;
    case 'struct':
      return `STRUCT(${type.fields.map((field) => `${quoteDuckdbIdentifier(field.name)} ${duckdbType(field.type)}`).join(', ')})`;
    default:
      return DUCKDB_SCALARS[type.kind];
  }
}

/** The `columns={…}` argument of DuckDB's `read_json` for a table. */
export function duckdbColumnsArgument(table: TableSchema): string {
  const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
  return `{${table.columns.map((column) => `${quote(column.name)}: ${quote(duckdbType(column.type))}`).join(', ')}}`;
}

/** Columns as a Glue `StorageDescriptor.Columns` list. */
export function glueColumns(table: TableSchema): { Name: string; Type: string; Comment?: string }[] {
  return table.columns.map((column) => ({
    Name: column.name.toLowerCase(),
    Type: hiveType(column.type),
    ...(column.comment ? { Comment: column.comment } : {}),
  }));
}

export function gluePartitionKeys(): { Name: string; Type: string }[] {
  return PARTITION_COLUMNS.map((name) => ({ Name: name, Type: 'string' }));
}

/** Athena `CREATE EXTERNAL TABLE` for manual setup; `location` is `s3://…/metadata/{folder}/`. */
export function athenaDdl(table: TableSchema, location: string, database = 'default'): string {
  const columnLines = table.columns.map(
    (column) => `  \`${column.name.toLowerCase()}\` ${hiveType(column.type, true)}`,
  );
  const partitionLines = gluePartitionKeys().map((key) => `  \`${key.Name}\` ${key.Type}`);
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS \`${database}\`.\`${table.name}\` (`,
    columnLines.join(',\n'),
    `)`,
    `COMMENT '${table.description.replace(/'/g, "''")}'`,
    `PARTITIONED BY (`,
    partitionLines.join(',\n'),
    `)`,
    `ROW FORMAT SERDE '${JSON_SERDE}'`,
    `STORED AS INPUTFORMAT '${INPUT_FORMAT}'`,
    `OUTPUTFORMAT '${OUTPUT_FORMAT}'`,
    `LOCATION '${location}'`,
    `TBLPROPERTIES ('classification'='json', 'compressionType'='gzip');`,
    '',
  ].join('\n');
}

/** What the Hive JSON SerDe reads as a timestamp; the original CloneSquad writes 6 fraction digits, we write 3. */
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$/;

function typeProblems(type: ColumnType, value: unknown, path: string): string[] {
  if (value === null) return [];
  switch (type.kind) {
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: expected a string, got ${JSON.stringify(value)}`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected a boolean, got ${JSON.stringify(value)}`];
    case 'double':
      return typeof value === 'number' && Number.isFinite(value)
        ? []
        : [`${path}: expected a number, got ${JSON.stringify(value)}`];
    case 'int':
    case 'bigint': {
      const limit = type.kind === 'int' ? 2 ** 31 : 2 ** 63;
      return Number.isInteger(value) && Math.abs(value as number) < limit
        ? []
        : [`${path}: expected an integer (${type.kind}), got ${JSON.stringify(value)}`];
    }
    case 'timestamp':
      return typeof value === 'string' && TIMESTAMP_TEXT.test(value)
        ? []
        : [
            `${path}: expected naive UTC text YYYY-MM-DD HH:MM:SS[.f] (up to 9 fraction digits), got ${JSON.stringify(value)}`,
          ];
    case 'array':
      return Array.isArray(value)
        ? value.flatMap((item, index) => typeProblems(type.of, item, `${path}[${index}]`))
        : [`${path}: expected an array, got ${JSON.stringify(value)}`];
    case 'struct':
      return typeof value === 'object' && !Array.isArray(value)
        ? fieldsProblems(type.fields, value as Record<string, unknown>, path)
        : [`${path}: expected an object, got ${JSON.stringify(value)}`];
  }
}

function fieldsProblems(fields: Column[], record: Record<string, unknown>, path: string): string[] {
  const byName = new Map(fields.map((field) => [field.name, field]));
  return Object.entries(record).flatMap(([name, value]) => {
    const field = byName.get(name);
    const where = path ? `${path}.${name}` : name;
    if (!field) return [`${where}: not a column of the schema (names are matched with their exact case)`];
    return typeProblems(field.type, value, where);
  });
}

/**
 * Everything in `record` that its table's schema does not accept: unknown fields (at any depth),
 * wrong types, and top-level fields that would collide with a partition column. Top-level fields with
 * the table's `dynamicFieldPrefix` are not checked. Empty when valid.
 */
export function recordProblems(table: TableSchema, record: Record<string, unknown>): string[] {
  const collisions = Object.keys(record)
    .filter((name) => (PARTITION_COLUMNS as readonly string[]).includes(name.toLowerCase()))
    .map((name) => `${name}: collides with the partition column ${name.toLowerCase()}`);
  const prefix = table.dynamicFieldPrefix;
  const fixed = prefix
    ? Object.fromEntries(Object.entries(record).filter(([name]) => !name.startsWith(prefix)))
    : record;
  return [...collisions, ...fieldsProblems(table.columns, fixed, '')];
}
