/**
 * Athena SQL on the exported files, locally: DuckDB with one view `clonesquad_*` per metadata table
 * over the gzip JSON Lines of a local copy of the bucket, with the columns of the catalog's schemas,
 * and the shipped views of glue/views/ created first. Athena SQL runs as written: sqlglot translates
 * each statement to DuckDB's dialect (athena-translator.ts), the current schema is
 * `awsdatacatalog."default"`, and the DuckDB settings and macros below give it Athena's meaning
 * where the translation cannot.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBValueConverter,
  type Json,
} from '@duckdb/node-api';
import { PARTITION_COLUMNS, TABLES, duckdbColumnsArgument, duckdbType, type TableSchema } from '#shared/catalog/schema';
import { UserInputError } from '#shared/aws/errors';
import { METADATA_TABLES, metadataTableFolder } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { AthenaTranslator, shownStatement } from '#local/athena-translator';
import { PROJECT_ROOT } from '#local/python-env';

export const VIEWS_FOLDER = join(PROJECT_ROOT, 'glue', 'views');
export const QUERIES_FOLDER = join(PROJECT_ROOT, 'glue', 'queries');

/** A local copy of the bucket (`folder/<key>`) and the `MetadataAndBackupS3Path` inside it. */
export interface LocalBucket {
  folder: string;
  location: S3Location;
}

export interface QueryResult {
  columns: string[];
  rows: Json[][];
}

/** A failed statement: which one, its Athena text, DuckDB's message, and the DuckDB text that ran. */
export class StatementError extends Error {
  constructor(
    readonly index: number,
    readonly count: number,
    readonly statement: string,
    readonly duckdb: string,
    cause: Error,
  ) {
    super(
      `statement ${index + 1} of ${count} failed: ${cause.message}\n  in: ${shownStatement(statement)}` +
        (duckdb === statement ? '' : `\n  ran as (DuckDB): ${shownStatement(duckdb)}`),
      { cause },
    );
    this.name = 'StatementError';
  }
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteString = (text: string) => `'${text.replace(/'/g, "''")}'`;

const DATA_FILE = /^accountid=[^/]+\/region=[^/]+\/groupname=[^/]+\/[^/]+\.json\.gz$/;

/** The partition objects of one table folder, sorted. */
async function dataFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => DATA_FILE.test(relative(folder, file).split(sep).join('/')))
    .sort();
}

/**
 * A file's name as DuckDB's readers take it. DuckDB reads any name holding `*`, `?` or `[` as a glob
 * (the name itself only when the glob matches nothing), so each of those is written as a
 * one-character class; it also splits names at `\` as it does at `/`, so a name holding `\` can be
 * read only when it holds none of the three.
 */
export function duckdbFileName(file: string): string {
  const name = file.split(sep).join('/');
  if (!/[*?[]/.test(name)) return name;
  if (name.includes('\\')) {
    throw new UserInputError(
      name,
      'DuckDB cannot read a file whose path holds both "\\" and one of "*", "?", "["',
      'use a folder (--out) whose path has no "\\" or none of those three characters',
    );
  }
  return name.replace(/[*?[]/g, '[$&]');
}

/**
 * The view of one table: its columns in schema order, then the partition columns (as Athena shows
 * them). A table without files yet is an empty view with the same columns, since read_json of no
 * file is an error in DuckDB. The files are named one by one rather than globbed under the folder,
 * which may hold any character; a `?` in a name hides its `.gz` ending from DuckDB's compression
 * detection, hence the compression option.
 */
export function tableViewSql(table: TableSchema, files: string[]): string {
  const partitions = PARTITION_COLUMNS.map(quoteIdentifier);
  if (files.length === 0) {
    const columns = [
      ...table.columns.map((column) => `CAST(NULL AS ${duckdbType(column.type)}) AS ${quoteIdentifier(column.name)}`),
      ...partitions.map((name) => `CAST(NULL AS VARCHAR) AS ${name}`),
    ];
    return `CREATE OR REPLACE VIEW ${quoteIdentifier(table.name)} AS SELECT ${columns.join(', ')} WHERE false`;
  }
  const columns = [...table.columns.map((column) => quoteIdentifier(column.name)), ...partitions];
  const hiveTypes = PARTITION_COLUMNS.map((name) => `${quoteString(name)}: VARCHAR`).join(', ');
  const fileList = files.map((file) => quoteString(duckdbFileName(file))).join(', ');
  return [
    `CREATE OR REPLACE VIEW ${quoteIdentifier(table.name)} AS SELECT ${columns.join(', ')}`,
    `FROM read_json([${fileList}], format='newline_delimited', compression='gzip', hive_partitioning=true,`,
    `hive_types={${hiveTypes}}, columns=${duckdbColumnsArgument(table)})`,
  ].join(' ');
}

/**
 * A timestamp as Athena shows one of the tables' (timestamp(3)): `2026-11-30 20:39:17.920`; with a
 * time zone (from_iso8601_timestamp, current_timestamp) followed by the engine's zone, UTC.
 */
function athenaTimestamp(value: DuckDBTimestampValue | DuckDBTimestampTZValue, zone: string): string | null {
  const date = new Date(Number(value.micros / 1000n));
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999) return null;
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}${zone}`;
}

/**
 * Numbers as JSON numbers when exact (DuckDB's JSON converter gives BIGINT and DECIMAL as text), and
 * timestamps as Athena shows them.
 */
const toJson: DuckDBValueConverter<Json> = (value, type, converter) => {
  if (type.typeId === DuckDBTypeId.TIMESTAMP && value instanceof DuckDBTimestampValue) {
    const shown = athenaTimestamp(value, '');
    if (shown !== null) return shown;
  }
  if (type.typeId === DuckDBTypeId.TIMESTAMP_TZ && value instanceof DuckDBTimestampTZValue) {
    const shown = athenaTimestamp(value, ' UTC');
    if (shown !== null) return shown;
  }
  const converted = JsonDuckDBValueConverter(value, type, converter);
  if (typeof converted !== 'string') return converted;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return Number.isSafeInteger(Number(converted)) ? Number(converted) : converted;
    case DuckDBTypeId.DECIMAL:
      return Number(converted);
    default:
      return converted;
  }
};

/**
 * What DuckDB needs to give Athena's answers where the translation keeps DuckDB's meaning (the
 * translator calls the macros in place of Athena's functions; athena_to_duckdb.py says why for each).
 * Athena's `/` on two integers is an integer division (5 / 2 = 2).
 */
const ATHENA_SEMANTICS = [
  `SET TimeZone = 'UTC'`,
  `SET integer_division = true`,
  `CREATE TEMP MACRO athena_json_extract(json_text, path) AS
     CASE WHEN json_valid(json_text) THEN json_extract(json_text, path) END`,
  `CREATE TEMP MACRO athena_json_extract_scalar(json_text, path) AS
     CASE WHEN json_valid(json_text) AND json_type(json_text, path) NOT IN ('OBJECT', 'ARRAY')
       THEN json_extract_string(json_text, path) END`,
  `CREATE TEMP MACRO athena_regexp_extract(text, pattern, group_index) AS
     CASE WHEN regexp_matches(text, pattern) THEN regexp_extract(text, pattern, group_index) END`,
  `CREATE TEMP MACRO athena_split_part(text, delimiter, part_index) AS
     CASE WHEN part_index <= len(string_split(text, delimiter)) THEN split_part(text, delimiter, part_index) END`,
];

export class SqlEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly translator: AthenaTranslator,
    /** Shipped views that could not be created, with the reason; empty when all were. */
    readonly viewProblems: string[],
    /** The partition objects the tables read: 0 when the location holds no export at all. */
    readonly dataFileCount: number,
  ) {}

  /** Opens an in-memory DuckDB over `bucket` with every table of TABLES and the views of `viewsFolder`. */
  static async open(bucket: LocalBucket, options: { viewsFolder?: string | null } = {}): Promise<SqlEngine> {
    const files = await Promise.all(
      METADATA_TABLES.map((table) =>
        dataFiles(join(bucket.folder, ...metadataTableFolder(bucket.location, table).split('/'))),
      ),
    );
    const translator = AthenaTranslator.start();
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const engine = new SqlEngine(instance, connection, translator, [], files.flat().length);
    try {
      for (const statement of [
        ...ATHENA_SEMANTICS,
        `ATTACH ':memory:' AS awsdatacatalog`,
        `CREATE SCHEMA awsdatacatalog."default"`,
        `USE awsdatacatalog."default"`,
      ]) {
        await connection.run(statement);
      }
      for (const [index, table] of METADATA_TABLES.entries()) {
        await connection.run(tableViewSql(TABLES[table], files[index]));
      }
      const viewsFolder = options.viewsFolder === undefined ? VIEWS_FOLDER : options.viewsFolder;
      if (viewsFolder) await engine.createViews(viewsFolder);
      return engine;
    } catch (error) {
      engine.close();
      throw error;
    }
  }

  /** Creates every view file, retrying those that name a view created later. */
  private async createViews(folder: string): Promise<void> {
    const names = (await readdir(folder)).filter((name) => name.endsWith('.sql')).sort();
    let pending = await Promise.all(
      names.map(async (name) => ({ name, sql: await readFile(join(folder, name), 'utf8'), error: '' })),
    );
    for (;;) {
      const failed: typeof pending = [];
      for (const view of pending) {
        try {
          await this.run(view.sql);
        } catch (error) {
          const cause = error instanceof StatementError ? (error.cause as Error) : (error as Error);
          failed.push({ ...view, error: cause.message });
        }
      }
      if (failed.length === 0 || failed.length === pending.length) {
        this.viewProblems.push(...failed.map((view) => `glue/views/${view.name}: ${view.error}`));
        return;
      }
      pending = failed;
    }
  }

  /**
   * Runs the statements of an Athena script in order; the result is the last one's. Every statement
   * is translated before the first runs, so a script that cannot be translated changes nothing.
   */
  async run(sql: string): Promise<QueryResult> {
    const statements = await this.translator.translate(sql);
    if (statements.length === 0) throw new Error('no SQL statement given');
    let result: QueryResult = { columns: [], rows: [] };
    for (const [index, { athena, duckdb }] of statements.entries()) {
      try {
        const reader = await this.connection.runAndReadAll(duckdb);
        result = { columns: reader.columnNames(), rows: reader.convertRows(toJson) as Json[][] };
      } catch (error) {
        throw new StatementError(index, statements.length, athena, duckdb, error as Error);
      }
    }
    return result;
  }

  close(): void {
    this.translator.close();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
