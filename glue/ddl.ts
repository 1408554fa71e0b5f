/**
 * Athena DDL for a manual setup without the catalog stack (SPEC §7), derived from glue/schema.ts.
 *
 *   npx tsx glue/ddl.ts                                   rewrite glue/generated/ddl/*.sql (placeholder LOCATION)
 *   npx tsx glue/ddl.ts s3://bucket/prefix [--database NAME]   print the DDL of every table for that path
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { METADATA_TABLES, type MetadataTable } from '#shared/aws/s3-layout';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { DEFAULT_DATABASE, tableLocation } from '#glue/catalog';
import { TABLES, athenaDdl } from '#shared/catalog/schema';

export const GENERATED_DDL = join(__dirname, 'generated', 'ddl');
/** The root the committed files name; replaced by the real `MetadataAndBackupS3Path`. */
export const PLACEHOLDER_ROOT: S3Location = { bucket: 'YOUR-BUCKET', prefix: 'YOUR-PREFIX' };

/** One table's DDL with a comment on how to use it. */
export function tableDdl(table: MetadataTable, root: S3Location, database = DEFAULT_DATABASE): string {
  const schema = TABLES[table];
  const qualified = `\`${database}\`.\`${schema.name}\``;
  return [
    `-- ${schema.name}: ${schema.description}.`,
    `-- Generated from glue/tables/ by glue/ddl.ts; do not edit. Print it for your path with:`,
    `--   npx tsx glue/ddl.ts s3://bucket/prefix`,
    `-- Run it in Athena with LOCATION = MetadataAndBackupS3Path + /metadata/${schema.folder}/.`,
    `-- Without the catalog stack's crawler, Athena sees a new deployment's partitions only after:`,
    `--   MSCK REPAIR TABLE ${qualified};`,
    `-- (run it after each export that adds a deployment, or schedule it).`,
    athenaDdl(schema, tableLocation(root, table), database),
  ].join('\n');
}

/** The committed files: `{athena table name}.sql` → content. */
export function generatedDdlFiles(): Record<string, string> {
  return Object.fromEntries(
    METADATA_TABLES.map((table) => [`${TABLES[table].name}.sql`, tableDdl(table, PLACEHOLDER_ROOT)]),
  );
}

async function writeGenerated(): Promise<void> {
  const files = generatedDdlFiles();
  await mkdir(GENERATED_DDL, { recursive: true });
  for (const stale of (await readdir(GENERATED_DDL)).filter((name) => !(name in files))) {
    await rm(join(GENERATED_DDL, stale));
  }
  for (const [name, content] of Object.entries(files)) await writeFile(join(GENERATED_DDL, name), content);
  console.log(`wrote ${Object.keys(files).length} files in ${GENERATED_DDL}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { database: { type: 'string', default: DEFAULT_DATABASE } },
  });
  if (positionals.length === 0) return writeGenerated();
  const root = parseS3Path(positionals[0]);
  if (!root || positionals.length > 1) {
    throw new Error('usage: npx tsx glue/ddl.ts [s3://bucket/prefix [--database NAME]]');
  }
  const database =
    values.database === DEFAULT_DATABASE ? [] : [`CREATE DATABASE IF NOT EXISTS \`${values.database}\`;\n`];
  console.log([...database, ...METADATA_TABLES.map((table) => tableDdl(table, root, values.database))].join('\n'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
