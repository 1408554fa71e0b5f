/**
 * `npm run restore -- --group G --table configuration|scheduler --from SOURCE [--mode merge|restore]
 *                     [--dry-run] [--table-name NAME] [--s3-path PATH] [--account ID] [--region REGION]`
 *
 * Restores a backup into a CloneSquad table (SPEC §5, shared/restore.ts), printing the diff first.
 */
import { parseArgs } from 'node:util';
import { defaultTableNames } from '#shared/run/deployment';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import {
  checkProvenance,
  describePlan,
  loadBackup,
  parseBackupSource,
  RESTORE_MODES,
  restoreTable,
  type RestoreMode,
} from '#shared/restore/restore';
import {
  accountIdOf,
  awsClients,
  type CliIo,
  PARTITION_OPTIONS,
  PARTITION_USAGE,
  parseTable,
  processIo,
  regionOf,
  requireGroup,
  resolvePartition,
  runCli,
  UsageError,
} from '#cli/backup-cli';

export const USAGE = `Usage: npm run restore -- --group G --table configuration|scheduler --from SOURCE [options]
  --from SOURCE      s3://bucket/key, a local file, latest, or archive STAMP (the stamps are listed by
                     npm run backups -- list; an ISO date-time such as 2024-06-01T10:00:00.123Z works too)
  --mode MODE        merge (default): write every key of the document; an empty value deletes the key
                     restore: as merge, and delete every key the document does not have
  --dry-run          print the changes and write nothing
  --yes              delete rows without asking (needed to delete when stdin is not a terminal)
  --force            restore a backup whose provenance (its first line, or its S3 key) names another
                     table, group, account or region than the one restored
  --table-name NAME  the DynamoDB table (default CloneSquad-G-Configuration or CloneSquad-G-Scheduler)
${PARTITION_USAGE}
The changes are printed before anything is written (+ added, ~ changed, - deleted); rows are deleted
only after a yes to "Delete N rows from TABLE? [y/N]", or with --yes. Written rows get no
ExpirationTime; rows already equal to the document are not rewritten.
Exit code: 0 done, 1 failed (run it again: it writes only what still differs) or declined, 2 bad
input.`;

const rowCount = (count: number) => `${count} row${count === 1 ? '' : 's'}`;

const MAX_KEYS_LISTED = 5;

function keyList(keys: string[]): string {
  const listed = keys.slice(0, MAX_KEYS_LISTED).map((key) => quoteInput(key));
  return keys.length > MAX_KEYS_LISTED ? `${listed.join(', ')}, …` : listed.join(', ');
}

/** The whole command, with injectable output, environment and clients; answers the exit code. */
export async function restoreCommand(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...PARTITION_OPTIONS,
      table: { type: 'string' },
      from: { type: 'string' },
      mode: { type: 'string', default: 'merge' },
      'dry-run': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      'table-name': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    io.print(USAGE);
    return 0;
  }
  const group = requireGroup(values.group);
  const table = parseTable(values.table);
  if (values.from === undefined) throw new UsageError('--from is required');
  // `--from archive STAMP` arrives as two arguments.
  const from = values.from === 'archive' && positionals.length > 0 ? `archive ${positionals.shift()}` : values.from;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!(RESTORE_MODES as readonly string[]).includes(values.mode)) {
    throw new UserInputError(
      `--mode "${values.mode}"`,
      'it is not a restore mode',
      `use ${RESTORE_MODES.join(' or ')}`,
    );
  }
  const mode = values.mode as RestoreMode;
  const dryRun = values['dry-run'];
  const { dynamodb, s3, sts } = io.clients ?? awsClients(regionOf(values, env));

  const source = parseBackupSource(from);
  const partition =
    source.kind === 'latest' || source.kind === 'archive'
      ? { ...(await resolvePartition(sts, values, env)), table }
      : undefined;
  const stderr = io.stderr ?? ((line: string) => console.error(line));
  const backup = await loadBackup(s3, source, partition, { onProgress: stderr });
  const accountId =
    partition?.identity.accountId ?? (backup.claims.length > 0 ? await accountIdOf(sts, values) : undefined);
  const target = { table, groupName: group, region: regionOf(values, env), accountId };
  for (const line of checkProvenance(backup, target, values.force)) stderr(line);
  const tableName = values['table-name'] ?? defaultTableNames(group)[table];
  io.print(
    `${dryRun ? 'Dry run: restoring' : 'Restoring'} ${backup.location} (${backup.rows.length} keys, ${backup.bytes} bytes) ` +
      `into table ${tableName} in ${mode} mode`,
  );
  const result = await restoreTable(dynamodb, backup.rows, {
    tableName,
    mode,
    dryRun,
    tableLabel: values['table-name'] ? `--table-name "${tableName}"` : `table "${tableName}" (of --group ${group})`,
    beforeWrite: async (plan) => {
      const deleting = plan.delete.length;
      if (!dryRun && deleting > 0) io.print(`Deleting ${rowCount(deleting)} (marked -):`);
      for (const line of describePlan(plan)) io.print(`  ${line}`);
      if (dryRun || deleting === 0 || values.yes) return true;
      if (!io.ask) {
        throw new UserInputError(
          `table ${tableName}`,
          `this restore deletes ${rowCount(deleting)} (marked - above), and stdin is not a terminal to confirm it`,
          'check the rows marked -, then run it again with --yes',
        );
      }
      const answer = await io.ask(`Delete ${rowCount(deleting)} from ${tableName}? [y/N] `);
      return /^(y|yes)$/i.test(answer.trim());
    },
  });
  if (!dryRun && !result.applied) {
    io.print('Aborted: nothing was written.');
    return 1;
  }
  for (const warning of result.warnings) io.print(`warning: ${warning}; the row was left as it is`);
  const fates: [string[], string][] = [
    [result.expired.replaced, 'named by the document, so replaced by its value (with no TTL)'],
    [result.expired.emptied, "given an empty value by the document, so left for DynamoDB's TTL to delete"],
    [result.expired.unnamed, "not named by the document, so left for DynamoDB's TTL to delete"],
  ];
  for (const [keys, fate] of fates) {
    if (keys.length > 0) io.print(`note: past TTL and ${fate}: ${rowCount(keys.length)} (${keyList(keys)})`);
  }
  if (dryRun) io.print('Dry run: nothing was written.');
  else io.print(`Done: ${rowCount(result.applied!.put)} written, ${rowCount(result.applied!.deleted)} deleted.`);
  return 0;
}

if (require.main === module) {
  runCli(() => restoreCommand(process.argv.slice(2), processIo()), USAGE);
}
