/**
 * The backups of one deployment (docs/reference/s3-layout.md): its `latest-` objects and time-stamped archives, found by
 * one paginated listing of the partition's backup folder and recognised by the keys of
 * shared/s3-layout.ts, the only place that knows them.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { explainS3Error, headObject } from '#shared/aws/s3-objects';
import {
  backupFolder,
  BACKUP_TABLES,
  LATEST_ARCHIVE_STAMP_METADATA,
  parseArchiveStamp,
  parseBackupKey,
  type BackupTable,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';

export interface BackupObject {
  table: BackupTable;
  key: string;
  bytes: number;
  etag: string;
  lastModified?: Date;
}

export interface ArchiveObject extends BackupObject {
  stamp: string;
  /** The execution start the stamp records. */
  time: Date;
}

export interface LatestObject extends BackupObject {
  /** Stamp of the archive whose content `latest-` holds, when one does. */
  matchesArchive?: string;
}

export interface TableBackups {
  table: BackupTable;
  latest?: LatestObject;
  /** Newest first. */
  archives: ArchiveObject[];
}

/**
 * Lists the backups of `tables` in the partition, each table's archives newest first, and tells
 * which archive each `latest-` holds.
 */
export async function listBackups(
  s3: S3Client,
  root: S3Location,
  id: PartitionIdentity,
  tables: readonly BackupTable[] = BACKUP_TABLES,
): Promise<TableBackups[]> {
  const result = tables.map((table): TableBackups => ({ table, archives: [] }));
  const prefix = `${backupFolder(root, id)}/`;
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: root.bucket, Prefix: prefix })) {
      for (const object of page.Contents ?? []) {
        const key = object.Key!;
        const parts = parseBackupKey(key);
        // A backup key of another partition, nested deeper under this folder, parses too.
        if (!parts || backupFolder({ ...root, prefix: parts.prefix }, parts.identity) !== backupFolder(root, id)) {
          continue;
        }
        const entry = result.find((candidate) => candidate.table === parts.table);
        if (!entry) continue;
        const { table } = entry;
        const listed = {
          table,
          key,
          bytes: object.Size ?? 0,
          etag: object.ETag ?? '',
          lastModified: object.LastModified,
        };
        if (parts.stamp === undefined) entry.latest = listed;
        else entry.archives.push({ ...listed, stamp: parts.stamp, time: parseArchiveStamp(parts.stamp)! });
      }
    }
  } catch (error) {
    throw explainS3Error(error, root.bucket, prefix);
  }
  for (const entry of result) {
    // Stamps sort chronologically as text.
    entry.archives.sort((a, b) => (a.stamp < b.stamp ? 1 : a.stamp > b.stamp ? -1 : 0));
    if (entry.latest) {
      const stamp =
        (await recordedArchive(s3, root.bucket, entry.latest, entry.archives)) ??
        (await matchingArchive(s3, root.bucket, entry.latest, entry.archives));
      if (stamp) entry.latest.matchesArchive = stamp;
    }
  }
  return result;
}

/**
 * The stamp of the archive `latest-` records it was copied from when it was written, if that archive
 * is listed with the same size. A `latest-` written by an earlier version or by CloneSquad itself
 * records none, and is matched by content instead.
 */
async function recordedArchive(
  s3: S3Client,
  bucket: string,
  latest: BackupObject,
  archives: ArchiveObject[],
): Promise<string | undefined> {
  const head = await headObject(s3, bucket, latest.key);
  if (head.found === 'refused') throw head.error;
  const stamp = head.found === 'object' ? head.metadata[LATEST_ARCHIVE_STAMP_METADATA] : undefined;
  return archives.find((archive) => archive.stamp === stamp && archive.bytes === latest.bytes)?.stamp;
}

/** At most this many same-size archives are downloaded and hashed when no ETag matches. */
const MAX_HASHED_CANDIDATES = 20;

/**
 * The stamp of the archive `latest-` is a copy of. A server-side copy keeps the ETag unless SSE-KMS
 * is in use; then archives of the same size are compared by SHA-256 of their content, newest first.
 * Of several identical archives, the newest one not younger than `latest-` is named.
 */
export async function matchingArchive(
  s3: S3Client,
  bucket: string,
  latest: BackupObject,
  archives: ArchiveObject[],
): Promise<string | undefined> {
  const notAfterLatest = (archive: ArchiveObject) =>
    !latest.lastModified || archive.time.getTime() <= latest.lastModified.getTime() + 1000;
  const sameSize = archives.filter((archive) => archive.bytes === latest.bytes);
  const ordered = [...sameSize.filter(notAfterLatest), ...sameSize.filter((archive) => !notAfterLatest(archive))];
  const byEtag = ordered.find((archive) => latest.etag !== '' && archive.etag === latest.etag);
  if (byEtag) return byEtag.stamp;
  if (ordered.length === 0) return undefined;
  const latestHash = await contentHash(s3, bucket, latest.key);
  for (const archive of ordered.slice(0, MAX_HASHED_CANDIDATES)) {
    if ((await contentHash(s3, bucket, archive.key)) === latestHash) return archive.stamp;
  }
  return undefined;
}

async function contentHash(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return createHash('sha256')
      .update(await response.Body!.transformToByteArray())
      .digest('hex');
  } catch (error) {
    throw explainS3Error(error, bucket, key);
  }
}

/** The `count` archives closest in time to `time`, closest first. */
export function nearestArchives(archives: ArchiveObject[], time: Date, count = 5): ArchiveObject[] {
  const distance = (archive: ArchiveObject) => Math.abs(archive.time.getTime() - time.getTime());
  return [...archives].sort((a, b) => distance(a) - distance(b)).slice(0, count);
}
