/**
 * One local run on the embedded default: a fresh emulator, the mirror and the seed loaded into it,
 * the real workflow definition executed with the real handlers, and the bucket written back.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GlueClient } from '@aws-sdk/client-glue';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CreateBucketCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  ConflictException,
  CreateScheduleCommand,
  SchedulerClient,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { resourceNames } from '#infra/deployment-config';
import { SCHEDULE_TARGET_INPUT } from '#infra/triggers';
import { DEFAULT_SCHEDULE_EXPRESSION, SCHEDULE_GROUP } from '#shared/schedule/backup-cron';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { defaultTableNames, ENVIRONMENT } from '#shared/run/deployment';
import type { BackupTable } from '#shared/aws/s3-layout';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { createCatalog, type CatalogOptions } from '#local/catalog';
import { EMULATOR_CREDENTIALS, startEmulator } from '#local/emulator';
import { loadMirror, mirrorFolder, saveMirror } from '#local/mirror';
import { lockOutFolder } from '#local/out-lock';
import { applySeed, loadSeed, type Seed } from '#local/seed';
import { DEFAULT_S3_PATH } from '#local/defaults';
import { CRAWLER_NAME_VARIABLE, runWorkflow, type TaskInterceptor, type WorkflowRun } from '#local/workflow';

export { DEFAULT_S3_PATH };

export interface LocalRunOptions {
  out: string;
  seedFile: string;
  s3Path?: string;
  input?: unknown;
  kmsKeyArn?: string;
  /** Runs around every Task invocation (the benchmark attributes AWS calls and time to each Task). */
  aroundTask?: TaskInterceptor;
  /** Runs once the bucket is saved to `out`, while `out` is still locked: what else the run writes there or reads. */
  afterSave?: (result: LocalRunResult) => Promise<void>;
  /** Told each step of the run as it starts, in a line for a person (the command line shows them on stderr). */
  onProgress?: (line: string) => void;
}

export interface LocalRunResult {
  run: WorkflowRun;
  bucket: string;
  mirror: string;
  keys: string[];
}

/** A seeded deployment on the emulator, ready for {@link runWorkflow}. */
export interface LocalDeployment {
  bucket: string;
  accountId: string;
  tables: Record<BackupTable, string>;
  crawlerName: string;
  /** The backup schedule, as the deployed stack creates it (hourly, UTC). */
  scheduleName: string;
  /** The Serverless variables the workflow definition needs, for {@link runWorkflow}. */
  variables: Record<string, string>;
}

export interface LocalDeploymentOptions {
  s3Path: string;
  kmsKeyArn?: string;
  /** Database and crawler names; the catalog stack's defaults otherwise. */
  catalog?: CatalogOptions;
  /** Runs once the destination bucket exists, before the group is seeded. */
  onBucketCreated?: (s3: S3Client, bucket: string) => Promise<unknown>;
  onProgress?: (line: string) => void;
}

/**
 * Sets `seed` up on the emulator `AWS_ENDPOINT_URL` names (its credentials already in `process.env`):
 * the destination bucket, the group's tables, fleet, windows and stack, the catalog, and the functions'
 * environment in `process.env`, where the handlers read their deployment.
 */
export async function setUpLocalDeployment(seed: Seed, options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const destination = parseS3Path(options.s3Path);
  if (!destination) throw new Error('the local run needs an S3 path');
  process.env.AWS_REGION = seed.region;
  const settings = clientSettings();
  const s3 = new S3Client(s3ClientSettings());
  const { Account: accountId } = await new STSClient(settings).send(new GetCallerIdentityCommand({}));
  await s3.send(
    new CreateBucketCommand({
      Bucket: destination.bucket,
      ...(seed.region === 'us-east-1'
        ? {}
        : { CreateBucketConfiguration: { LocationConstraint: seed.region as BucketLocationConstraint } }),
    }),
  );
  await options.onBucketCreated?.(s3, destination.bucket);
  const tables = defaultTableNames(seed.groupName);
  options.onProgress?.(`seeding group ${seed.groupName} (${seed.region})`);
  await applySeed(
    {
      dynamodb: new DynamoDBClient(settings),
      ec2: new EC2Client(settings),
      ssm: new SSMClient(settings),
      cloudformation: new CloudFormationClient(settings),
      organizations: new OrganizationsClient(settings),
    },
    seed,
    tables,
    options.onProgress,
  );
  const catalog = await createCatalog(new GlueClient(settings), destination, options.catalog);
  const names = resourceNames(seed.groupName, LOCAL_STAGE);
  await createSchedule(new SchedulerClient(settings), names, accountId!, seed.region);
  Object.assign(process.env, {
    [ENVIRONMENT.groupName]: seed.groupName,
    [ENVIRONMENT.accountId]: accountId,
    [ENVIRONMENT.destination]: options.s3Path,
    [ENVIRONMENT.configurationTable]: tables.configuration,
    [ENVIRONMENT.schedulerTable]: tables.scheduler,
    [ENVIRONMENT.kmsKeyArn]: options.kmsKeyArn ?? '',
    [ENVIRONMENT.glueCrawlerName]: catalog.crawlerName,
    [ENVIRONMENT.scheduleName]: names.schedule,
    [ENVIRONMENT.stateMachineArn]: `arn:aws:states:${seed.region}:${accountId}:stateMachine:${names.stateMachine}`,
  });
  return {
    bucket: destination.bucket,
    accountId: accountId!,
    tables,
    crawlerName: catalog.crawlerName,
    scheduleName: names.schedule,
    variables: { [CRAWLER_NAME_VARIABLE]: catalog.crawlerName },
  };
}

/** The stage local deployments are named with. */
export const LOCAL_STAGE = 'local';

/**
 * The schedule as deploy/triggers.ts has CloudFormation create it (a schedule left by an earlier
 * set-up on the same emulator is put back to those settings).
 */
async function createSchedule(
  scheduler: SchedulerClient,
  names: ReturnType<typeof resourceNames>,
  accountId: string,
  region: string,
): Promise<void> {
  const schedule: CreateScheduleCommandInput = {
    Name: names.schedule,
    GroupName: SCHEDULE_GROUP,
    ScheduleExpression: DEFAULT_SCHEDULE_EXPRESSION,
    ScheduleExpressionTimezone: 'UTC',
    State: 'ENABLED',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: `arn:aws:lambda:${region}:${accountId}:function:${names.functions.startScheduledRun}`,
      RoleArn: `arn:aws:iam::${accountId}:role/${names.schedule}-role`,
      Input: SCHEDULE_TARGET_INPUT,
    },
  };
  try {
    await scheduler.send(new CreateScheduleCommand(schedule));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
    await scheduler.send(new UpdateScheduleCommand(schedule));
  }
}

/**
 * Runs in this process: the handlers read the deployment from `process.env`, which this sets.
 * Holds the lock of `out` from start to end (see out-lock.ts).
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const seed = loadSeed(options.seedFile);
  const s3Path = options.s3Path ?? DEFAULT_S3_PATH;
  const destination = parseS3Path(s3Path);
  if (!destination) throw new Error('the local run needs an S3 path');
  process.env.LOG_LEVEL ??= 'warn';
  // Also creates the folder, which holds the execution's record even when the run writes nothing to the bucket.
  const lock = await lockOutFolder(options.out);
  try {
    const result = await runOnFreshEmulator(seed, s3Path, destination, options);
    await options.afterSave?.(result);
    return result;
  } finally {
    lock.release();
  }
}

/** The folder loaded into a fresh emulator, the workflow executed, the bucket saved back. */
async function runOnFreshEmulator(
  seed: Seed,
  s3Path: string,
  destination: S3Location,
  options: LocalRunOptions,
): Promise<LocalRunResult> {
  const progress = options.onProgress ?? (() => {});
  const emulator = await startEmulator();
  progress(`emulator started at ${emulator.endpoint}`);
  try {
    Object.assign(process.env, EMULATOR_CREDENTIALS, { AWS_ENDPOINT_URL: emulator.endpoint, AWS_REGION: seed.region });
    const deployment = await setUpLocalDeployment(seed, {
      s3Path,
      kmsKeyArn: options.kmsKeyArn,
      onBucketCreated: (s3, bucket) => loadMirror(s3, options.out, bucket),
      onProgress: options.onProgress,
    });
    progress('running the workflow');
    const run = await runWorkflow(options.input ?? {}, deployment.variables, undefined, {
      aroundTask: options.aroundTask,
    });
    progress(`workflow ${run.status}; saving the bucket to ${mirrorFolder(options.out, destination.bucket)}`);
    const keys = await saveMirror(new S3Client(s3ClientSettings()), options.out, destination);
    return { run, bucket: destination.bucket, mirror: mirrorFolder(options.out, destination.bucket), keys };
  } finally {
    await emulator.stop();
  }
}
