/**
 * Athena SQL on the exported files, locally: DuckDB with one view `clonesquad_*` per metadata table
 * over the gzip JSON Lines of a local copy of the bucket, with the columns of glue/schema.ts, and
 * the shipped views of glue/views/ created first. Athena SQL runs unchanged: the current schema is
 * `awsdatacatalog."default"`, and `default.` (a keyword DuckDB cannot parse there) is quoted.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBValueConverter,
  type Json,
} from '@duckdb/node-api';
import { PARTITION_COLUMNS, TABLES, duckdbColumnsArgument, duckdbType, type TableSchema } from '#shared/catalog/schema';
import { UserInputError } from '#shared/aws/errors';
import { METADATA_TABLES, metadataTableFolder } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
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

/** A failed statement: which one, its text, and DuckDB's message. */
export class StatementError extends Error {
  constructor(
    readonly index: number,
    readonly count: number,
    readonly statement: string,
    cause: Error,
  ) {
    const shown = statement.length > 500 ? `${statement.slice(0, 500)}…` : statement;
    super(`statement ${index + 1} of ${count} failed: ${cause.message}\n  in: ${shown.replace(/\n/g, '\n      ')}`, {
      cause,
    });
    this.name = 'StatementError';
  }
}

interface Segment {
  code: boolean;
  text: string;
}

/** Splits SQL into code and non-code (string literals, quoted identifiers, comments). */
function segments(sql: string): Segment[] {
  const result: Segment[] = [];
  let code = '';
  let index = 0;
  const flush = () => {
    if (code) result.push({ code: true, text: code });
    code = '';
  };
  while (index < sql.length) {
    const char = sql[index];
    const next = sql[index + 1];
    let end = -1;
    if (char === "'" || char === '"' || char === '`') {
      end = index + 1;
      for (;;) {
        end = sql.indexOf(char, end);
        if (end === -1) end = sql.length;
        else if (sql[end + 1] === char) {
          end += 2;
          continue;
        } else end += 1;
        break;
      }
    } else if (char === '-' && next === '-') {
      end = sql.indexOf('\n', index);
      if (end === -1) end = sql.length;
    } else if (char === '/' && next === '*') {
      end = sql.indexOf('*/', index + 2);
      end = end === -1 ? sql.length : end + 2;
    }
    if (end === -1) {
      code += char;
      index += 1;
    } else {
      flush();
      result.push({ code: false, text: sql.slice(index, end) });
      index = end;
    }
  }
  flush();
  return result;
}

/** The statements of a script, split on `;` outside strings, quoted identifiers and comments. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: Segment[] = [];
  const close = () => {
    if (current.some((segment) => segment.code && segment.text.trim() !== '')) {
      statements.push(
        current
          .map((segment) => segment.text)
          .join('')
          .trim(),
      );
    }
    current = [];
  };
  for (const segment of segments(sql)) {
    if (!segment.code) {
      current.push(segment);
      continue;
    }
    const parts = segment.text.split(';');
    parts.forEach((part, position) => {
      if (position > 0) close();
      if (part) current.push({ code: true, text: part });
    });
  }
  close();
  return statements;
}

/** Quotes the keyword `default` where Athena uses it as a qualifier (`default.t`, `awsdatacatalog.default.t`). */
export function athenaToDuckdb(sql: string): string {
  return segments(sql)
    .map((segment) => (segment.code ? segment.text.replace(/\bdefault(?=\s*\.)/gi, '"default"') : segment.text))
    .join('');
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

/** Numbers as JSON numbers when exact (DuckDB's JSON converter gives BIGINT and DECIMAL as text). */
const toJson: DuckDBValueConverter<Json> = (value, type, converter) => {
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

export class SqlEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
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
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const engine = new SqlEngine(instance, connection, [], files.flat().length);
    try {
      for (const statement of [
        `SET TimeZone = 'UTC'`,
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
          failed.push({ ...view, error: ((error as Error).cause as Error | undefined)?.message ?? String(error) });
        }
      }
      if (failed.length === 0 || failed.length === pending.length) {
        this.viewProblems.push(...failed.map((view) => `glue/views/${view.name}: ${view.error}`));
        return;
      }
      pending = failed;
    }
  }

  /** Runs the statements in order; the result is the last one's. */
  async run(sql: string): Promise<QueryResult> {
    const statements = splitStatements(sql);
    if (statements.length === 0) throw new Error('no SQL statement given');
    let result: QueryResult = { columns: [], rows: [] };
    for (const [index, statement] of statements.entries()) {
      try {
        const reader = await this.connection.runAndReadAll(athenaToDuckdb(statement));
        result = { columns: reader.columnNames(), rows: reader.convertRows(toJson) as Json[][] };
      } catch (error) {
        throw new StatementError(index, statements.length, statement, error as Error);
      }
    }
    return result;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
