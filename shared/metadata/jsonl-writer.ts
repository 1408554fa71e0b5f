/**
 * Writes one CMDB table's partition (docs/reference/s3-layout.md): records streamed as gzip JSON Lines into the one
 * current object of the partition, then every other object of that partition folder deleted so that
 * Athena never reads a row twice. Memory stays bounded by one upload part, whatever the number of
 * records.
 */
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DeleteObjectsCommand, PutObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { Deployment } from '#shared/run/deployment';
import { requireDestination } from '#shared/run/deployment';
import { explainS3Error, headObject } from '#shared/aws/s3-objects';
import { streamedObject } from '#shared/aws/s3-streamed-object';
import type { S3Location } from '#shared/aws/s3-path';
import { metadataKey, metadataPartitionFolder, newPartitionMarkerKey, type MetadataTable } from '#shared/aws/s3-layout';
import type { PartResult } from '#shared/run/summary';
import { partitionColumnCollision, recordJson } from '#shared/metadata/records';

export interface MetadataPartResult extends PartResult {
  /** The partition folder held no object before this write: the catalog may not know it yet. */
  newPartition: boolean;
}

/** Characters of JSON Lines handed to gzip at once (UTF-16 units; the batch stays well under 1 MB). */
const GZIP_BATCH_CHARS = 256 * 1024;

export function metadataPartName(table: MetadataTable): string {
  return `metadata/${table}`;
}

export async function listFolder(s3: S3Client, bucket: string, folder: string): Promise<string[]> {
  const keys: string[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: `${folder}/` })) {
      for (const object of page.Contents ?? []) keys.push(object.Key!);
    }
  } catch (error) {
    // The first call a metadata part makes: a missing bucket or a refused grant shows up here.
    throw explainS3Error(error, bucket, `${folder}/`);
  }
  return keys;
}

export async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 1000) {
    const batch = keys.slice(start, start + 1000);
    const response = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
    );
    if (response.Errors?.length) {
      const first = response.Errors[0];
      throw new Error(
        `could not delete ${response.Errors.length} stale object(s), first ${first.Key}: ${first.Code} ${first.Message}`,
      );
    }
  }
}

/** One partition object being written (see {@link openMetadataTable}). */
export interface MetadataTableWriter {
  /** Adds a record; wait for it before the next one, so that memory stays bounded. */
  write(record: object): Promise<void>;
  /** Completes the object, then deletes every other object of the partition folder. */
  end(): Promise<MetadataPartResult>;
  /** Gives the object up: the partition keeps what it held. */
  abort(): Promise<void>;
}

/**
 * The objects of the partition folder before this write. Once this service has written its object,
 * the folder holds only that one (nothing else writes there: CloneSquad's own export, were it pointed
 * here, makes the group skipped), so one HEAD of it (a GET-class request, a twelfth of a LIST's price)
 * says so; only a first write, or one after someone else's, lists the folder to sweep it.
 */
async function partitionObjects(s3: S3Client, bucket: string, folder: string, key: string): Promise<string[]> {
  const head = await headObject(s3, bucket, key);
  if (head.found === 'object') return [key];
  return listFolder(s3, bucket, folder);
}

/**
 * Says that this write created a partition folder, for the catalog's account (its crawler starts on
 * these keys, which it may read across accounts where this deployment cannot start its crawler).
 */
async function markNewPartition(
  s3: S3Client,
  deployment: Deployment,
  destination: S3Location,
  table: MetadataTable,
): Promise<void> {
  const key = newPartitionMarkerKey(destination, deployment, table);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: destination.bucket,
        Key: key,
        Body: '',
        // An empty body sets no Content-Length of its own, and S3's SDK warns about every such request.
        ContentLength: 0,
        ContentType: 'text/plain',
        ACL: 'bucket-owner-full-control',
        ...(deployment.kmsKeyArn ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: deployment.kmsKeyArn } : {}),
      }),
    );
  } catch (error) {
    throw explainS3Error(error, destination.bucket, key);
  }
}

/**
 * Starts the partition object of `table`, to be fed record by record: for exporters that write
 * several tables from one read. A failure before {@link MetadataTableWriter.end} completes leaves
 * the previous object in place: S3 only exposes an object once it is whole. A `write` or `end` that
 * fails has given the object up already.
 */
export async function openMetadataTable(
  s3: S3Client,
  deployment: Deployment,
  table: MetadataTable,
): Promise<MetadataTableWriter> {
  const destination = requireDestination(deployment);
  const folder = metadataPartitionFolder(destination, deployment, table);
  const key = metadataKey(destination, deployment, table);
  const before = await partitionObjects(s3, destination.bucket, folder, key);

  const gzip = createGzip();
  let compressedBytes = 0;
  gzip.on('data', (chunk: Buffer) => (compressedBytes += chunk.length));
  const object = streamedObject(s3, {
    Bucket: destination.bucket,
    Key: key,
    ContentType: 'application/json',
    ACL: 'bucket-owner-full-control',
    ...(deployment.kmsKeyArn ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: deployment.kmsKeyArn } : {}),
  });
  // Closed once the object is written or given up (its multipart upload aborted).
  const objectClosed = new Promise((resolve) => object.once('close', resolve));
  const uploaded = pipeline(gzip, object);
  // The upload only settles once the body ends; keep a failure from surfacing as unhandled meanwhile.
  uploaded.catch(() => undefined);

  let count = 0;
  // Lines go to gzip in batches: one write per record costs a round trip to zlib's thread each.
  let batch = '';
  const flush = async () => {
    const full = !gzip.write(batch);
    batch = '';
    // A failed upload stops reading the body, so gzip would never drain: wait for either.
    if (full) await Promise.race([once(gzip, 'drain'), uploaded]);
  };
  // Every caller of abort waits for the same end: the object closed, its multipart upload aborted.
  let aborting: Promise<void> | undefined;
  const abort = () =>
    (aborting ??= (async () => {
      gzip.destroy();
      object.destroy();
      await objectClosed;
    })());
  const failed = async (error: unknown) => {
    await abort();
    return explainS3Error(error, destination.bucket, key);
  };

  return {
    async write(record) {
      try {
        const collision = partitionColumnCollision(record);
        if (collision) throw new Error(`${table} record field "${collision}" collides with a partition column`);
        batch += `${recordJson(record)}\n`;
        count += 1;
        if (batch.length >= GZIP_BATCH_CHARS) await flush();
      } catch (error) {
        throw await failed(error);
      }
    },
    async end() {
      try {
        if (batch !== '') await flush();
        gzip.end();
        await uploaded;
      } catch (error) {
        throw await failed(error);
      }
      const stale = before.filter((existing) => existing !== key);
      await deleteKeys(s3, destination.bucket, stale);
      const newPartition = before.length === 0;
      if (newPartition) await markNewPartition(s3, deployment, destination, table);
      return {
        part: metadataPartName(table),
        status: 'ok',
        keys: [key],
        records: count,
        bytes: compressedBytes,
        newPartition,
        ...(stale.length > 0
          ? { warnings: [`deleted ${stale.length} other object(s) from the partition folder`] }
          : {}),
      };
    },
    abort,
  };
}

/**
 * Streams `records` into the partition object of `table`. A failure before the upload completes
 * leaves the previous object in place: S3 only exposes an object once it is whole.
 */
export async function writeMetadataTable(
  s3: S3Client,
  deployment: Deployment,
  table: MetadataTable,
  records: AsyncIterable<object> | Iterable<object>,
): Promise<MetadataPartResult> {
  const writer = await openMetadataTable(s3, deployment, table);
  try {
    for await (const record of records) await writer.write(record);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.end();
}
