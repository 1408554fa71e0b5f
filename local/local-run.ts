/**
 * Local runs on the embedded default: a fresh emulator, the mirror and the seed loaded into it, the
 * service deployed in every region of the seed as the deployment would be (same parameters, names,
 * environment and handlers), its groups' schedules reconciled, and the real workflow definition
 * executed: the run of every group starts one execution per group, which this runner then executes
 * as Step Functions would. The bucket is written back to the `--out` folder.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GlueClient } from '@aws-sdk/client-glue';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import {
  ConflictException,
  CreateScheduleGroupCommand,
  GetScheduleGroupCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StateMachineAlreadyExists,
} from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { parseS3Path } from '#shared/aws/s3-path';
import type { StartedExecution } from '#shared/aws/executions';
import type { ReconcileReport } from '#shared/groups/reconcile';
import type { RunPlan } from '#shared/groups/plan';
import { pseudoParameters, renderTokens } from '#infra/cloudformation';
import {
  functionEnvironment,
  resolveParameters,
  resourceArns,
  resourceNames,
  type ResourceNames,
} from '#infra/deployment-config';
import { createCatalog, type CatalogOptions } from '#local/catalog';
import { EMULATOR_CREDENTIALS, startEmulator } from '#local/emulator';
import { loadMirror, mirrorFolder, saveMirror } from '#local/mirror';
import { lockOutFolder } from '#local/out-lock';
import { applyDecoySeed, applyGroupSeed, loadSeed, type Seed } from '#local/seed';
import { loadHandler, loadDefinition, runWorkflow, type TaskInterceptor, type WorkflowRun } from '#local/workflow';
import { DEFAULT_S3_PATH } from '#local/defaults';

export { DEFAULT_S3_PATH };

/** The stage local deployments are named with. */
export const LOCAL_STAGE = 'local';

/** A deployment of the service on the emulator, in one region. */
export interface LocalDeployment {
  region: string;
  accountId: string;
  bucket: string;
  names: ResourceNames;
  stateMachineArn: string;
  crawlerName: string;
  /** The functions' environment, as the deployment sets it. */
  environment: Record<string, string>;
}

export interface LocalDeploymentOptions {
  s3Path: string;
  region: string;
  /** Serve only this group (a single-group deployment); every group by default. */
  groupName?: string;
  kmsKeyArn?: string;
  timeZone?: string;
  /** Database and crawler names; the catalog stack's defaults otherwise. */
  catalog?: CatalogOptions;
}

/**
 * Deploys the service on the emulator `AWS_ENDPOINT_URL` names (its credentials already in
 * `process.env`), in one region: the destination bucket (kept when it exists), the catalog, the
 * schedule group and the state machine the functions start executions of; and answers the
 * functions' environment, built as the deployment builds it.
 */
export async function setUpLocalDeployment(options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const destination = parseS3Path(options.s3Path);
  if (!destination) throw new Error('the local run needs an S3 path');
  const settings = { ...clientSettings(), region: options.region };
  const { Account: accountId } = await new STSClient(settings).send(new GetCallerIdentityCommand({}));
  await createBucket(
    new S3Client({ ...s3ClientSettings(), region: options.region }),
    destination.bucket,
    options.region,
  );
  const catalog = await createCatalog(new GlueClient(settings), destination, options.catalog);
  const parameters = resolveParameters({
    groupName: options.groupName ?? '',
    metadataAndBackupS3Path: options.s3Path,
    kmsKeyArn: options.kmsKeyArn ?? '',
    timeZone: options.timeZone ?? '',
    glueCrawlerName: catalog.crawlerName,
  });
  const names = resourceNames(parameters.groupName, LOCAL_STAGE);
  const pseudo = pseudoParameters(accountId!, options.region);
  const stateMachineArn = renderTokens(resourceArns(names).stateMachine, pseudo);
  await createScheduleGroup(new SchedulerClient(settings), names.scheduleGroup);
  await createStateMachine(new SFNClient(settings), names.stateMachine, accountId!);
  return {
    region: options.region,
    accountId: accountId!,
    bucket: destination.bucket,
    names,
    stateMachineArn,
    crawlerName: catalog.crawlerName,
    environment: renderTokens(functionEnvironment(parameters, names), pseudo),
  };
}

async function createBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    // Another region of the same run created it.
    if (!(error instanceof BucketAlreadyOwnedByYou) && (error as Error).name !== 'BucketAlreadyExists') throw error;
  }
}

/**
 * The schedule group, as the stack keeps it: created once, then left as it is by every deployment
 * after (the emulator answers a second CreateScheduleGroup by emptying the group, where AWS refuses it).
 */
async function createScheduleGroup(scheduler: SchedulerClient, name: string): Promise<void> {
  try {
    await scheduler.send(new GetScheduleGroupCommand({ Name: name }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await scheduler.send(new CreateScheduleGroupCommand({ Name: name }));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
  }
}

/**
 * The state machine as the emulator knows it, so that the functions can start its executions (the
 * emulator records them; this runner executes them).
 */
async function createStateMachine(sfn: SFNClient, name: string, accountId: string): Promise<void> {
  try {
    await sfn.send(
      new CreateStateMachineCommand({
        name,
        definition: JSON.stringify(loadDefinition()),
        roleArn: `arn:aws:iam::${accountId}:role/${name}-local`,
      }),
    );
  } catch (error) {
    if (!(error instanceof StateMachineAlreadyExists)) throw error;
  }
}

/** Makes `deployment` the one the handlers of this process serve (they read their settings from the environment). */
export function useDeployment(deployment: LocalDeployment): void {
  Object.assign(process.env, deployment.environment, { AWS_REGION: deployment.region });
}

/** Creates the seed's groups and decoys of one region, through the real APIs. */
export async function seedRegion(
  seed: Seed,
  region: string,
  onProgress: (line: string) => void = () => {},
): Promise<void> {
  const settings = { ...clientSettings(), region };
  const clients = {
    dynamodb: new DynamoDBClient(settings),
    ec2: new EC2Client(settings),
    ssm: new SSMClient(settings),
    cloudformation: new CloudFormationClient(settings),
    organizations: new OrganizationsClient(settings),
  };
  for (const group of seed.groups.filter((candidate) => candidate.region === region)) {
    onProgress(`seeding group ${group.groupName} (${region})`);
    await applyGroupSeed(clients, group, seed.organization, onProgress);
  }
  for (const decoy of seed.decoys.filter((candidate) => candidate.region === region)) {
    await applyDecoySeed(clients, decoy);
  }
}

/** What the groups' reconciliation does on its 15-minute schedule, once, with its real handler. */
export async function reconcileLocally(deployment: LocalDeployment): Promise<ReconcileReport> {
  useDeployment(deployment);
  return (await (
    await loadHandler('reconcileGroups')
  )({})) as ReconcileReport;
}

/** One group's execution, as the run of every group started it. */
export interface GroupExecution {
  groupName: string;
  executionName: string;
  run: WorkflowRun;
}

export interface RegionRun {
  region: string;
  /** The execution started with the run's input. */
  run: WorkflowRun;
  /** The executions it started, one per group, when it ran every group. */
  groups: GroupExecution[];
}

let executionCounter = 0;

/**
 * Starts an execution with `input`, as a console StartExecution would, and executes it; when it runs
 * every group, executes each execution it started, as Step Functions would.
 */
export async function startLocalRun(
  deployment: LocalDeployment,
  input: unknown,
  options: { aroundTask?: TaskInterceptor } = {},
): Promise<RegionRun> {
  useDeployment(deployment);
  executionCounter += 1;
  const name = `local-${new Date().toISOString().replace(/[-:.]/g, '')}-${executionCounter}`;
  const run = await runWorkflow(input, {
    aroundTask: options.aroundTask,
    execution: { arn: `${deployment.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`, name },
  });
  const started = (run.output as RunPlan | undefined)?.groupRuns ?? [];
  const sfn = new SFNClient({ ...clientSettings(), region: deployment.region });
  const groups: GroupExecution[] = [];
  for (const execution of started) groups.push(await executeStarted(sfn, deployment, execution, options));
  return { region: deployment.region, run, groups };
}

async function executeStarted(
  sfn: SFNClient,
  deployment: LocalDeployment,
  execution: StartedExecution,
  options: { aroundTask?: TaskInterceptor },
): Promise<GroupExecution> {
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
  useDeployment(deployment);
  const run = await runWorkflow(JSON.parse(described.input ?? '{}'), {
    aroundTask: options.aroundTask,
    execution: {
      arn: execution.executionArn,
      name: execution.executionName,
      startTime: described.startDate?.toISOString(),
    },
  });
  return { groupName: execution.groupName, executionName: execution.executionName, run };
}

export interface LocalRunOptions {
  out: string;
  seedFile: string;
  s3Path?: string;
  input?: unknown;
  kmsKeyArn?: string;
  /** Runs around every Task invocation (the benchmark attributes AWS calls and time to each Task). */
  aroundTask?: TaskInterceptor;
  /** Runs around the groups' reconciliation of each region (the benchmark attributes its AWS calls and time). */
  aroundReconcile?: (reconcile: () => Promise<ReconcileReport>) => Promise<ReconcileReport>;
  /** Runs once the bucket is saved to `out`, while the folder is still locked. */
  afterSave?: (result: LocalRunResult) => Promise<void>;
  /** Told each step of the run as it starts, in a line for a person (the command line shows them on stderr). */
  onProgress?: (line: string) => void;
}

export interface LocalRunResult {
  regions: (RegionRun & { reconcile: ReconcileReport })[];
  bucket: string;
  mirror: string;
  keys: string[];
}

/** Every group execution of a local run, in region order. */
export function groupExecutions(result: Pick<LocalRunResult, 'regions'>): GroupExecution[] {
  return result.regions.flatMap((region) => region.groups);
}

/** Runs in this process: the handlers read their settings from `process.env`, which this sets. */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const seed = loadSeed(options.seedFile);
  const s3Path = options.s3Path ?? DEFAULT_S3_PATH;
  // Warnings reach the parts' summaries, which the command shows; the log adds only errors.
  process.env.LOG_LEVEL ??= 'error';
  // Also creates the folder, which holds the execution's record even when the run writes nothing to the bucket.
  const lock = await lockOutFolder(options.out);
  try {
    const result = await runOnFreshEmulator(seed, s3Path, options);
    await options.afterSave?.(result);
    return result;
  } finally {
    lock.release();
  }
}

/** The folder loaded into a fresh emulator, the service deployed and run in each region, the bucket saved back. */
async function runOnFreshEmulator(seed: Seed, s3Path: string, options: LocalRunOptions): Promise<LocalRunResult> {
  const destination = parseS3Path(s3Path);
  if (!destination) throw new Error('the local run needs an S3 path');
  const progress = options.onProgress ?? (() => {});
  const emulator = await startEmulator();
  progress(`emulator started at ${emulator.endpoint}`);
  try {
    Object.assign(process.env, EMULATOR_CREDENTIALS, { AWS_ENDPOINT_URL: emulator.endpoint });
    const regions = [...new Set(seed.groups.map((group) => group.region))];
    const deployments: LocalDeployment[] = [];
    for (const region of regions) {
      const deployment = await setUpLocalDeployment({ s3Path, region, kmsKeyArn: options.kmsKeyArn });
      if (deployments.length === 0) {
        await loadMirror(new S3Client({ ...s3ClientSettings(), region }), options.out, destination.bucket);
      }
      await seedRegion(seed, region, progress);
      deployments.push(deployment);
    }
    const runs: LocalRunResult['regions'] = [];
    for (const deployment of deployments) {
      const reconcile = await (options.aroundReconcile ?? ((run) => run()))(() => reconcileLocally(deployment));
      progress(`running the workflow in ${deployment.region}`);
      const run = await startLocalRun(deployment, options.input ?? {}, options);
      for (const group of run.groups) progress(`group ${group.groupName} (${deployment.region}): ${group.run.status}`);
      runs.push({ ...run, reconcile });
    }
    progress(`saving the bucket to ${mirrorFolder(options.out, destination.bucket)}`);
    const s3 = new S3Client({ ...s3ClientSettings(), region: regions[0] });
    const keys = await saveMirror(s3, options.out, destination);
    return { regions: runs, bucket: destination.bucket, mirror: mirrorFolder(options.out, destination.bucket), keys };
  } finally {
    await emulator.stop();
  }
}
