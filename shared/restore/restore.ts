/**
 * Restores a backup document into a CloneSquad table (docs/backup-format.md).
 *
 * - *merge* writes every key of the document (nested parameter sets back to `[name]subkey`) and
 *   deletes the keys whose value is empty;
 * - *restore* does the same and also deletes the keys the document does not have.
 *
 * Only differences are written: a row whose value already equals the document's is left as it is,
 * TTL included. A row that restore writes has no `ExpirationTime` (backups carry no TTL). A row past
 * its TTL is invisible to CloneSquad, so restore treats it as absent: a value the document gives it
 * replaces it, with no TTL; otherwise it is left for DynamoDB's TTL to delete.
 *
 * Nothing is written for a document that is empty, or that says (by its provenance line or its S3
 * key) it is a backup of another table, group, account or region ({@link checkProvenance}).
 *
 * @example
 * const rows = (await loadBackup(s3, parseBackupSource('latest'), partition)).rows;
 * const result = await restoreTable(dynamodb, rows, { tableName, mode: 'merge', dryRun: true });
 * console.log(describePlan(result.plan).join('\n'));
 */
import { readFile } from 'node:fs/promises';
import {
  BatchWriteItemCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { listBackups, nearestArchives } from '#shared/backup/backup-catalog';
import { readProvenance, type BackupProvenance } from '#shared/backup/provenance';
import { DYNAMODB_MAX_ITEM_BYTES, dynamoDbItemBytes } from '#shared/aws/dynamodb-item-size';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { explainS3Error } from '#shared/aws/s3-objects';
import {
  archiveBackupKey,
  archiveStamp,
  latestBackupKey,
  parseArchiveStamp,
  parseBackupKey,
  type BackupTable,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import { bucketNameProblem, formatS3Path, type S3Location } from '#shared/aws/s3-path';
import { readTable } from '#shared/backup/table-reader';
import { compareCodePoints, type TableRow } from '#shared/catalog/table-rows';
import { loadBackupYaml, type LoadOptions } from '#shared/backup/yaml-codec';

export const RESTORE_MODES = ['merge', 'restore'] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

/** One row's change: `before` absent for an added row, `after` absent for a deleted one. */
export interface RowChange {
  key: string;
  before?: string;
  after?: string;
}

export interface RestorePlan {
  mode: RestoreMode;
  /** Rows to write (added or changed), in code-point order of their keys. */
  put: RowChange[];
  /** Rows to delete, in code-point order of their keys. */
  delete: RowChange[];
  /** Document keys the table already agrees with (same value, or an empty value and no row). */
  unchanged: string[];
}

const byKey = (a: RowChange, b: RowChange) => compareCodePoints(a.key, b.key);

/** What restoring `document` over the table's `current` rows changes. Pure. */
export function planRestore(current: TableRow[], document: TableRow[], mode: RestoreMode): RestorePlan {
  const live = new Map(current.map((row) => [row.key, row.value]));
  const wanted = new Map(document.map((row) => [row.key, row.value]));
  const plan: RestorePlan = { mode, put: [], delete: [], unchanged: [] };
  for (const [key, after] of wanted) {
    const before = live.get(key);
    if (after === '') {
      if (before === undefined) plan.unchanged.push(key);
      else plan.delete.push({ key, before });
    } else if (before === after) {
      plan.unchanged.push(key);
    } else {
      plan.put.push(before === undefined ? { key, after } : { key, before, after });
    }
  }
  if (mode === 'restore') {
    for (const [key, before] of live) if (!wanted.has(key)) plan.delete.push({ key, before });
  }
  plan.put.sort(byKey);
  plan.delete.sort(byKey);
  plan.unchanged.sort(compareCodePoints);
  return plan;
}

/** DynamoDB limits a document must respect to be written back. */
const MAX_KEY_BYTES = 2048;
/** With the `u` flag a well-formed pair is one code point, so only a lone half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Refuses, before anything is written, document rows that DynamoDB would refuse. */
export function checkRestorable(rows: TableRow[], source: string): void {
  for (const { key, value } of rows) {
    const where = `${source}, key ${quoteInput(key)}`;
    if (key === '') {
      throw new UserInputError(where, 'a table Key cannot be empty', 'remove that entry or give it a name');
    }
    const broken = LONE_SURROGATE.test(key) ? 'key' : LONE_SURROGATE.test(value) ? 'value' : undefined;
    if (broken) {
      throw new UserInputError(
        where,
        `its ${broken} holds a lone UTF-16 surrogate (an escape such as "\\uD83D" without its pair), which is not valid Unicode`,
        'write the whole character, or both halves of its surrogate pair',
      );
    }
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (keyBytes > MAX_KEY_BYTES) {
      throw new UserInputError(
        where,
        `the key is ${keyBytes} bytes long in UTF-8, more than the ${MAX_KEY_BYTES} DynamoDB allows`,
        'shorten the key',
      );
    }
    const itemBytes = dynamoDbItemBytes({ Key: { S: key }, Value: { S: value } });
    if (itemBytes > DYNAMODB_MAX_ITEM_BYTES) {
      throw new UserInputError(
        where,
        `the row would be ${itemBytes} bytes, more than the 400 KB a DynamoDB item may hold`,
        'shorten the value',
      );
    }
  }
}

const BATCH_SIZE = 25;
/** Rounds in a row in which DynamoDB processes nothing of a batch before restore gives up. */
const MAX_STALLED_ROUNDS = 8;

export interface AppliedRestore {
  put: number;
  deleted: number;
}

export interface ApplyOptions {
  /** Waits between retries of unprocessed items; replaced in tests. */
  sleep?: (milliseconds: number) => Promise<void>;
}

const defaultSleep = (milliseconds: number) => new Promise<void>((done) => setTimeout(done, milliseconds));

/**
 * Writes a plan: puts first, then deletes (so that an interrupted restore has lost nothing), in
 * BatchWriteItem batches of 25, resending unprocessed items with jittered exponential backoff.
 * Restoring again after a failure is safe: the plan is recomputed from what the table holds.
 */
export async function applyRestore(
  dynamodb: DynamoDBClient,
  tableName: string,
  plan: RestorePlan,
  options: ApplyOptions = {},
): Promise<AppliedRestore> {
  const sleep = options.sleep ?? defaultSleep;
  const requests: WriteRequest[] = [
    ...plan.put.map(({ key, after }) => ({ PutRequest: { Item: { Key: { S: key }, Value: { S: after! } } } })),
    ...plan.delete.map(({ key }) => ({ DeleteRequest: { Key: { Key: { S: key } } } })),
  ];
  const applied: AppliedRestore = { put: 0, deleted: 0 };
  const puts = (batch: WriteRequest[]) => batch.filter((request) => request.PutRequest).length;
  try {
    for (let start = 0; start < requests.length; start += BATCH_SIZE) {
      let pending = requests.slice(start, start + BATCH_SIZE);
      let stalled = 0;
      while (pending.length > 0) {
        const response = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
        const unprocessed = response.UnprocessedItems?.[tableName] ?? [];
        applied.put += puts(pending) - puts(unprocessed);
        applied.deleted += pending.length - puts(pending) - (unprocessed.length - puts(unprocessed));
        stalled = unprocessed.length < pending.length ? 0 : stalled + 1;
        if (stalled >= MAX_STALLED_ROUNDS) {
          throw new Error(`DynamoDB left ${unprocessed.length} writes unprocessed ${stalled} times in a row`);
        }
        if (unprocessed.length > 0) await sleep(Math.random() * Math.min(5000, 50 * 2 ** (stalled + 1)));
        pending = unprocessed;
      }
    }
  } catch (error) {
    const written = `${applied.put} of ${plan.put.length} writes and ${applied.deleted} of ${plan.delete.length} deletes done`;
    throw new Error(
      `restore of table ${quoteInput(tableName)} stopped (${written}): ${(error as Error).message}. ` +
        'Run the same restore again: it only writes what still differs',
      { cause: error },
    );
  }
  return applied;
}

// --- Where the document comes from -------------------------------------------------------------

export type BackupSource =
  | { kind: 's3'; bucket: string; key: string }
  | { kind: 'file'; path: string }
  | { kind: 'latest' }
  | { kind: 'archive'; stamp: string };

const SOURCE_FIX =
  'give s3://bucket/key, the path of a local file, latest, or archive STAMP (npm run backups -- list shows the stamps)';

/**
 * Reads a `--from` value: `s3://bucket/key`, `latest`, `archive STAMP` (also `archive:STAMP`), or
 * else a local file (write `./latest` for a file of that name). STAMP is `YYYYMMDDTHHMMSSmmmZ`, or
 * an ISO 8601 date-time that gives it.
 */
export function parseBackupSource(from: string): BackupSource {
  const text = from.trim();
  if (text === '') throw new UserInputError('--from ""', 'it is empty', SOURCE_FIX);
  if (text === 'latest') return { kind: 'latest' };
  const archive = /^archive(?:[\s:=]+(.*))?$/s.exec(text);
  if (archive) return { kind: 'archive', stamp: parseStampArgument(archive[1]?.trim() ?? '') };
  if (/^s3:\/\//i.test(text)) {
    const match = /^s3:\/\/([^/]*)\/(.*)$/.exec(text);
    const bucket = match?.[1] ?? text.slice(5);
    const problem = bucketNameProblem(bucket);
    if (problem)
      throw new UserInputError(
        `--from ${quoteInput(text)}`,
        `the bucket name ${quoteInput(bucket)} ${problem}`,
        SOURCE_FIX,
      );
    if (!match || match[2] === '' || match[2].endsWith('/')) {
      throw new UserInputError(
        `--from ${quoteInput(text)}`,
        'it names no object key',
        'give the whole key of a backup object',
      );
    }
    return { kind: 's3', bucket, key: match[2] };
  }
  return { kind: 'file', path: from };
}

function parseStampArgument(stamp: string): string {
  if (stamp === '') {
    throw new UserInputError(
      '--from archive',
      'the archive STAMP is missing',
      'write it as archive 20240601T100000123Z',
    );
  }
  if (parseArchiveStamp(stamp)) return stamp;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/.test(stamp)) {
    const date = new Date(stamp);
    if (!Number.isNaN(date.getTime())) return archiveStamp(date);
  }
  throw new UserInputError(
    `--from archive ${stamp}`,
    'the stamp is neither YYYYMMDDTHHMMSSmmmZ (UTC) nor an ISO 8601 date-time with a zone',
    'copy the stamp from npm run backups -- list, for example 20240601T100000123Z',
  );
}

/** The partition `latest` and `archive STAMP` refer to. */
export interface BackupPartition {
  root: S3Location;
  identity: PartitionIdentity;
  table: BackupTable;
}

export interface LoadedBackup {
  /** Where the document was read, as a user writes it (`s3://…` or the file path). */
  location: string;
  /** The object's key, when it was read from S3. */
  s3Key?: string;
  bytes: number;
  rows: TableRow[];
  /** What the document says it is a backup of: by its provenance line, and by its S3 key. */
  claims: ProvenanceClaim[];
}

export interface ProvenanceClaim {
  origin: 'its first line' | 'its S3 key';
  provenance: BackupProvenance;
}

/** Reads and parses the backup document a source names, with a clear error when there is none. */
export async function loadBackup(
  s3: S3Client,
  source: BackupSource,
  partition?: BackupPartition,
  options: LoadOptions = {},
): Promise<LoadedBackup> {
  const body = await readSource(s3, source, partition);
  const { location, s3Key } = body;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body.bytes);
  } catch {
    throw new UserInputError(location, 'it is not UTF-8 text', 'restore a backup YAML file this service wrote');
  }
  // The key first: it is what the operator named.
  const claims: ProvenanceClaim[] = [];
  const keyParts = s3Key === undefined ? undefined : parseBackupKey(s3Key);
  if (keyParts) claims.push({ origin: 'its S3 key', provenance: { table: keyParts.table, ...keyParts.identity } });
  const stated = readProvenance(text, location);
  if (stated) claims.push({ origin: 'its first line', provenance: stated });
  const rows = loadBackupYaml(text, location, options);
  checkRestorable(rows, location);
  return { location, ...(s3Key === undefined ? {} : { s3Key }), bytes: body.bytes.byteLength, rows, claims };
}

/** What a restore writes, to compare with what the document says it is a backup of. */
export interface RestoreTarget {
  table: BackupTable;
  groupName: string;
  region: string;
  /** Compared only when known. */
  accountId?: string;
}

const CHECKED_FIELDS: [field: keyof BackupProvenance, label: string, option: string][] = [
  ['table', 'table', '--table'],
  ['groupName', 'group', '--group'],
  ['accountId', 'account', '--account'],
  ['region', 'region', '--region'],
];

/**
 * Refuses a document that says it is a backup of another table, group, account or region than the
 * one restored, unless `force`. Answers what to tell the operator besides: a mismatch forced through,
 * or a document that says nothing of where it comes from (written by hand).
 */
export function checkProvenance(backup: LoadedBackup, target: RestoreTarget, force: boolean): string[] {
  if (backup.claims.length === 0) {
    const key = backup.s3Key === undefined ? '' : ', and not a backup key';
    return [
      `note: ${backup.location} does not say what it is a backup of (no "# clonesquad-backup" first line${key}); ` +
        'restoring it without checking its table and group',
    ];
  }
  for (const { origin, provenance } of backup.claims) {
    const differing = CHECKED_FIELDS.filter(
      ([field]) => target[field] !== undefined && provenance[field] !== target[field],
    );
    if (differing.length === 0) continue;
    const side = (values: Partial<BackupProvenance>) =>
      differing.map(([field, label]) => `${label} ${shownName(values[field]!)}`).join(', ');
    const problem = `it is a backup of ${side(provenance)} (${origin} says so), but this restore writes ${side(target)}`;
    if (force) return [`warning: ${backup.location}: ${problem}; restoring it anyway (--force)`];
    const options = differing.map(([, , option]) => option);
    const named = options.length === 1 ? options[0] : `${options.slice(0, -1).join(', ')} and ${options.at(-1)}`;
    throw new UserInputError(
      backup.location,
      problem,
      `check ${named} (and --from), or pass --force to restore it anyway`,
    );
  }
  return [];
}

/** A table, group, account or region name: as it is when it is one, quoted when it is anything else. */
function shownName(name: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(name) ? name : quoteInput(name);
}

async function readSource(
  s3: S3Client,
  source: BackupSource,
  partition?: BackupPartition,
): Promise<{ location: string; s3Key?: string; bytes: Uint8Array }> {
  switch (source.kind) {
    case 'file':
      return { location: source.path, bytes: await readLocalFile(source.path) };
    case 's3':
      return readS3(s3, source.bucket, source.key, () => undefined);
    case 'latest': {
      const { root, identity, table } = requirePartition(partition, source.kind);
      return readS3(s3, root.bucket, latestBackupKey(root, identity, table), (location) => {
        throw new UserInputError(
          location,
          `no latest ${table} backup exists for group ${identity.groupName} in account ${identity.accountId}, region ${identity.region}`,
          'check --group, --account, --region and --s3-path (npm run backups -- list shows what exists), or run a backup first',
        );
      });
    }
    case 'archive': {
      const { root, identity, table } = requirePartition(partition, source.kind);
      return readS3(s3, root.bucket, archiveBackupKey(root, identity, table, source.stamp), async (location) => {
        const [{ archives }] = await listBackups(s3, root, identity, [table]);
        const nearest = nearestArchives(archives, parseArchiveStamp(source.stamp)!).map((archive) => archive.stamp);
        throw new UserInputError(
          location,
          `no ${table} archive has the stamp ${source.stamp}`,
          nearest.length > 0
            ? `use one of the nearest existing archives: ${nearest.join(', ')}`
            : `this partition has no ${table} archive at all; check --group, --account, --region and --s3-path`,
        );
      });
    }
  }
}

function requirePartition(partition: BackupPartition | undefined, kind: string): BackupPartition {
  if (!partition) throw new Error(`loadBackup: a "${kind}" source needs the backup partition`);
  return partition;
}

async function readLocalFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserInputError(`--from ${path}`, 'no such file exists', SOURCE_FIX);
    if (code === 'EISDIR') throw new UserInputError(`--from ${path}`, 'it is a directory, not a file', SOURCE_FIX);
    throw error;
  }
}

async function readS3(
  s3: S3Client,
  bucket: string,
  key: string,
  onMissing: (location: string) => void | Promise<void>,
): Promise<{ location: string; s3Key: string; bytes: Uint8Array }> {
  const location = formatS3Path({ bucket, prefix: key });
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { location, s3Key: key, bytes: await response.Body!.transformToByteArray() };
  } catch (error) {
    if (error instanceof S3ServiceException && error.name === 'NoSuchKey') {
      await onMissing(location);
      throw new UserInputError(
        location,
        'no such object exists',
        'check the key (npm run backups -- list shows the backups of a group)',
      );
    }
    throw explainS3Error(error, bucket, key);
  }
}

// --- Restoring -----------------------------------------------------------------------------------

export interface RestoreOptions {
  tableName: string;
  mode: RestoreMode;
  dryRun: boolean;
  /** How the user named the table, for error messages (default `table "NAME"`). */
  tableLabel?: string;
  now?: Date;
  /**
   * Called with the plan before anything is written, to show what is about to change; answers
   * whether to write it (nothing is written on `false`).
   */
  beforeWrite?: (plan: RestorePlan) => boolean | Promise<boolean>;
  apply?: ApplyOptions;
}

export interface RestoreResult {
  plan: RestorePlan;
  /** What was written; absent on a dry run, or when `beforeWrite` declined. */
  applied?: AppliedRestore;
  /** Table rows that were not read (no string Value…), so left untouched unless the document has them. */
  warnings: string[];
  expired: ExpiredRows;
}

/** Keys of the rows past their TTL, by what restore does with them. */
export interface ExpiredRows {
  /** The document gives them a value, which replaces them (with no TTL). */
  replaced: string[];
  /** The document gives them an empty value: nothing to write, DynamoDB's TTL deletes them. */
  emptied: string[];
  /** The document does not name them: left for DynamoDB's TTL to delete, in either mode. */
  unnamed: string[];
}

function classifyExpired(expiredKeys: string[], document: TableRow[]): ExpiredRows {
  const wanted = new Map(document.map((row) => [row.key, row.value]));
  const expired: ExpiredRows = { replaced: [], emptied: [], unnamed: [] };
  for (const key of [...expiredKeys].sort(compareCodePoints)) {
    const value = wanted.get(key);
    (value === undefined ? expired.unnamed : value === '' ? expired.emptied : expired.replaced).push(key);
  }
  return expired;
}

/** Compares `document` with the table, and unless it is a dry run, writes the differences. */
export async function restoreTable(
  dynamodb: DynamoDBClient,
  document: TableRow[],
  options: RestoreOptions,
): Promise<RestoreResult> {
  await requireCloneSquadTable(
    dynamodb,
    options.tableName,
    options.tableLabel ?? `table ${quoteInput(options.tableName)}`,
  );
  const contents = await readTable(dynamodb, {
    tableName: options.tableName,
    parameterName: 'table',
    now: options.now,
  });
  const plan = planRestore(contents.rows, document, options.mode);
  const result: RestoreResult = {
    plan,
    warnings: contents.warnings,
    expired: classifyExpired(contents.expiredKeys, document),
  };
  const proceed = (await options.beforeWrite?.(plan)) ?? true;
  if (!options.dryRun && proceed) result.applied = await applyRestore(dynamodb, options.tableName, plan, options.apply);
  return result;
}

/** Refuses a table that does not exist, or whose key is not CloneSquad's `Key` (S). */
async function requireCloneSquadTable(dynamodb: DynamoDBClient, tableName: string, label: string): Promise<void> {
  let keySchema;
  let attributes;
  try {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    keySchema = Table?.KeySchema ?? [];
    attributes = Table?.AttributeDefinitions ?? [];
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    throw new UserInputError(
      label,
      'no DynamoDB table of that name exists in this account and region',
      'check --group and --region (AWS_REGION), or name the table with --table-name',
    );
  }
  const hashKey = keySchema.length === 1 && keySchema[0].KeyType === 'HASH' ? keySchema[0].AttributeName : undefined;
  const type = attributes.find((attribute) => attribute.AttributeName === hashKey)?.AttributeType;
  if (hashKey !== 'Key' || type !== 'S') {
    throw new UserInputError(
      label,
      'it is not a CloneSquad table (its only key must be the string hash key "Key")',
      'name the Configuration or Scheduler table of the CloneSquad deployment',
    );
  }
}

// --- Showing a plan ------------------------------------------------------------------------------

/** Counts of a plan, for one summary line. */
export function planCounts(plan: RestorePlan) {
  const changed = plan.put.filter((change) => change.before !== undefined).length;
  return {
    added: plan.put.length - changed,
    changed,
    deleted: plan.delete.length,
    unchanged: plan.unchanged.length,
  };
}

/** The diff, one line per row: `+ key = new`, `~ key: old → new`, `- key (was old)`. */
export function describePlan(plan: RestorePlan): string[] {
  const lines = [
    ...plan.put.map(({ key, before, after }) =>
      before === undefined
        ? `+ ${quoteInput(key)} = ${quoteInput(after!)}`
        : `~ ${quoteInput(key)}: ${quoteInput(before)} → ${quoteInput(after!)}`,
    ),
    ...plan.delete.map(({ key, before }) => `- ${quoteInput(key)} (was ${quoteInput(before!)})`),
  ];
  const { added, changed, deleted, unchanged } = planCounts(plan);
  lines.push(`${added} to add, ${changed} to change, ${deleted} to delete, ${unchanged} unchanged (${plan.mode} mode)`);
  return lines;
}
