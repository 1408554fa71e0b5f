/**
 * When a group's stack is deleted, its rows leave the CMDB: every object of its partition of every
 * metadata table is deleted (the partitions stay in the catalog, empty). Its backups are never
 * touched: they are kept for as long as the bucket's retention says.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { METADATA_TABLES, metadataPartitionFolder, type PartitionIdentity } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { deleteKeys, listFolder } from '#shared/metadata/jsonl-writer';

/** Deletes the group's metadata objects; answers the keys deleted. */
export async function removeGroupMetadata(
  s3: S3Client,
  destination: S3Location,
  identity: PartitionIdentity,
): Promise<string[]> {
  const removed: string[] = [];
  for (const table of METADATA_TABLES) {
    const keys = await listFolder(s3, destination.bucket, metadataPartitionFolder(destination, identity, table));
    await deleteKeys(s3, destination.bucket, keys);
    removed.push(...keys);
  }
  return removed;
}
