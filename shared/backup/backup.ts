/**
 * Backs one table up (docs/reference/s3-layout.md): the YAML is written once, write-protected, to its time-stamped
 * archive key. `latest-` is only repointed afterwards by {@link publishLatestBackups}, so no content
 * is ever only in `latest-`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { requireDestination, type Deployment } from '#shared/run/deployment';
import { log } from '#shared/aws/log';
import {
  headObject,
  ObjectChangedError,
  putObject,
  readObjectAt,
  sha256Hex,
  type ObjectHead,
} from '#shared/aws/s3-objects';
import {
  ARCHIVE_TAG,
  archiveBackupKey,
  archiveStamp,
  CONTENT_SHA256_METADATA,
  LATEST_ARCHIVE_STAMP_METADATA,
  latestBackupKey,
  parseArchiveStamp,
  type BackupTable,
} from '#shared/aws/s3-layout';
import { boundedWarnings, type PartResult } from '#shared/run/summary';
import { readTable, type TableContents } from '#shared/backup/table-reader';
import { dumpBackupYamlBytes } from '#shared/backup/yaml-dump';

export interface BackupClients {
  dynamodb: DynamoDBClient;
  s3: S3Client;
}

/** An archive as its backup wrote it: `latest-` becomes a copy of exactly this content. */
export interface SealedArchive {
  key: string;
  etag: string;
  /** The execution start the archive is named by; archives are ordered by it. */
  stamp: string;
}

/** A backup's result: the archive it sealed, waiting to become `latest-`. */
export interface BackupPartResult extends PartResult {
  table: BackupTable;
  archive?: SealedArchive;
  latestKey?: string;
}

const BACKUP_CONTENT_TYPE = 'application/yaml; charset=utf-8';

const TABLE_PARAMETER: Record<BackupTable, string> = {
  configuration: 'ConfigurationTable',
  scheduler: 'SchedulerTable',
};

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
  const body = dumpBackupYamlBytes(contents.rows, provenance);
  const sha256 = sha256Hex(body);
  const stamp = archiveStamp(executionStartTime);
  const latestKey = latestBackupKey(destination, deployment, table);
  const warnings = contents.warnings.length > 0 ? { warnings: boundedWarnings(contents.warnings) } : {};
  const unchangedSince = await archiveWithSameContent(s3, destination.bucket, latestKey, sha256, stamp);
  if (unchangedSince !== undefined) {
    log('info', 'backup unchanged, nothing archived', { table, since: unchangedSince });
    return {
      part: backupPartName(table),
      status: 'ok',
      table,
      keys: [],
      records: contents.rows.length,
      bytes: body.byteLength,
      sha256,
      reason: `unchanged since ${unchangedSince}`,
      ...warnings,
    };
  }
  const archiveKey = archiveBackupKey(destination, deployment, table, stamp);
  const written = await putObject(s3, {
    bucket: destination.bucket,
    key: archiveKey,
    body,
    contentType: BACKUP_CONTENT_TYPE,
    writeOnce: true,
    metadata: { [CONTENT_SHA256_METADATA]: sha256 },
    tags: { [ARCHIVE_TAG.key]: ARCHIVE_TAG.value },
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
    ...warnings,
    archive: { key: archiveKey, etag: written.etag, stamp },
    latestKey,
  };
}

/**
 * The stamp of the archive `latest-` holds when that archive has exactly these bytes: the table has
 * not changed since, whether that archive is older or newer than this execution's (`latest-` only
 * ever holds the newest archive published, so writing nothing never moves it back). A `latest-` that
 * records no hash (an earlier version or CloneSquad wrote it) counts as changed; so does one holding
 * this execution's own archive, a retried step that answers its archive again.
 */
async function archiveWithSameContent(
  s3: S3Client,
  bucket: string,
  latestKey: string,
  sha256: string,
  stamp: string,
): Promise<string | undefined> {
  let head: ObjectHead;
  try {
    head = await headObject(s3, bucket, latestKey);
  } catch (error) {
    // Only a saving: without the answer, the backup is archived as if the table had changed.
    log('warn', 'could not tell whether the table changed; archiving it', { key: latestKey, error: describe(error) });
    return undefined;
  }
  const held = heldStamp(head);
  if (head.found !== 'object' || held === undefined || held === stamp) return undefined;
  return head.metadata[CONTENT_SHA256_METADATA] === sha256 ? held : undefined;
}

/**
 * The archive step: moves each `latest-` to the archive its backup sealed in this execution, unless
 * it already holds a newer one, so `latest-` never goes back in time, whatever order overlapping
 * executions finish in. A failed backup leaves its `latest-` as it was.
 */
export async function publishLatestBackups(
  s3: S3Client,
  deployment: Deployment,
  backups: BackupPartResult[],
): Promise<PartResult> {
  const sealed = backups.filter((backup) => backup.status === 'ok' && backup.archive && backup.latestKey);
  // A backup that succeeded without sealing an archive found its table unchanged, and says since when.
  const unchanged = backups
    .filter((backup) => backup.status === 'ok' && !backup.archive && backup.reason !== undefined)
    .map((backup) => `${backup.table}: ${backup.reason}`);
  if (sealed.length === 0 && unchanged.length === 0)
    return { part: 'archive', status: 'skipped', reason: 'no backup succeeded in this execution' };
  const destination = requireDestination(deployment);
  const outcomes = await Promise.allSettled(
    sealed.map((backup) =>
      moveLatest(s3, {
        bucket: destination.bucket,
        archive: backup.archive!,
        latestKey: backup.latestKey!,
        kmsKeyArn: deployment.kmsKeyArn,
      }),
    ),
  );
  const keys: string[] = [];
  const kept: string[] = [...unchanged];
  const failures: string[] = [];
  outcomes.forEach((outcome, index) => {
    const backup = sealed[index];
    if (outcome.status === 'rejected') failures.push(`${backup.latestKey}: ${describe(outcome.reason)}`);
    else if (outcome.value.moved) keys.push(backup.latestKey!);
    else kept.push(`${backup.table}: latest- already holds the newer archive ${outcome.value.newerStamp}`);
  });
  const reason = kept.length > 0 ? { reason: kept.join('; ') } : {};
  if (failures.length > 0) {
    return {
      part: 'archive',
      status: 'failed',
      keys,
      ...reason,
      error: { name: 'PublishLatestFailed', message: failures.join('; ') },
    };
  }
  return { part: 'archive', status: 'ok', keys, records: keys.length, ...reason };
}

/** How often a move is decided again after another execution moved `latest-` in between. */
const MAX_LATEST_ATTEMPTS = 5;

type LatestMove = { moved: true } | { moved: false; newerStamp: string };

/** The stamp of the archive `latest-` holds; none (older than any archive) when it records none. */
function heldStamp(head: ObjectHead): string | undefined {
  if (head.found !== 'object') return undefined;
  const stamp = head.metadata[LATEST_ARCHIVE_STAMP_METADATA];
  return stamp !== undefined && parseArchiveStamp(stamp) ? stamp : undefined;
}

/**
 * Replaces `latest-` with the archive's content only while it holds what was just read (`If-Match`
 * its ETag, or `If-None-Match` when there was none), so of two executions moving it at once, the
 * one that read first finds the other's move and decides again: an older archive never replaces a
 * newer one. The archive is read at the ETag its backup wrote, so it is exactly that content.
 */
async function moveLatest(
  s3: S3Client,
  move: { bucket: string; archive: SealedArchive; latestKey: string; kmsKeyArn?: string },
): Promise<LatestMove> {
  const { bucket, archive, latestKey } = move;
  let body: Uint8Array | undefined;
  for (let attempt = 1; attempt <= MAX_LATEST_ATTEMPTS; attempt += 1) {
    const head = await headObject(s3, bucket, latestKey);
    const held = heldStamp(head);
    // Stamps sort chronologically as text; its own stamp is a retried step finding its move done.
    if (held !== undefined && held > archive.stamp) return { moved: false, newerStamp: held };
    if (held === archive.stamp) return { moved: true };
    body ??= await readObjectAt(s3, bucket, archive.key, archive.etag);
    try {
      await putObject(s3, {
        bucket,
        key: latestKey,
        body,
        contentType: BACKUP_CONTENT_TYPE,
        metadata: { [LATEST_ARCHIVE_STAMP_METADATA]: archive.stamp, [CONTENT_SHA256_METADATA]: sha256Hex(body) },
        replaces: head.found === 'object' ? head.etag : null,
        kmsKeyArn: move.kmsKeyArn,
      });
      return { moved: true };
    } catch (error) {
      if (!(error instanceof ObjectChangedError)) throw error;
      // Only written where there was no object, and there was one: the HEAD was really refused.
      if (head.found === 'refused') throw head.error;
    }
  }
  throw new Error(
    `other executions moved it ${MAX_LATEST_ATTEMPTS} times while this one tried; it was left holding their archive`,
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
