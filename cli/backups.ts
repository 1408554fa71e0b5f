/**
 * `backups list`: a group's `latest-` backups and archives (shared/backup/backup-catalog.ts), newest
 * first.
 */
import { listBackups, type TableBackups } from '#shared/backup/backup-catalog';
import { backupFolder, BACKUP_TABLES, type BackupTable } from '#shared/aws/s3-layout';
import { formatS3Path } from '#shared/aws/s3-path';
import { awsClients, resolveRegion } from '#cli/aws-options';
import { resolvePartition, type PartitionOptions } from '#cli/backup-cli';
import type { CliIo } from '#cli/io';
import { alignColumns } from '#cli/text-table';

function utc(date: Date | undefined): string {
  return date ? date.toISOString().replace('T', ' ').replace('Z', '') : '';
}

/** The listing as text: per table, `latest-` then the archives, newest first. */
export function formatListing(listing: TableBackups[]): string[] {
  const lines: string[] = [];
  for (const { table, latest, archives } of listing) {
    lines.push(`${table}:`);
    if (!latest && archives.length === 0) {
      lines.push('  no backups');
      continue;
    }
    const rows = [['', 'STAMP', 'TIME (UTC)', 'BYTES', 'NOTE']];
    if (latest) {
      const note = latest.matchesArchive ? `same content as ${latest.matchesArchive}` : 'matches no archive listed';
      rows.push(['latest-', '', utc(latest.lastModified), String(latest.bytes), note]);
    } else {
      rows.push(['latest-', '', '', '', 'missing: no backup was published yet']);
    }
    for (const archive of archives) {
      const note = latest?.matchesArchive === archive.stamp ? '= latest-' : '';
      rows.push(['archive', archive.stamp, utc(archive.time), String(archive.bytes), note]);
    }
    lines.push(...alignColumns(rows, [3]).map((line) => `  ${line}`));
    lines.push(`  (${archives.length} archive${archives.length === 1 ? '' : 's'})`);
  }
  return lines;
}

export interface BackupsListOptions extends PartitionOptions {
  table?: BackupTable;
  output: 'table' | 'json';
}

export async function backupsList(given: BackupsListOptions, io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  const options = { ...given, region: await resolveRegion(given, env) };
  const tables = options.table === undefined ? BACKUP_TABLES : [options.table];
  const { s3, sts } = await awsClients(options, io);
  const { root, identity } = await resolvePartition(sts, options, env);
  const listing = await listBackups(s3, root, identity, tables);
  if (options.output === 'json') {
    io.print(JSON.stringify(listing, null, 2));
    return 0;
  }
  io.print(`Backups under ${formatS3Path({ bucket: root.bucket, prefix: backupFolder(root, identity) })}/`);
  for (const line of formatListing(listing)) io.print(line);
  return 0;
}
