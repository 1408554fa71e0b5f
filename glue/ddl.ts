/**
 * Athena DDL for a manual setup without the catalog stack, derived from shared/catalog/schema.ts:
 * the committed files (`generate` rewrites them) and the DDL of one path (`generate ddl PATH`).
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { METADATA_TABLES, type MetadataTable } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
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
    `-- Generated from shared/catalog/schema.ts by glue/ddl.ts; do not edit. Print it for your path with:`,
    `--   npx clonesquad-backup generate ddl s3://bucket/prefix`,
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

/** Rewrites glue/generated/ddl/ (placeholder LOCATION); answers the number of files. */
export async function writeGeneratedDdl(): Promise<number> {
  const files = generatedDdlFiles();
  await mkdir(GENERATED_DDL, { recursive: true });
  for (const stale of (await readdir(GENERATED_DDL)).filter((name) => !(name in files))) {
    await rm(join(GENERATED_DDL, stale));
  }
  for (const [name, content] of Object.entries(files)) await writeFile(join(GENERATED_DDL, name), content);
  return Object.keys(files).length;
}

/** The DDL of every table for `root`, creating `database` first unless it is the default one. */
export function ddlFor(root: S3Location, database = DEFAULT_DATABASE): string {
  const create = database === DEFAULT_DATABASE ? [] : [`CREATE DATABASE IF NOT EXISTS \`${database}\`;\n`];
  return [...create, ...METADATA_TABLES.map((table) => tableDdl(table, root, database))].join('\n');
}
