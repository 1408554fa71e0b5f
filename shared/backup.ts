/**
 * Backs one table up (SPEC §4–5): the YAML is written once, write-protected, to its time-stamped
 * archive key. `latest-` is only repointed afterwards by {@link publishLatestBackups}, so no content
 * is ever only in `latest-`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { requireDestination, type Deployment } from './deployment.ts';
import { log } from './log.ts';
import { copyObject, putObject } from './s3-objects.ts';
import { archiveBackupKey, archiveStamp, latestBackupKey, type BackupTable } from './s3-layout.ts';
import type { PartResult } from './summary.ts';
import { readTable, type TableContents } from './table-reader.ts';
import { dumpBackupYaml } from './yaml-dump.ts';

export interface BackupClients {
  dynamodb: DynamoDBClient;
  s3: S3Client;
}

/** A backup's result: the archive it sealed, waiting to become `latest-`. */
export interface BackupPartResult extends PartResult {
  table: BackupTable;
  archive?: { key: string; etag: string };
  latestKey?: string;
}

const TABLE_PARAMETER: Record<BackupTable, string> = {
  configuration: 'ConfigurationTable',
  scheduler: 'SchedulerTable',
};

/**
 * The result travels through the state machine (256 KiB per payload), and a table may hold any
 * number of malformed rows: the result carries the first few warnings, the log has every one.
 */
const MAX_RESULT_WARNINGS = 10;
const MAX_WARNING_LENGTH = 300;

function resultWarnings(warnings: string[]): string[] {
  const shown = warnings
    .slice(0, MAX_RESULT_WARNINGS)
    .map((warning) => (warning.length > MAX_WARNING_LENGTH ? `${warning.slice(0, MAX_WARNING_LENGTH - 1)}…` : warning));
  const more = warnings.length - shown.length;
  return more > 0
    ? [...shown, `${more} more rows skipped for the same kinds of reasons; the function's log lists each`]
    : shown;
}

export function backupPartName(table: BackupTable): string {
  return `backup/${table}`;
}

/** Reads the table and archives its backup; {@link exportTable} does the same and also exports its rows. */
export async function backupTable(
  clients: BackupClients,
  deployment: Deployment,
  request: { table: BackupTable; executionStartTime: string; now?: Date },
): Promise<BackupPartResult> {
  const contents = await readBackupTable(clients.dynamodb, deployment, request.table, request.now);
  return archiveBackup(clients.s3, deployment, request.table, contents, request.executionStartTime);
}

export async function readBackupTable(
  dynamodb: DynamoDBClient,
  deployment: Deployment,
  table: BackupTable,
  now?: Date,
): Promise<TableContents> {
  const contents = await readTable(dynamodb, {
    tableName: deployment.tables[table],
    parameterName: TABLE_PARAMETER[table],
    now,
  });
  for (const warning of contents.warnings) log('warn', warning, { table: deployment.tables[table] });
  return contents;
}

/** Writes the backup of rows already read, once, to its time-stamped archive key. */
export async function archiveBackup(
  s3: S3Client,
  deployment: Deployment,
  table: BackupTable,
  contents: TableContents,
  executionStartTime: string,
): Promise<BackupPartResult> {
  const destination = requireDestination(deployment);
  const provenance = {
    table,
    groupName: deployment.groupName,
    accountId: deployment.accountId,
    region: deployment.region,
  };
  const body = Buffer.from(dumpBackupYaml(contents.rows, provenance), 'utf8');
  const archiveKey = archiveBackupKey(destination, deployment, table, archiveStamp(executionStartTime));
  const written = await putObject(s3, {
    bucket: destination.bucket,
    key: archiveKey,
    body,
    contentType: 'application/yaml; charset=utf-8',
    writeOnce: true,
    kmsKeyArn: deployment.kmsKeyArn,
  });
  log('info', 'backup archived', { table, key: archiveKey, records: contents.rows.length, bytes: written.bytes });
  return {
    part: backupPartName(table),
    status: 'ok',
    table,
    keys: [archiveKey],
    records: contents.rows.length,
    bytes: written.bytes,
    sha256: written.sha256,
    ...(contents.warnings.length > 0 ? { warnings: resultWarnings(contents.warnings) } : {}),
    archive: { key: archiveKey, etag: written.etag },
    latestKey: latestBackupKey(destination, deployment, table),
  };
}

/**
 * The archive step: repoints each `latest-` at the archive its backup sealed in this execution, by
 * a server-side copy that only happens while the archive still has the content written. A failed
 * backup leaves its `latest-` as it was.
 */
export async function publishLatestBackups(
  s3: S3Client,
  deployment: Deployment,
  backups: BackupPartResult[],
): Promise<PartResult> {
  const sealed = backups.filter((backup) => backup.status === 'ok' && backup.archive && backup.latestKey);
  if (sealed.length === 0)
    return { part: 'archive', status: 'skipped', reason: 'no backup succeeded in this execution' };
  const destination = requireDestination(deployment);
  const outcomes = await Promise.allSettled(
    sealed.map((backup) =>
      copyObject(s3, {
        bucket: destination.bucket,
        sourceKey: backup.archive!.key,
        sourceEtag: backup.archive!.etag,
        key: backup.latestKey!,
        kmsKeyArn: deployment.kmsKeyArn,
      }),
    ),
  );
  const keys = sealed.filter((_, index) => outcomes[index].status === 'fulfilled').map((backup) => backup.latestKey!);
  const failures = outcomes.flatMap((outcome, index) =>
    outcome.status === 'rejected' ? [`${sealed[index].latestKey}: ${describe(outcome.reason)}`] : [],
  );
  if (failures.length > 0) {
    return {
      part: 'archive',
      status: 'failed',
      keys,
      error: { name: 'PublishLatestFailed', message: failures.join('; ') },
    };
  }
  return { part: 'archive', status: 'ok', keys, records: keys.length };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
