/**
 * `query`: runs Athena SQL on the CMDB exports with DuckDB (local/sql-engine.ts) and prints the last
 * statement's result. Reads the local run's bucket copy by default, or downloads the metadata of a
 * real bucket (or the emulator's, through AWS_ENDPOINT_URL) into a cache first.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client, paginateListObjectsV2, type _Object } from '@aws-sdk/client-s3';
import type { Json } from '@duckdb/node-api';
import { s3ClientSettings } from '#shared/aws/clients';
import { UserInputError } from '#shared/aws/errors';
import { METADATA_TABLES, metadataFolder, metadataTableFolder } from '#shared/aws/s3-layout';
import { formatS3Path, parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { mirrorFolder } from '#local/mirror';
import { QUERIES_FOLDER, SqlEngine, type LocalBucket, type QueryResult } from '#local/sql-engine';
import { awsClientSettings, type AwsOptions } from '#cli/aws-options';
import { UsageError } from '#cli/errors';
import type { CliIo } from '#cli/io';
import type { OutputFormat } from '#cli/output';

function cell(value: Json): string {
  if (value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function uniqueNames(columns: string[]): string[] {
  const seen = new Map<string, number>();
  return columns.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name}_${count}`;
  });
}

function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header, its rule and the rows of an aligned table, without the row count. */
export function alignedRows(result: QueryResult): string[] {
  if (result.columns.length === 0) return [];
  const shown = (value: Json) => (value === null ? 'NULL' : cell(value).replace(/\r?\n/g, '\\n'));
  const lines = [result.columns, ...result.rows.map((row) => row.map(shown))];
  const widths = result.columns.map((_name, column) => Math.max(...lines.map((line) => line[column].length)));
  const numeric = result.columns.map(
    (_name, column) =>
      result.rows.length > 0 && result.rows.every((row) => row[column] === null || typeof row[column] === 'number'),
  );
  const format = (line: string[]) =>
    line
      .map((text, column) => (numeric[column] ? text.padStart(widths[column]) : text.padEnd(widths[column])))
      .join(' | ')
      .trimEnd();
  return [format(result.columns), widths.map((width) => '-'.repeat(width)).join('-+-'), ...lines.slice(1).map(format)];
}

export const rowCount = (count: number) => `(${count} row${count === 1 ? '' : 's'})`;

/** The rows as objects by column name; a repeated name gets a suffix (`name_2`). */
export function resultObjects(result: QueryResult): Record<string, Json>[] {
  const names = uniqueNames(result.columns);
  return result.rows.map((row) => Object.fromEntries(names.map((name, column) => [name, row[column]])));
}

/** The result as text: an aligned table, a JSON array of objects, or CSV with a header line. */
export function formatResult(result: QueryResult, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(resultObjects(result), null, 2);
    case 'csv':
      return [result.columns, ...result.rows.map((row) => row.map(cell))]
        .map((line) => line.map(csvField).join(','))
        .join('\n');
    case 'table':
      return [...alignedRows(result), rowCount(result.rows.length)].join('\n');
  }
}

async function listLocalFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

export interface SyncResult {
  downloaded: number;
  unchanged: number;
  removed: number;
}

/** Downloads between two progress lines: a tenth of the objects to download, at least this many. */
const DOWNLOAD_PROGRESS_MIN_STEP = 10;

/** The metadata objects under `location`, table by table. */
async function listMetadataObjects(s3: S3Client, location: S3Location): Promise<_Object[]> {
  const objects: _Object[] = [];
  for (const table of METADATA_TABLES) {
    const prefix = `${metadataTableFolder(location, table)}/`;
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: location.bucket, Prefix: prefix })) {
      objects.push(...(page.Contents ?? []));
    }
  }
  return objects;
}

/**
 * Makes `cache/<key>` equal the metadata objects of `location`: downloads new and changed objects
 * (by ETag and size, remembered in `cache.etags.json`) and removes files of deleted ones. Reports
 * `downloading N of M objects` as it goes, when there is more than one step to report.
 */
export async function syncMetadata(
  s3: S3Client,
  location: S3Location,
  cache: string,
  onProgress: (line: string) => void = () => {},
): Promise<SyncResult> {
  const indexFile = `${cache}.etags.json`;
  const previous: Record<string, string> = JSON.parse(await readFile(indexFile, 'utf8').catch(() => '{}'));
  const index: Record<string, string> = {};
  const result: SyncResult = { downloaded: 0, unchanged: 0, removed: 0 };
  const kept = new Set<string>();
  const wanted: { key: string; file: string; version: string }[] = [];
  for (const object of await listMetadataObjects(s3, location)) {
    const key = object.Key!;
    const file = resolve(cache, ...key.split('/'));
    if (!file.startsWith(resolve(cache) + sep)) continue;
    const version = `${object.ETag}|${object.Size}`;
    kept.add(file);
    const size = await stat(file).then(
      (stats) => stats.size,
      () => -1,
    );
    if (previous[key] === version && size === object.Size) {
      index[key] = version;
      result.unchanged += 1;
    } else {
      wanted.push({ key, file, version });
    }
  }
  const step = Math.max(DOWNLOAD_PROGRESS_MIN_STEP, Math.ceil(wanted.length / 10));
  for (const { key, file, version } of wanted) {
    const response = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
    await mkdir(dirname(file), { recursive: true });
    await pipeline(response.Body as Readable, createWriteStream(`${file}.partial`));
    await rename(`${file}.partial`, file);
    index[key] = version;
    result.downloaded += 1;
    if (result.downloaded % step === 0 && result.downloaded < wanted.length) {
      onProgress(`${formatS3Path(location)}: downloading ${result.downloaded} of ${wanted.length} objects`);
    }
  }
  for (const table of METADATA_TABLES) {
    for (const file of await listLocalFiles(join(cache, ...metadataTableFolder(location, table).split('/')))) {
      if (!kept.has(resolve(file))) {
        await rm(file);
        result.removed += 1;
      }
    }
  }
  await mkdir(dirname(indexFile), { recursive: true });
  await writeFile(indexFile, `${JSON.stringify(index, null, 1)}\n`);
  return result;
}

/** The cache folder of a bucket downloaded with `--from`. */
export function cacheFolder(out: string, bucket: string): string {
  return join(out, 'cache', bucket);
}

export async function savedQuery(name: string): Promise<string> {
  const available = (await readdir(QUERIES_FOLDER)).filter((file) => file.endsWith('.sql'));
  if (!available.includes(`${name}.sql`)) {
    throw new UserInputError(
      `--saved ${name}`,
      'no such query in glue/queries',
      `use one of ${available.map((file) => file.slice(0, -4)).join(', ')}`,
    );
  }
  return readFile(join(QUERIES_FOLDER, `${name}.sql`), 'utf8');
}

function requireS3Path(option: string, value: string): S3Location {
  const location = parseS3Path(value);
  if (!location) throw new UserInputError(option, 'it is empty', 'give s3://bucket or s3://bucket/prefix');
  return location;
}

export interface QueryOptions extends AwsOptions {
  out: string;
  s3Path: string;
  from?: string;
  output: OutputFormat;
  saved?: string;
}

/**
 * A location that holds no export: the query cannot run, though nothing given was malformed, so
 * it fails (exit 1) rather than being refused as bad input.
 */
function noMetadata(input: string, problem: string, fix: string): Error {
  return new Error(`${input}: ${problem}. Fix: ${fix}`);
}

/** The local copy to query: the local run's bucket, or the cache of `--from`, brought up to date first. */
async function bucketToQuery(options: QueryOptions, io: CliIo): Promise<{ bucket: LocalBucket; noExport: Error }> {
  const out = resolve(options.out);
  if (options.from === undefined) {
    const location = requireS3Path('--s3-path', options.s3Path);
    const folder = mirrorFolder(out, location.bucket);
    return {
      bucket: { folder, location },
      noExport: noMetadata(
        `--out ${out}`,
        `it holds no metadata exported to ${formatS3Path(location)} (looked in ${join(folder, ...metadataFolder(location).split('/'))})`,
        `run npm run local -- --out ${out} --s3-path ${formatS3Path(location)} first, or check --out and --s3-path`,
      ),
    };
  }
  const location = requireS3Path('--from', options.from);
  const env = io.env ?? process.env;
  const s3 =
    io.clients?.s3 ??
    new S3Client({ ...s3ClientSettings(env), ...(await awsClientSettings(options, env)), followRegionRedirects: true });
  const folder = cacheFolder(out, location.bucket);
  const synced = await syncMetadata(s3, location, folder, io.stderr);
  io.stderr(
    `${formatS3Path(location)}: ${synced.downloaded} downloaded, ${synced.unchanged} unchanged, ${synced.removed} removed (${relative(process.cwd(), folder) || '.'})`,
  );
  return {
    bucket: { folder, location },
    noExport: noMetadata(
      `--from ${options.from}`,
      `no metadata object is under ${formatS3Path({ ...location, prefix: metadataFolder(location) })}/`,
      'check the bucket and prefix; they are the MetadataAndBackupS3Path of the deployment',
    ),
  };
}

/** Runs the statements (a saved query's first) and prints the last one's result. */
export async function queryCommand(statements: string[], options: QueryOptions, io: CliIo): Promise<number> {
  const sql = [...(options.saved ? [await savedQuery(options.saved)] : []), ...statements].join('\n;\n');
  if (sql.trim() === '') throw new UsageError('give a SQL statement, or a saved query with --saved NAME');
  const { bucket, noExport } = await bucketToQuery(options, io);
  const engine = await SqlEngine.open(bucket);
  try {
    if (engine.dataFileCount === 0) throw noExport;
    for (const problem of engine.viewProblems) io.stderr(`warning: ${problem}`);
    io.print(formatResult(await engine.run(sql), options.output));
    return 0;
  } finally {
    engine.close();
  }
}
