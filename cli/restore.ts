/**
 * `restore`: restores a backup into a CloneSquad table (shared/restore/restore.ts), showing the
 * changes before anything is written.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { defaultTableNames } from '#shared/run/deployment';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import type { BackupTable } from '#shared/aws/s3-layout';
import {
  checkProvenance,
  describePlan,
  loadBackup,
  parseBackupSource,
  RESTORE_MODES,
  restoreTable,
  type RestoreMode,
  type RestorePlan,
  type RestoreResult,
} from '#shared/restore/restore';
import { awsClients, resolveRegion } from '#cli/aws-options';
import { accountIdOf, checkGroupName, resolvePartition, type PartitionOptions } from '#cli/backup-cli';
import type { CliIo } from '#cli/io';

export interface RestoreOptions extends PartitionOptions {
  table: BackupTable;
  from: string;
  /** merge or restore: checked here, where the modes are known. */
  mode: string;
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
  tableName?: string;
  output: 'table' | 'json';
}

const rowCount = (count: number) => `${count} row${count === 1 ? '' : 's'}`;

const MAX_KEYS_LISTED = 5;

/** Rows written or deleted between two progress lines of a restore. */
export const WRITE_PROGRESS_EVERY = 2_000;

function keyList(keys: string[]): string {
  const listed = keys.slice(0, MAX_KEYS_LISTED).map((key) => quoteInput(key));
  return keys.length > MAX_KEYS_LISTED ? `${listed.join(', ')}, …` : listed.join(', ');
}

/**
 * Reports every {@link WRITE_PROGRESS_EVERY} rows the client's BatchWriteItem calls write to
 * `tableName`, until the answered function is called. A middleware, because the restore's writes
 * happen inside shared/restore's `applyRestore`, which reports nothing until it is done.
 */
function reportWrites(
  dynamodb: DynamoDBClient,
  tableName: string,
  total: number,
  report: (line: string) => void,
): () => void {
  const name = 'restoreWriteProgress';
  let written = 0;
  dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'BatchWriteItemCommand') {
        const input = args.input as { RequestItems?: Record<string, unknown[]> };
        const output = result.output as { UnprocessedItems?: Record<string, unknown[]> };
        const before = written;
        written += (input.RequestItems?.[tableName]?.length ?? 0) - (output.UnprocessedItems?.[tableName]?.length ?? 0);
        if (Math.floor(written / WRITE_PROGRESS_EVERY) > Math.floor(before / WRITE_PROGRESS_EVERY)) {
          report(`writing ${tableName}: ${written} of ${total} rows written or deleted`);
        }
      }
      return result;
    },
    { step: 'initialize', name },
  );
  return () => dynamodb.middlewareStack.remove(name);
}

/** The restore as one JSON document (`--output json`). */
function restoreDocument(
  backup: { location: string; rows: unknown[]; bytes: number },
  tableName: string,
  options: RestoreOptions,
  result: RestoreResult,
) {
  const { plan, applied, warnings, expired } = result;
  return {
    source: { location: backup.location, keys: backup.rows.length, bytes: backup.bytes },
    table: tableName,
    mode: options.mode,
    outcome: options.dryRun ? 'dry run' : applied ? 'written' : 'aborted',
    plan: { put: plan.put, delete: plan.delete, unchanged: plan.unchanged },
    ...(applied ? { written: applied } : {}),
    warnings,
    expired,
  };
}

/** The restore; answers the exit code (1 when the operator declines the deletions). */
export async function restoreCommand(given: RestoreOptions, io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  const group = checkGroupName(given.group);
  if (!(RESTORE_MODES as readonly string[]).includes(given.mode)) {
    throw new UserInputError(`--mode "${given.mode}"`, 'it is not a restore mode', `use ${RESTORE_MODES.join(' or ')}`);
  }
  const region = await resolveRegion(given, env);
  const options = { ...given, region };
  const { table } = options;
  const dryRun = options.dryRun === true;
  const mode = options.mode as RestoreMode;
  const json = options.output === 'json';
  const { dynamodb, s3, sts } = await awsClients(options, io);

  const source = parseBackupSource(options.from);
  const partition =
    source.kind === 'latest' || source.kind === 'archive'
      ? { ...(await resolvePartition(sts, options, env)), table }
      : undefined;
  const backup = await loadBackup(s3, source, partition, { onProgress: io.stderr });
  const accountId =
    partition?.identity.accountId ?? (backup.claims.length > 0 ? await accountIdOf(sts, options) : undefined);
  const target = { table, groupName: group, region, accountId };
  for (const line of checkProvenance(backup, target, options.force === true)) io.stderr(line);
  const tableName = options.tableName ?? defaultTableNames(group)[table];
  if (!json) {
    io.print(
      `${dryRun ? 'Dry run: restoring' : 'Restoring'} ${backup.location} (${backup.rows.length} keys, ${backup.bytes} bytes) ` +
        `into table ${tableName} in ${mode} mode`,
    );
  }
  let stopReporting = () => {};
  const beforeWrite = async (plan: RestorePlan) => {
    const deleting = plan.delete.length;
    const asking = !dryRun && deleting > 0 && !options.yes;
    if (!json) {
      if (!dryRun && deleting > 0) io.print(`Deleting ${rowCount(deleting)} (marked -):`);
      for (const line of describePlan(plan)) io.print(`  ${line}`);
    } else if (asking) {
      for (const line of describePlan(plan)) io.stderr(`  ${line}`);
    }
    if (asking) {
      if (!io.ask) {
        throw new UserInputError(
          `table ${tableName}`,
          `this restore deletes ${rowCount(deleting)} (marked - above), and stdin is not a terminal to confirm it`,
          'check the rows marked -, then run it again with --yes',
        );
      }
      const answer = await io.ask(`Delete ${rowCount(deleting)} from ${tableName}? [y/N] `);
      if (!/^(y|yes)$/i.test(answer.trim())) return false;
    }
    if (!dryRun) stopReporting = reportWrites(dynamodb, tableName, plan.put.length + deleting, io.stderr);
    return true;
  };
  let result: RestoreResult;
  try {
    result = await restoreTable(dynamodb, backup.rows, {
      tableName,
      mode,
      dryRun,
      tableLabel: options.tableName ? `--table-name "${tableName}"` : `table "${tableName}" (of --group ${group})`,
      beforeWrite,
    });
  } finally {
    stopReporting();
  }
  for (const warning of result.warnings) io.stderr(`warning: ${warning}; the row was left as it is`);
  const fates: [string[], string][] = [
    [result.expired.replaced, 'named by the document, so replaced by its value (with no TTL)'],
    [result.expired.emptied, "given an empty value by the document, so left for DynamoDB's TTL to delete"],
    [result.expired.unnamed, "not named by the document, so left for DynamoDB's TTL to delete"],
  ];
  for (const [keys, fate] of fates) {
    if (keys.length > 0) io.stderr(`note: past TTL and ${fate}: ${rowCount(keys.length)} (${keyList(keys)})`);
  }
  const aborted = !dryRun && !result.applied;
  if (json) io.print(JSON.stringify(restoreDocument(backup, tableName, options, result), null, 2));
  else if (aborted) io.print('Aborted: nothing was written.');
  else if (dryRun) io.print('Dry run: nothing was written.');
  else io.print(`Done: ${rowCount(result.applied!.put)} written, ${rowCount(result.applied!.deleted)} deleted.`);
  return aborted ? 1 : 0;
}
