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
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3ServiceException,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  CreateScheduleCommand,
  GetScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import type { Instance, Volume } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  VOLUMES_PER_INSTANCE,
  generateInstance,
  generateInstanceType,
  generateRow,
  generateVolume,
  itemSize,
  rowItem,
  volumeFromId,
  volumeId,
} from '#bench/fixtures';

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

/** A fleet generated ahead of a timed export, so that generating it is not timed. */
export interface GeneratedFleet {
  instances: Instance[];
  volumes: Map<string, Volume>;
}

export function generateFleet(size: number): GeneratedFleet {
  const instances: Instance[] = [];
  const volumes = new Map<string, Volume>();
  for (let index = 0; index < size; index += 1) {
    instances.push(generateInstance(index));
    for (let slot = 0; slot < VOLUMES_PER_INSTANCE; slot += 1)
      volumes.set(volumeId(index, slot), generateVolume(index, slot));
  }
  return { instances, volumes };
}

/**
 * EC2 answering for a fleet of `size` instances, one reservation each, `VOLUMES_PER_INSTANCE`
 * volumes each, of the types of INSTANCE_TYPES: generated on demand, page by page (nothing held), or
 * taken from `fleet`, generated beforehand.
 */
export function mockedEc2(size: number, fleet?: GeneratedFleet) {
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
          Instances: [fleet ? fleet.instances[index] : generateInstance(index)],
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
    return { Volumes: (input.VolumeIds ?? []).map((id) => fleet?.volumes.get(id) ?? volumeFromId(id)) };
  });
  return { ec2, counts };
}

/** DynamoDB answering a Scan of a table of `size` generated rows, in pages of at most 1 MB. */
export function mockedDynamoDb<T extends DynamoDBClient | typeof DynamoDBClient = DynamoDBClient>(
  size: number,
  target: T = new DynamoDBClient(REGION) as T,
) {
  const dynamodb = target;
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
export function mockedS3<T extends S3Client | typeof S3Client = S3Client>(target: T = new S3Client(REGION) as T) {
  const s3 = target;
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
  const notFound = (name: string) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'Not Found' });
  mock.on(HeadObjectCommand).callsFake(async () => {
    count('HeadObject');
    throw notFound('NotFound');
  });
  mock.on(GetObjectCommand).callsFake(async () => {
    count('GetObject');
    throw notFound('NoSuchKey');
  });
  return { s3, counts, written };
}

/** EventBridge Scheduler with no schedule yet for the group: the first run creates it. */
export function mockedScheduler(target: SchedulerClient | typeof SchedulerClient = new SchedulerClient(REGION)) {
  const { counts, count } = counter();
  const mock = mockClient(target);
  mock.on(GetScheduleCommand).callsFake(async () => {
    count('GetSchedule');
    throw new ResourceNotFoundException({
      $metadata: { httpStatusCode: 404 },
      message: 'Schedule not found',
      Message: 'Schedule not found',
    });
  });
  mock.on(CreateScheduleCommand).callsFake(async () => (count('CreateSchedule'), { ScheduleArn: 'arn:bench' }));
  return { scheduler: target, counts };
}
