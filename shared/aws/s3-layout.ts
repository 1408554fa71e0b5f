/**
 * The S3 key layout (docs/reference/s3-layout.md). Every writer, reader and test derives its keys from here.
 */
import type { S3Location } from '#shared/aws/s3-path';
import { quoteInput } from '#shared/aws/errors';

/** The three values that place a deployment's objects in the org-wide bucket. */
export interface PartitionIdentity {
  accountId: string;
  region: string;
  groupName: string;
}

export const BACKUP_TABLES = ['configuration', 'scheduler'] as const;
export type BackupTable = (typeof BACKUP_TABLES)[number];

export const METADATA_TABLES = [
  'discovery',
  'configuration',
  'scheduler',
  'instances',
  'volumes',
  'maintenance-windows',
] as const;
export type MetadataTable = (typeof METADATA_TABLES)[number];

/** Hive-style partition path: `accountid=A/region=R/groupname=G`. */
export function partitionPath({ accountId, region, groupName }: PartitionIdentity): string {
  return `accountid=${accountId}/region=${region}/groupname=${groupName}`;
}

function joinKey(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

/** `A-R-{table}-cs-G`, the stem every file name of a partition shares. */
function fileStem(id: PartitionIdentity, table: string): string {
  return `${id.accountId}-${id.region}-${table}-cs-${id.groupName}`;
}

/** Folder of every deployment's backups: `P/backups`. */
export function backupsFolder(root: S3Location): string {
  return joinKey(root.prefix, 'backups');
}

/** Folder holding a deployment's backups: `P/backups/{part}`. */
export function backupFolder(root: S3Location, id: PartitionIdentity): string {
  return `${backupsFolder(root)}/${partitionPath(id)}`;
}

export function latestBackupKey(root: S3Location, id: PartitionIdentity, table: BackupTable): string {
  return `${backupFolder(root, id)}/latest-${fileStem(id, table)}.yaml`;
}

/**
 * User metadata of `latest-` (`x-amz-meta-archive-stamp`): the stamp of the archive whose content it
 * holds, so that `latest-` is only ever moved to a newer archive.
 */
export const LATEST_ARCHIVE_STAMP_METADATA = 'archive-stamp';

/**
 * User metadata of archives and `latest-` (`x-amz-meta-content-sha256`): the SHA-256 (hex) of the
 * backup's bytes, so that a run can tell from one HEAD of `latest-` that its table has not changed.
 */
export const CONTENT_SHA256_METADATA = 'content-sha256';

/**
 * The tag every archive is written with: the central bucket's retention rule expires archives by it,
 * since no key prefix tells archives from `latest-` copies across partitions.
 */
export const ARCHIVE_TAG = { key: 'clonesquad-backup', value: 'archive' } as const;

export function archiveBackupKey(root: S3Location, id: PartitionIdentity, table: BackupTable, stamp: string): string {
  return `${backupFolder(root, id)}/archive/${stamp}-${fileStem(id, table)}.yaml`;
}

/** Folder of every metadata table: `P/metadata`. */
export function metadataFolder(root: S3Location): string {
  return joinKey(root.prefix, 'metadata');
}

/** Folder of one metadata table, the Athena table's LOCATION: `P/metadata/{table}`. */
export function metadataTableFolder(root: S3Location, table: MetadataTable): string {
  return `${metadataFolder(root)}/${table}`;
}

/** Folder of one partition of one metadata table. */
export function metadataPartitionFolder(root: S3Location, id: PartitionIdentity, table: MetadataTable): string {
  return `${metadataTableFolder(root, table)}/${partitionPath(id)}`;
}

/**
 * Where writers say they created a partition folder, for the catalog's account to register it (its
 * crawler starts on these keys). Beside the tables' folders, never inside one: Athena and the crawler
 * never read them.
 */
export function newPartitionsFolder(root: S3Location): string {
  return `${metadataFolder(root)}/_new-partitions`;
}

/** The marker of one new partition of one table. */
export function newPartitionMarkerKey(root: S3Location, id: PartitionIdentity, table: MetadataTable): string {
  return `${newPartitionsFolder(root)}/${partitionPath(id)}/${table}`;
}

export function metadataKey(root: S3Location, id: PartitionIdentity, table: MetadataTable): string {
  return `${metadataPartitionFolder(root, id, table)}/${fileStem(id, table)}.json.gz`;
}

/**
 * Archive time stamp: the UTC instant as `YYYYMMDDTHHMMSSmmmZ` (no spaces, colons or `+`, so it is
 * safe in a key and sorts chronologically).
 */
export function archiveStamp(instant: Date | string): string {
  const date = typeof instant === 'string' ? new Date(instant) : instant;
  if (Number.isNaN(date.getTime())) {
    throw new RangeError(`archiveStamp: ${quoteInput(String(instant))} is not a valid date-time`);
  }
  return date.toISOString().replace(/[-:]/g, '').replace('.', '');
}

/** Inverse of {@link archiveStamp}, for listing archives. */
export function parseArchiveStamp(stamp: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
}

/** What a backup key names: the inverse of {@link latestBackupKey} and {@link archiveBackupKey}. */
export interface BackupKeyParts {
  /** The root's prefix (the bucket is not part of a key). */
  prefix: string;
  identity: PartitionIdentity;
  table: BackupTable;
  /** Archives only. */
  stamp?: string;
}

const PARTITION_FIELDS = ['accountid=', 'region=', 'groupname='] as const;

/**
 * Reads a key the backup builders make, or answers `undefined` for any other key. The partition
 * folder is read from the end of the key (the prefix may hold anything), and the answer is checked by
 * building the key again from it, so only the builders' own output is ever read.
 */
export function parseBackupKey(key: string): BackupKeyParts | undefined {
  const segments = key.split('/');
  const fileName = segments[segments.length - 1];
  const stamped = segments[segments.length - 2] === 'archive';
  const folderEnd = segments.length - (stamped ? 2 : 1);
  const folderStart = folderEnd - 4;
  if (folderStart < 0 || segments[folderStart] !== 'backups') return undefined;
  const fields = segments.slice(folderStart + 1, folderEnd);
  if (!fields.every((field, index) => field.startsWith(PARTITION_FIELDS[index]))) return undefined;
  const [accountId, region, groupName] = fields.map((field, index) => field.slice(PARTITION_FIELDS[index].length));
  const identity = { accountId, region, groupName };
  const root = { bucket: '', prefix: segments.slice(0, folderStart).join('/') };
  for (const table of BACKUP_TABLES) {
    const suffix = `-${fileStem(identity, table)}.yaml`;
    if (!stamped) {
      if (latestBackupKey(root, identity, table) === key) return { prefix: root.prefix, identity, table };
      continue;
    }
    const stamp = fileName.endsWith(suffix) ? fileName.slice(0, -suffix.length) : undefined;
    if (stamp !== undefined && parseArchiveStamp(stamp) && archiveBackupKey(root, identity, table, stamp) === key) {
      return { prefix: root.prefix, identity, table, stamp };
    }
  }
  return undefined;
}
