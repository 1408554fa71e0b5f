/**
 * `backups list`: a group's `latest-` backups and archives (shared/backup/backup-catalog.ts), newest
 * first.
 */
import { listBackups, type TableBackups } from '#shared/backup/backup-catalog';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { backupFolder, BACKUP_TABLES, type BackupTable } from '#shared/aws/s3-layout';
import { formatS3Path } from '#shared/aws/s3-path';
import { awsClients, resolveRegion } from '#cli/aws-options';
import { resolvePartition, type PartitionOptions } from '#cli/backup-cli';
import type { CliIo } from '#cli/io';
import { alignColumns } from '#cli/text-table';

function utc(date: Date | undefined): string {
  return date ? date.toISOString().replace('T', ' ').replace('Z', '') : '';
}

/** A listing cut down to the archives asked for; `archiveCount` keeps how many there are in all. */
export type ShownBackups = TableBackups & { archiveCount?: number };

/** The `--limit` value: how many of each table's newest archives to show. */
export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UserInputError(
      `--limit ${quoteInput(value)}`,
      'it is not a whole number above 0',
      'pass a whole number above 0, e.g. --limit 10 (the newest 10 of each table), or leave it out for all',
    );
  }
  return Number(value);
}

/** The `--since` value: a UTC date (its midnight) or an ISO 8601 date-time with its zone. */
export function parseSince(value: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i.exec(value);
  const day = match ? new Date(`${match[1]}T00:00:00Z`) : undefined;
  const time = match?.[2] ? new Date(value) : day;
  // `new Date` rolls 2024-02-30 over to March 1st: the day must read back as written.
  const dayExists = day !== undefined && !Number.isNaN(day.getTime()) && day.toISOString().startsWith(match![1]);
  if (!dayExists || time === undefined || Number.isNaN(time.getTime())) {
    throw new UserInputError(
      `--since ${quoteInput(value)}`,
      'it is neither a date (YYYY-MM-DD, UTC) nor an ISO 8601 date-time with a zone',
      'pass a UTC date or a date-time with its zone, e.g. --since 2024-06-01 or --since 2024-06-01T10:00:00Z',
    );
  }
  return time;
}

/**
 * Each table's archives stamped at or after `since`, the newest `limit` of them. `latest-` keeps
 * naming the archive it holds, shown or not.
 */
export function selectArchives(listing: TableBackups[], options: { limit?: number; since?: Date }): ShownBackups[] {
  if (options.limit === undefined && options.since === undefined) return listing;
  return listing.map((entry) => {
    const recent = options.since
      ? entry.archives.filter((archive) => archive.time.getTime() >= options.since!.getTime())
      : entry.archives;
    return { ...entry, archives: recent.slice(0, options.limit), archiveCount: entry.archives.length };
  });
}

/** The listing as text: per table, `latest-` then the archives, newest first. */
export function formatListing(listing: ShownBackups[]): string[] {
  const lines: string[] = [];
  for (const { table, latest, archives, archiveCount } of listing) {
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
    const total = archiveCount ?? archives.length;
    const shown = archiveCount === undefined ? '' : `${archives.length} of `;
    lines.push(`  (${shown}${total} archive${total === 1 ? '' : 's'})`);
  }
  return lines;
}

export interface BackupsListOptions extends PartitionOptions {
  table?: BackupTable;
  output: 'table' | 'json';
  limit?: string;
  since?: string;
}

export async function backupsList(given: BackupsListOptions, io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  const selection = {
    limit: given.limit === undefined ? undefined : parseLimit(given.limit),
    since: given.since === undefined ? undefined : parseSince(given.since),
  };
  const options = { ...given, region: await resolveRegion(given, env) };
  const tables = options.table === undefined ? BACKUP_TABLES : [options.table];
  const { s3, sts } = await awsClients(options, io);
  const { root, identity } = await resolvePartition(sts, options, env);
  const listing = selectArchives(await listBackups(s3, root, identity, tables), selection);
  if (options.output === 'json') {
    io.print(JSON.stringify(listing, null, 2));
    return 0;
  }
  io.print(`Backups under ${formatS3Path({ bucket: root.bucket, prefix: backupFolder(root, identity) })}/`);
  for (const line of formatListing(listing)) io.print(line);
  return 0;
}
