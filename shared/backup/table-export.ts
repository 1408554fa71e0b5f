/**
 * One Configuration or Scheduler table, read once and written twice: its YAML backup archive and its
 * CMDB metadata partition. Each write is a part of its own, so a failure of one never hides the
 * other; a failed read fails both. A caller may add one more part that works from the rows read (the
 * Configuration table's branch applies the group's `backup.cron` to its schedule), failed with them.
 */
import { archiveBackup, backupPartName, readBackupTable, type BackupClients } from '#shared/backup/backup';
import type { Deployment } from '#shared/run/deployment';
import { writeMetadataTable, metadataPartName, type MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { utcTextWithOffset } from '#shared/metadata/records';
import type { BackupTable } from '#shared/aws/s3-layout';
import { notRequestedPart } from '#shared/run/run-request';
import { failedPart, type PartResult } from '#shared/run/summary';
import type { TableRow } from '#shared/catalog/table-rows';

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
    /** One more part made from the rows read, with them. */
    fromRows?: { part: string; run: (rows: TableRow[]) => Promise<PartResult> };
  },
): Promise<(PartResult | MetadataPartResult)[]> {
  const { table, executionStartTime, fromRows } = request;
  const write = request.write ?? { backup: true, metadata: true };
  const notRequested = [notRequestedPart(backupPartName(table)), notRequestedPart(metadataPartName(table))];
  if (!write.backup && !write.metadata) {
    return [...notRequested, ...(fromRows ? [notRequestedPart(fromRows.part)] : [])];
  }
  let contents;
  try {
    contents = await readBackupTable(clients.dynamodb, deployment, table, request.now);
  } catch (error) {
    return [
      failedPart(backupPartName(table), error),
      { ...failedPart(metadataPartName(table), error), newPartition: false },
      ...(fromRows ? [failedPart(fromRows.part, error)] : []),
    ];
  }
  const rows = contents.rows;
  const [backup, metadata, extra] = await Promise.allSettled([
    write.backup ? archiveBackup(clients.s3, deployment, table, contents, executionStartTime) : notRequested[0],
    write.metadata
      ? writeMetadataTable(
          clients.s3,
          deployment,
          table,
          rows.map((row) => tableRowRecord(row, executionStartTime)),
        )
      : notRequested[1],
    fromRows?.run(rows),
  ]);
  return [
    backup.status === 'fulfilled' ? backup.value : failedPart(backupPartName(table), backup.reason),
    metadata.status === 'fulfilled'
      ? metadata.value
      : { ...failedPart(metadataPartName(table), metadata.reason), newPartition: false },
    ...(fromRows ? [extra.status === 'fulfilled' ? extra.value! : failedPart(fromRows.part, extra.reason)] : []),
  ];
}
