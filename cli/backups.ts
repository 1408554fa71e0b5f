/**
 * `npm run backups -- list --group G [--table configuration|scheduler] [--s3-path PATH]
 *                     [--account ID] [--region REGION] [--format table|json]`
 *
 * Lists a group's `latest-` backups and archives (shared/backup-catalog.ts), newest first.
 */
import { parseArgs } from 'node:util';
import { listBackups, type TableBackups } from '#shared/backup/backup-catalog';
import { UserInputError } from '#shared/aws/errors';
import { backupFolder, BACKUP_TABLES } from '#shared/aws/s3-layout';
import { formatS3Path } from '#shared/aws/s3-path';
import {
  awsClients,
  type CliIo,
  PARTITION_OPTIONS,
  PARTITION_USAGE,
  parseTable,
  regionOf,
  resolvePartition,
  runCli,
  UsageError,
} from '#cli/backup-cli';

export const USAGE = `Usage: npm run backups -- list --group G [options]
  --table TABLE      configuration or scheduler (default both)
${PARTITION_USAGE}
  --format FORMAT    table (default) or json
Archives are listed newest first with the time their stamp records; latest- with the time it was
last replaced and the archive whose content it holds. Exit code: 0 listed, 1 failed, 2 bad input.`;

const FORMATS = ['table', 'json'] as const;

function utc(date: Date | undefined): string {
  return date ? date.toISOString().replace('T', ' ').replace('Z', '') : '';
}

function aligned(rows: string[][]): string[] {
  const widths = rows[0].map((_cell, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd(),
  );
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
    lines.push(...aligned(rows).map((line) => `  ${line}`));
    lines.push(`  (${archives.length} archive${archives.length === 1 ? '' : 's'})`);
  }
  return lines;
}

export async function backupsCommand(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...PARTITION_OPTIONS,
      table: { type: 'string' },
      format: { type: 'string', default: 'table' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    io.print(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('a command is required: list');
  if (positionals[0] !== 'list' || positionals.length > 1) {
    throw new UsageError(`unknown command "${positionals.join(' ')}"; the only command is list`);
  }
  if (!(FORMATS as readonly string[]).includes(values.format)) {
    throw new UserInputError(`--format "${values.format}"`, 'it is not a known format', `use ${FORMATS.join(' or ')}`);
  }
  const tables = values.table === undefined ? BACKUP_TABLES : [parseTable(values.table)];
  const { s3, sts } = io.clients ?? awsClients(regionOf(values, env));
  const { root, identity } = await resolvePartition(sts, values, env);
  const listing = await listBackups(s3, root, identity, tables);
  if (values.format === 'json') {
    io.print(JSON.stringify(listing, null, 2));
    return 0;
  }
  io.print(`Backups under ${formatS3Path({ bucket: root.bucket, prefix: backupFolder(root, identity) })}/`);
  for (const line of formatListing(listing)) io.print(line);
  return 0;
}

if (require.main === module) {
  runCli(() => backupsCommand(process.argv.slice(2), { print: (line) => console.log(line) }), USAGE);
}
