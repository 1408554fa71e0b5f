/**
 * In-process AWS for the throughput, memory and API-call figures: SDK clients whose `send` is
 * answered by aws-sdk-client-mock from generated pages, honouring the limits AWS applies (pages of
 * at most 1,000 instances, 1 MB Scan pages), and an S3 that consumes every body it is sent.
 */
import { Readable } from 'node:stream';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { generateInstance, generateInstanceType, generateRow, itemSize, rowItem, volumeFromId } from '#bench/fixtures';

const REGION = { region: 'eu-west-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
/** DescribeInstances returns at most this many instances per call. */
export const EC2_MAX_RESULTS = 1000;
/** A Scan page stops once it has read 1 MB of items. */
export const SCAN_PAGE_BYTES = 1024 * 1024;

export type CallCounts = Record<string, number>;

/**
 * The mock (sinon) keeps every call's input and answer; an answer is a whole page of instances, so
 * without this the memory figure would measure the mock. Calls are counted apart, by {@link counter}.
 */
function forgetPastCalls(mock: { resetHistory(): unknown }): void {
  // Not while the stub is invoking (sinon refuses): right after this call has been recorded.
  queueMicrotask(() => mock.resetHistory());
}

function counter() {
  const counts: CallCounts = {};
  return { counts, count: (name: string) => (counts[name] = (counts[name] ?? 0) + 1) };
}

/**
 * EC2 answering for a fleet of `size` instances, one reservation each, `VOLUMES_PER_INSTANCE`
 * volumes each, of the types of INSTANCE_TYPES.
 */
export function mockedEc2(size: number) {
  const ec2 = new EC2Client(REGION);
  const { counts, count } = counter();
  const mock = mockClient(ec2);
  mock
    .on(DescribeInstancesCommand)
    .callsFake((input: { MaxResults?: number; NextToken?: string; Filters?: unknown[] }) => {
      forgetPastCalls(mock);
      count('DescribeInstances');
      if (!input.Filters?.length) throw new Error('DescribeInstances without filters would read every instance');
      const start = Number(input.NextToken ?? 0);
      const end = Math.min(size, start + Math.min(input.MaxResults ?? EC2_MAX_RESULTS, EC2_MAX_RESULTS));
      const Reservations = [];
      for (let index = start; index < end; index += 1) {
        Reservations.push({
          ReservationId: `r-0${index.toString(16)}`,
          OwnerId: '123456789012',
          Instances: [generateInstance(index)],
        });
      }
      return { Reservations, NextToken: end < size ? String(end) : undefined };
    });
  mock.on(DescribeInstanceTypesCommand).callsFake((input: { InstanceTypes?: string[] }) => {
    forgetPastCalls(mock);
    count('DescribeInstanceTypes');
    return { InstanceTypes: (input.InstanceTypes ?? []).map(generateInstanceType) };
  });
  mock.on(DescribeVolumesCommand).callsFake((input: { VolumeIds?: string[] }) => {
    forgetPastCalls(mock);
    count('DescribeVolumes');
    return { Volumes: (input.VolumeIds ?? []).map(volumeFromId) };
  });
  return { ec2, counts };
}

/** DynamoDB answering a Scan of a table of `size` generated rows, in pages of at most 1 MB. */
export function mockedDynamoDb(size: number) {
  const dynamodb = new DynamoDBClient(REGION);
  const { counts, count } = counter();
  let totalBytes = 0;
  for (let index = 0; index < size; index += 1) totalBytes += itemSize(rowItem(generateRow(index)));
  const mock = mockClient(dynamodb);
  mock.on(ScanCommand).callsFake((input: { ExclusiveStartKey?: Record<string, AttributeValue>; Limit?: number }) => {
    forgetPastCalls(mock);
    count('Scan');
    let index = input.ExclusiveStartKey ? Number(input.ExclusiveStartKey.Key.S!.split('\u0000')[1]) + 1 : 0;
    const Items: Record<string, AttributeValue>[] = [];
    let bytes = 0;
    while (index < size && bytes < SCAN_PAGE_BYTES && Items.length < (input.Limit ?? Infinity)) {
      const item = rowItem(generateRow(index));
      bytes += itemSize(item);
      Items.push(item);
      index += 1;
    }
    const more = index < size;
    return {
      Items,
      Count: Items.length,
      ScannedCount: Items.length,
      ...(more ? { LastEvaluatedKey: { Key: { S: `${Items.at(-1)!.Key.S}\u0000${index - 1}` } } } : {}),
    };
  });
  return { dynamodb, counts, totalBytes };
}

async function drain(body: unknown): Promise<number> {
  if (body instanceof Uint8Array) return body.byteLength;
  if (typeof body === 'string') return Buffer.byteLength(body);
  let bytes = 0;
  for await (const chunk of body as Readable) bytes += (chunk as Buffer).length;
  return bytes;
}

/** S3 where every object write consumes its body; each folder is empty before the first write. */
export function mockedS3() {
  const s3 = new S3Client(REGION);
  const { counts, count } = counter();
  const written = { bytes: 0 };
  const mock = mockClient(s3);
  mock.on(ListObjectsV2Command).callsFake(async () => (count('ListObjectsV2'), { Contents: [], KeyCount: 0 }));
  mock.on(PutObjectCommand).callsFake(async (input: { Body: unknown }) => {
    forgetPastCalls(mock);
    count('PutObject');
    written.bytes += await drain(input.Body);
    return { ETag: '"bench"' };
  });
  mock.on(CreateMultipartUploadCommand).callsFake(async () => (count('CreateMultipartUpload'), { UploadId: 'bench' }));
  mock.on(UploadPartCommand).callsFake(async (input: { Body: unknown; PartNumber: number }) => {
    forgetPastCalls(mock);
    count('UploadPart');
    written.bytes += await drain(input.Body);
    return { ETag: `"part-${input.PartNumber}"` };
  });
  mock
    .on(CompleteMultipartUploadCommand)
    .callsFake(async () => (count('CompleteMultipartUpload'), { ETag: '"bench"' }));
  mock.on(DeleteObjectsCommand).callsFake(async () => (count('DeleteObjects'), {}));
  return { s3, counts, written };
}
