/**
 * `generate`: rewrites every committed file derived from the code (the catalog stack, the
 * Organization StackSet, the Athena DDL files, the central bucket stack, the docs' reference pages); `generate ddl PATH` prints the DDL for one
 * MetadataAndBackupS3Path instead.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserInputError } from '#shared/aws/errors';
import { parseS3Path } from '#shared/aws/s3-path';
import { catalogStackJson, GENERATED_STACK } from '#infra/catalog-stack';
import { GENERATED_STACKSET, stackSetJson } from '#infra/stackset';
import { ddlFor, GENERATED_DDL, writeGeneratedDdl } from '#glue/ddl';
import { DEFAULT_POLICIES_OUT, policiesCommand } from '#cli/policies';
import { REFERENCE_FOLDER, REFERENCE_PAGES } from '#cli/reference-docs';
import type { CliIo } from '#cli/io';

export async function generateFiles(io: CliIo): Promise<number> {
  await mkdir(dirname(GENERATED_STACK), { recursive: true });
  await writeFile(GENERATED_STACK, catalogStackJson());
  io.print(`wrote ${GENERATED_STACK}`);
  await writeFile(GENERATED_STACKSET, stackSetJson());
  io.print(`wrote ${GENERATED_STACKSET}`);
  io.print(`wrote ${await writeGeneratedDdl()} files in ${GENERATED_DDL}`);
  await mkdir(REFERENCE_FOLDER, { recursive: true });
  for (const [name, render] of Object.entries(REFERENCE_PAGES)) {
    await writeFile(join(REFERENCE_FOLDER, name), render());
    io.print(`wrote ${join(REFERENCE_FOLDER, name)}`);
  }
  return policiesCommand({ out: DEFAULT_POLICIES_OUT }, io);
}

export function printDdl(s3Path: string, options: { database?: string }, io: CliIo): number {
  const root = parseS3Path(s3Path);
  if (!root)
    throw new UserInputError(
      'generate ddl S3_PATH',
      'it is empty',
      'give the MetadataAndBackupS3Path, s3://bucket/prefix',
    );
  io.print(ddlFor(root, options.database));
  return 0;
}
