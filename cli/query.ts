/**
 * `npm run query -- [--out DIR] [--s3-path s3://bucket/prefix | --from s3://bucket/prefix]
 *                   [--format table|json|csv] [--saved NAME] ["SQL; SQL"]`
 *
 * Runs Athena SQL on the CMDB exports with DuckDB (local/sql-engine.ts) and prints the last
 * statement's result. Reads the local run's bucket copy by default, or downloads the metadata of a
 * real bucket (or the emulator's, through AWS_ENDPOINT_URL) into a cache first.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { GetObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { Json } from '@duckdb/node-api';
import { s3ClientSettings } from '#shared/aws/clients';
import { UserInputError } from '#shared/aws/errors';
import { METADATA_TABLES, metadataFolder, metadataTableFolder } from '#shared/aws/s3-layout';
import { formatS3Path, parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { DEFAULT_S3_PATH } from '#local/local-run';
import { mirrorFolder } from '#local/mirror';
import { QUERIES_FOLDER, SqlEngine, type LocalBucket, type QueryResult } from '#local/sql-engine';

export const FORMATS = ['table', 'json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

const USAGE = `Usage: npm run query -- [options] ["SQL; SQL"]
  --out DIR          local run folder (default .local): reads DIR/s3/<bucket>/<prefix>/metadata/…
  --s3-path PATH     the MetadataAndBackupS3Path of the local run (default ${DEFAULT_S3_PATH})
  --from PATH        download s3://bucket/prefix's metadata (changed objects only) into
                     DIR/cache/<bucket>/ and query that; honours AWS_ENDPOINT_URL and AWS_PROFILE
  --format FORMAT    table (default), json (array of objects) or csv
  --saved NAME       run glue/queries/NAME.sql (before the SQL given, if any)
Tables: default.clonesquad_* (Athena names); views of glue/views/ exist by name.
Statements run in order; the last one's result is printed.`;

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

function alignedTable(result: QueryResult): string {
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
  const count = `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`;
  if (result.columns.length === 0) return count;
  return [
    format(result.columns),
    widths.map((width) => '-'.repeat(width)).join('-+-'),
    ...lines.slice(1).map(format),
    count,
  ].join('\n');
}

/** The result as text: an aligned table, a JSON array of objects, or CSV with a header line. */
export function formatResult(result: QueryResult, format: Format): string {
  switch (format) {
    case 'json': {
      const names = uniqueNames(result.columns);
      const objects = result.rows.map((row) => Object.fromEntries(names.map((name, column) => [name, row[column]])));
      return JSON.stringify(objects, null, 2);
    }
    case 'csv':
      return [result.columns, ...result.rows.map((row) => row.map(cell))]
        .map((line) => line.map(csvField).join(','))
        .join('\n');
    case 'table':
      return alignedTable(result);
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

/**
 * Makes `cache/<key>` equal the metadata objects of `location` (SPEC §4): downloads new and changed
 * objects (by ETag and size, remembered in `cache.etags.json`) and removes files of deleted ones.
 */
export async function syncMetadata(s3: S3Client, location: S3Location, cache: string): Promise<SyncResult> {
  const indexFile = `${cache}.etags.json`;
  const previous: Record<string, string> = JSON.parse(await readFile(indexFile, 'utf8').catch(() => '{}'));
  const index: Record<string, string> = {};
  const result: SyncResult = { downloaded: 0, unchanged: 0, removed: 0 };
  const kept = new Set<string>();
  for (const table of METADATA_TABLES) {
    const folder = metadataTableFolder(location, table);
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: location.bucket, Prefix: `${folder}/` })) {
      for (const object of page.Contents ?? []) {
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
          continue;
        }
        const response = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
        await mkdir(dirname(file), { recursive: true });
        await pipeline(response.Body as Readable, createWriteStream(`${file}.partial`));
        await rename(`${file}.partial`, file);
        index[key] = version;
        result.downloaded += 1;
      }
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
    throw new Error(
      `--saved ${name}: no such query in glue/queries. Fix: use one of ${available.map((file) => file.slice(0, -4)).join(', ')}`,
    );
  }
  return readFile(join(QUERIES_FOLDER, `${name}.sql`), 'utf8');
}

function requireS3Path(option: string, value: string): S3Location {
  const location = parseS3Path(value);
  if (!location) throw new Error(`${option}: it is empty. Fix: give s3://bucket or s3://bucket/prefix`);
  return location;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: '.local' },
      's3-path': { type: 'string', default: DEFAULT_S3_PATH },
      from: { type: 'string' },
      format: { type: 'string', default: 'table' },
      saved: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const format = values.format as Format;
  if (!FORMATS.includes(format)) throw new Error(`--format ${values.format}: unknown. Fix: use ${FORMATS.join(', ')}`);
  const sql = [...(values.saved ? [await savedQuery(values.saved)] : []), ...positionals].join('\n;\n');
  if (sql.trim() === '') {
    console.error(USAGE);
    return 2;
  }
  const out = resolve(values.out);
  let bucket: LocalBucket;
  let noExport: UserInputError;
  if (values.from !== undefined) {
    const location = requireS3Path('--from', values.from);
    const folder = cacheFolder(out, location.bucket);
    const synced = await syncMetadata(
      new S3Client({ ...s3ClientSettings(), followRegionRedirects: true }),
      location,
      folder,
    );
    console.error(
      `${formatS3Path(location)}: ${synced.downloaded} downloaded, ${synced.unchanged} unchanged, ${synced.removed} removed (${relative(process.cwd(), folder) || '.'})`,
    );
    bucket = { folder, location };
    noExport = new UserInputError(
      `--from ${values.from}`,
      `no metadata object is under ${formatS3Path({ ...location, prefix: metadataFolder(location) })}/`,
      'check the bucket and prefix; they are the MetadataAndBackupS3Path of the deployment',
    );
  } else {
    const location = requireS3Path('--s3-path', values['s3-path']);
    bucket = { folder: mirrorFolder(out, location.bucket), location };
    noExport = new UserInputError(
      `--out ${out}`,
      `it holds no metadata exported to ${formatS3Path(location)} (looked in ${join(bucket.folder, ...metadataFolder(location).split('/'))})`,
      `run npm run local -- --out ${out} --s3-path ${formatS3Path(location)} first, or check --out and --s3-path`,
    );
  }
  const engine = await SqlEngine.open(bucket);
  try {
    if (engine.dataFileCount === 0) throw noExport;
    for (const problem of engine.viewProblems) console.error(`warning: ${problem}`);
    console.log(formatResult(await engine.run(sql), format));
    return 0;
  } finally {
    engine.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
