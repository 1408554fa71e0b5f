/**
 * The exports measured by the benchmark, each run on in-process AWS (bench/mocks.ts), and the bare
 * references they are compared with: the same generated data through `JSON.stringify` + gzip, or
 * through the `yaml` package's `stringify`. For timing, both sides get their data generated before
 * their clock starts; for memory, the data is generated page by page as AWS would send it.
 */
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { stringify } from 'yaml';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { backupTable } from '#shared/backup/backup';
import { ENVIRONMENT } from '#shared/run/deployment';
import type { PartResult } from '#shared/run/summary';
import type { Deployment } from '#shared/run/deployment';
import { exportInstancesAndVolumes } from '#shared/metadata/instances';
import {
  BENCH_GROUP,
  INSTANCE_TYPES,
  VOLUMES_PER_INSTANCE,
  generateInstance,
  generateInstanceType,
  generateRow,
  generateVolume,
} from '#bench/fixtures';
import {
  EC2_MAX_RESULTS,
  SCAN_PAGE_BYTES,
  generateFleet,
  mockedDynamoDb,
  mockedEc2,
  mockedS3,
  mockedScheduler,
  type CallCounts,
  type GeneratedFleet,
} from '#bench/mocks';

export const EXECUTION_START = '2024-05-01T10:00:00.000Z';
/**
 * S3's smallest part but the last: the largest part a writer holding one part at a time in a few MiB
 * can send, so the fewest calls for an object streamed in bounded memory.
 */
const S3_MIN_PART_BYTES = 5 * 1024 * 1024;

export const BENCH_DEPLOYMENT: Deployment = {
  groupName: BENCH_GROUP,
  accountId: '123456789012',
  region: 'eu-west-1',
  destination: { bucket: 'bench-bucket', prefix: 'org/clonesquad' },
  tables: {
    configuration: `CloneSquad-${BENCH_GROUP}-Configuration`,
    scheduler: `CloneSquad-${BENCH_GROUP}-Scheduler`,
  },
  timeZone: 'UTC',
  cloneSquadStackName: `CloneSquad-${BENCH_GROUP}`,
  userSuppliedJsonMetadata: '',
};

/** Wall ms and CPU ms (every thread of the process: zlib compresses on the libuv pool) since `start`. */
export function elapsed(start: { wall: number; cpu: NodeJS.CpuUsage }): { ms: number; cpuMs: number } {
  const cpu = process.cpuUsage(start.cpu);
  return { ms: performance.now() - start.wall, cpuMs: (cpu.user + cpu.system) / 1000 };
}

export function clock() {
  return { wall: performance.now(), cpu: process.cpuUsage() };
}

export interface ScenarioResult {
  ms: number;
  cpuMs: number;
  records: number;
  /** Bytes of the object(s) written. */
  bytes: number;
  calls: CallCounts;
  /** The fewest calls that could read the input and write the output. */
  minimumCalls: CallCounts;
}

/** Calls to stream one object of `bytes` in bounded memory: one PutObject, or a multipart upload. */
function uploadCalls(bytes: number): CallCounts {
  if (bytes < S3_MIN_PART_BYTES) return { PutObject: 1 };
  return { CreateMultipartUpload: 1, UploadPart: Math.ceil(bytes / S3_MIN_PART_BYTES), CompleteMultipartUpload: 1 };
}

function addCounts(...all: CallCounts[]): CallCounts {
  const sum: CallCounts = {};
  for (const counts of all) for (const [name, n] of Object.entries(counts)) sum[name] = (sum[name] ?? 0) + n;
  return sum;
}

/** DescribeVolumes calls when the volumes of each page of instances are described apart, 500 ids at most a call. */
function volumeCalls(size: number): number {
  let calls = 0;
  for (let start = 0; start < size; start += EC2_MAX_RESULTS) {
    calls += Math.ceil((Math.min(EC2_MAX_RESULTS, size - start) * VOLUMES_PER_INSTANCE) / 500);
  }
  return calls;
}

/**
 * exportInstancesAndVolumes on `size` instances (and twice as many volumes): generated page by page
 * inside the calls, or given as `fleet`, generated before the clock starts.
 */
export async function exportInstances(size: number, fleet?: GeneratedFleet): Promise<ScenarioResult> {
  const { ec2, counts: ec2Calls } = mockedEc2(size, fleet);
  const { s3, counts: s3Calls } = mockedS3();
  const start = clock();
  const [instances, volumes] = await exportInstancesAndVolumes({ ec2, s3 }, BENCH_DEPLOYMENT, {
    executionStartTime: EXECUTION_START,
  });
  const time = elapsed(start);
  if (instances.status !== 'ok' || volumes.status !== 'ok')
    throw new Error(`export failed: ${JSON.stringify(volumes)}`);
  return {
    ...time,
    records: instances.records! + volumes.records!,
    bytes: instances.bytes! + volumes.bytes!,
    calls: addCounts(ec2Calls, s3Calls),
    minimumCalls: addCounts(
      {
        DescribeInstances: Math.max(1, Math.ceil(size / EC2_MAX_RESULTS)),
        // Every type shows up in the first page; 100 types a call.
        ...(size > 0 ? { DescribeInstanceTypes: Math.ceil(Math.min(size, INSTANCE_TYPES.length) / 100) } : {}),
        DescribeVolumes: volumeCalls(size),
      },
      // One listing per partition written (slack: to delete what an older run left under another name); the mock
      // bucket is empty, so both partitions are new and each gets its marker object for the catalog. Before it, one
      // HEAD per partition: steady-state runs find their object there and list nothing (a HEAD costs a twelfth of a
      // LIST), so a first write pays both.
      { HeadObject: 2, ListObjectsV2: 2, PutObject: 2 },
      uploadCalls(instances.bytes!),
      uploadCalls(volumes.bytes!),
    ),
  };
}

/** backupTable of a Configuration table of `size` rows: Scan, YAML, one write-once PutObject. */
export async function backupRows(size: number): Promise<ScenarioResult> {
  const { dynamodb, counts: scanCalls, totalBytes } = mockedDynamoDb(size);
  const { s3, counts: s3Calls } = mockedS3();
  const start = clock();
  const part = await backupTable({ dynamodb, s3 }, BENCH_DEPLOYMENT, {
    table: 'configuration',
    executionStartTime: EXECUTION_START,
    now: new Date(EXECUTION_START),
  });
  const time = elapsed(start);
  if (part.status !== 'ok') throw new Error(`backup failed: ${JSON.stringify(part)}`);
  return {
    ...time,
    records: part.records!,
    bytes: part.bytes!,
    calls: addCounts(scanCalls, s3Calls),
    minimumCalls: { Scan: Math.max(1, Math.ceil(totalBytes / SCAN_PAGE_BYTES)), PutObject: 1 },
  };
}

async function gzipLines(pages: Iterable<object[]>): Promise<number> {
  const gzip = createGzip();
  let bytes = 0;
  gzip.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const ended = once(gzip, 'end');
  for (const page of pages) {
    if (!gzip.write(page.map((record) => `${JSON.stringify(record)}\n`).join(''))) await once(gzip, 'drain');
  }
  gzip.end();
  await ended;
  return bytes;
}

/** Instances as the table holds them: each with the DescribeInstanceTypes entry of its type. */
function* instancePages(size: number) {
  const types = new Map(INSTANCE_TYPES.map((type) => [type, generateInstanceType(type)]));
  for (let start = 0; start < size; start += EC2_MAX_RESULTS) {
    const page = [];
    for (let index = start; index < Math.min(size, start + EC2_MAX_RESULTS); index += 1) {
      const instance = generateInstance(index);
      page.push(Object.assign(instance, { _InstanceType: types.get(instance.InstanceType!) }));
    }
    yield page;
  }
}

function* volumePages(size: number) {
  for (let start = 0; start < size; start += 250) {
    const page = [];
    for (let index = start; index < Math.min(size, start + 250); index += 1) {
      for (let slot = 0; slot < VOLUMES_PER_INSTANCE; slot += 1) page.push(generateVolume(index, slot));
    }
    yield page;
  }
}

/** The same instances (with their types' entries) and volumes, generated before the clock starts, through `JSON.stringify` and gzip only. */
export async function bareInstances(size: number): Promise<{ ms: number; cpuMs: number; bytes: number }> {
  const instances = [...instancePages(size)];
  const volumes = [...volumePages(size)];
  const start = clock();
  const bytes = (await gzipLines(instances)) + (await gzipLines(volumes));
  return { ...elapsed(start), bytes };
}

export { generateFleet };

/** The same rows through the `yaml` package's `stringify` only. */
export function bareYaml(size: number): { ms: number; cpuMs: number; bytes: number } {
  const start = clock();
  const document: Record<string, string> = {};
  for (let index = 0; index < size; index += 1) {
    const row = generateRow(index);
    document[row.key] = row.value;
  }
  const text = stringify(document);
  return { ...elapsed(start), bytes: Buffer.byteLength(text) };
}

/** Settings of a deployment serving every group, with the groups' schedules managed, as the handlers read them. */
const LAMBDA_ENVIRONMENT: Record<string, string> = {
  [ENVIRONMENT.accountId]: BENCH_DEPLOYMENT.accountId,
  [ENVIRONMENT.region]: BENCH_DEPLOYMENT.region,
  [ENVIRONMENT.destination]: `s3://${BENCH_DEPLOYMENT.destination!.bucket}/${BENCH_DEPLOYMENT.destination!.prefix}`,
  [ENVIRONMENT.scheduleGroup]: 'bench-schedules',
  [ENVIRONMENT.scheduledRunFunctionArn]: 'arn:aws:lambda:eu-west-1:123456789012:function:bench-start',
  [ENVIRONMENT.scheduleRoleArn]: 'arn:aws:iam::123456789012:role/bench-schedule',
};

/**
 * The configuration table's branch as its Lambda runs it: the backup-table handler with
 * `table: configuration` (read once; YAML backup, metadata partition and the group's schedule), on
 * every DynamoDB, S3 and Scheduler client the handler builds.
 */
export async function configurationLambda(size: number): Promise<ScenarioResult> {
  Object.assign(process.env, LAMBDA_ENVIRONMENT);
  const { counts: scanCalls, totalBytes } = mockedDynamoDb(size, DynamoDBClient);
  const { counts: s3Calls } = mockedS3(S3Client);
  const { counts: schedulerCalls } = mockedScheduler(SchedulerClient);
  const { handler } = await import('#functions/backup-table');
  const start = clock();
  const parts = (await handler({
    table: 'configuration',
    group: {
      groupName: BENCH_GROUP,
      stackName: BENCH_DEPLOYMENT.cloneSquadStackName,
      tables: BENCH_DEPLOYMENT.tables,
      timeZone: 'UTC',
    },
    executionStartTime: EXECUTION_START,
  })) as PartResult[];
  const time = elapsed(start);
  const failed = parts.filter((part) => part.status !== 'ok');
  if (failed.length > 0) throw new Error(`configuration branch failed: ${JSON.stringify(failed)}`);
  const backup = parts.find((part) => part.part === 'backup/configuration')!;
  return {
    ...time,
    records: backup.records!,
    bytes: parts.reduce((sum, part) => sum + (part.bytes ?? 0), 0),
    calls: addCounts(scanCalls, s3Calls, schedulerCalls),
    minimumCalls: { Scan: Math.max(1, Math.ceil(totalBytes / SCAN_PAGE_BYTES)) },
  };
}
