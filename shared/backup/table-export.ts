/**
 * One Configuration or Scheduler table, read once and written twice: its YAML backup archive and its
 * CMDB metadata partition (SPEC §4–6). Each write is a part of its own, so a failure of one never
 * hides the other; a failed read fails both.
 */
import {
  archiveBackup,
  backupPartName,
  readBackupTable,
  type BackupClients,
  type BackupPartResult,
} from '#shared/backup/backup';
import type { Deployment } from '#shared/run/deployment';
import { writeMetadataTable, metadataPartName, type MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { utcTextWithOffset } from '#shared/metadata/records';
import type { BackupTable } from '#shared/aws/s3-layout';
import { notRequestedPart } from '#shared/run/run-request';
import { failedPart, type PartResult } from '#shared/run/summary';
import type { TableRow } from '#shared/backup/table-rows';

/** A `clonesquad_configuration` / `clonesquad_scheduler` line, typed as the original's (every field text). */
export interface TableRowLine {
  Key: string;
  Value: string;
  /** Epoch seconds as digits; absent when the row has no TTL. */
  ExpirationTime?: string;
  MetadataRecordLastUpdatedAt: string;
}

export function tableRowRecord(row: TableRow, executionStartTime: string): TableRowLine {
  return {
    Key: row.key,
    Value: row.value,
    ...(row.expirationTime !== undefined ? { ExpirationTime: String(row.expirationTime) } : {}),
    MetadataRecordLastUpdatedAt: utcTextWithOffset(executionStartTime),
  };
}

export async function exportTable(
  clients: BackupClients,
  deployment: Deployment,
  request: {
    table: BackupTable;
    executionStartTime: string;
    now?: Date;
    /** The writes asked for (a narrowed run); both by default. One not asked for is skipped. */
    write?: { backup: boolean; metadata: boolean };
  },
): Promise<[BackupPartResult | PartResult, MetadataPartResult | PartResult]> {
  const { table, executionStartTime } = request;
  const write = request.write ?? { backup: true, metadata: true };
  const notRequested = [notRequestedPart(backupPartName(table)), notRequestedPart(metadataPartName(table))];
  if (!write.backup && !write.metadata) return [notRequested[0], notRequested[1]];
  let contents;
  try {
    contents = await readBackupTable(clients.dynamodb, deployment, table, request.now);
  } catch (error) {
    return [
      failedPart(backupPartName(table), error),
      { ...failedPart(metadataPartName(table), error), newPartition: false },
    ];
  }
  const rows = contents.rows;
  const [backup, metadata] = await Promise.allSettled([
    write.backup ? archiveBackup(clients.s3, deployment, table, contents, executionStartTime) : notRequested[0],
    write.metadata
      ? writeMetadataTable(
          clients.s3,
          deployment,
          table,
          rows.map((row) => tableRowRecord(row, executionStartTime)),
        )
      : notRequested[1],
  ]);
  return [
    backup.status === 'fulfilled' ? backup.value : failedPart(backupPartName(table), backup.reason),
    metadata.status === 'fulfilled'
      ? metadata.value
      : { ...failedPart(metadataPartName(table), metadata.reason), newPartition: false },
  ];
}
