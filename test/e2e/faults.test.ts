/**
 * Fault tolerance of whole executions (docs/operations.md): the real workflow definition
 * and the real handlers, run in process against the emulator, with faults injected into every AWS
 * call of every step (throttling, a 5xx, AccessDenied, a timeout, an answer lost after the request
 * was applied) and into the Task invocations themselves (Lambda errors).
 *
 * Transient faults must be retried and the execution must succeed; a fault that never recovers must
 * fail only the parts that depend on the call, with the error in the summary, while every other part
 * finishes. After every scenario the bucket is audited: archives whole and never rewritten, every
 * `latest-` equal to an archive, metadata whole gzip JSON Lines, no multipart upload left behind.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import {
  reconcileLocally,
  seedRegion,
  setUpLocalDeployment,
  startLocalRun,
  type LocalDeployment,
} from '#local/local-run';
import { PROJECT_ROOT } from '#local/python-env';
import { loadSeed, type GroupSeed } from '#local/seed';
import type { TaskInterceptor, WorkflowRun } from '#local/workflow';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { defaultTableNames, ENVIRONMENT } from '#shared/run/deployment';
import { writeMetadataTable } from '#shared/metadata/jsonl-writer';
import {
  archiveStamp,
  BACKUP_TABLES,
  metadataKey,
  metadataPartitionFolder,
  METADATA_TABLES,
  type BackupTable,
} from '#shared/aws/s3-layout';
import { parseS3Path } from '#shared/aws/s3-path';
import { dumpBackupYaml } from '#shared/backup/yaml-codec';
import type { ExecutionSummary, PartResult } from '#shared/run/summary';
import { createBucket } from '#test/support/aws';
import { testDeployment } from '#test/support/backup-fixtures';
import { BucketAuditor, type Rows } from '#test/support/bucket-integrity';
import { workflowTasks } from '#test/support/workflow-facts';
import {
  FaultInjector,
  INJECTED,
  type FaultKind,
  type FaultRule,
  type LambdaFaultRule,
  type RecordedCall,
  type Service,
} from '#test/support/fault-injection';

const SAMPLE_SEED = join(PROJECT_ROOT, 'local', 'sample-seed.yaml');
/** Rows big enough that the configuration export, gzip'ed, goes over the writer's 5 MiB part: a multipart upload. */
const BIG_ROWS = 30;
const BIG_VALUE_LENGTH = 386_000;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Random letters and digits: barely compressible, and plain YAML scalars, which the codec writes
 * and reads ten times faster than quoted ones.
 */
function randomPlainText(length: number): string {
  return `v${Array.from(randomBytes(length - 1), (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join('')}`;
}

/** The Tasks of the workflow definition, and what their failures become. */
const TASKS = workflowTasks();

/** What a scenario needs the deployment to hold before its execution. */
/**
 * What a scenario changes in the bucket before its run. A metadata write lists its partition folder
 * only when its own object is not there (a first write, or one after another writer's): 'first-write'
 * removes the group's metadata objects so that every table lists.
 */
type Preparation = 'stale-object' | 'big-table' | 'new-partition' | 'first-write';

interface Target {
  state: string;
  service: Service;
  operation: string;
  /** Which of the state's calls of that operation, for the scenario name. */
  what?: string;
  when?: (input: Record<string, unknown>) => boolean;
  /** Parts a fault that never recovers fails; empty for a best-effort call. */
  fails: string[];
  /** A call every part depends on: a fault that never recovers fails the execution, before any part. */
  failsExecution?: boolean;
  /** A best-effort call: a fault that never recovers leaves the part ok with this warning. */
  warning?: RegExp;
  prepare?: Preparation;
  /** Faults armed with every fault of this target, so that the call happens at all. */
  companions?: FaultRule[];
  /** A write whose answer can be lost after it was applied. */
  write?: boolean;
  /** An S3 call that can answer 200 OK with an error in its body. */
  okWithError?: boolean;
  /** The never-recovering faults tried beside AccessDenied; one of a rotation when absent. */
  neverRecovers?: FaultKind[];
  /** A HEAD whose 403 may mean "no such object" (S3 answers so without `s3:ListBucket`): the writer lists the folder instead. */
  refusalIsAbsence?: boolean;
  /** Only these faults (once, or never recovering), for a target that refines another one. */
  only?: { once: FaultKind[]; never: FaultKind[] };
}

interface Scenario {
  name: string;
  prepare?: Preparation;
  rules: FaultRule[];
  lambdaRules: LambdaFaultRule[];
  expect: Expectation & LambdaExpectation;
}

type Expectation =
  | { outcome: 'succeeds'; warning?: RegExp }
  | { outcome: 'fails-parts'; parts: string[]; message: RegExp }
  | { outcome: 'execution-fails'; error?: string; message: RegExp };

interface LambdaExpectation {
  /** Invocations of a Task whose every invocation fails, as the definition's Retry allows. */
  invocations?: number;
}

const keyHas =
  (fragment: string) =>
  (input: Record<string, unknown>): boolean =>
    String(input.Key ?? input.Prefix ?? '').includes(fragment);

const metadataOf = (table: string) => keyHas(`/metadata/${table}/`);

/** Parts made from one read of `table`: the configuration table's rows also set the group's schedule. */
function partsOfRead(table: BackupTable): string[] {
  return [`backup/${table}`, `metadata/${table}`, ...(table === 'configuration' ? ['schedule'] : [])];
}

function backupTargets(state: string, table: BackupTable): Target[] {
  const backup = `backup/${table}`;
  const metadata = `metadata/${table}`;
  return [
    { state, service: 'DynamoDB', operation: 'Scan', fails: partsOfRead(table) },
    // Whether the table changed is only a saving: without the answer, the backup archives.
    { state, service: 'S3', operation: 'HeadObject', what: 'latest-', when: keyHas('/latest-'), fails: [] },
    {
      state,
      service: 'S3',
      operation: 'PutObject',
      what: 'archive',
      when: keyHas('/archive/'),
      fails: [backup],
      write: true,
    },
    {
      state,
      service: 'S3',
      operation: 'HeadObject',
      what: 'metadata object',
      when: metadataOf(table),
      fails: [metadata],
      refusalIsAbsence: true,
    },
    {
      state,
      service: 'S3',
      operation: 'ListObjectsV2',
      what: 'metadata folder',
      fails: [metadata],
      prepare: 'first-write',
    },
    {
      state,
      service: 'S3',
      operation: 'PutObject',
      what: 'metadata',
      when: metadataOf(table),
      fails: [metadata],
      write: true,
    },
  ];
}

const CONFIGURATION_EXTRAS: Target[] = [
  {
    state: 'BackupConfiguration',
    service: 'S3',
    operation: 'GetObject',
    what: 'write-once check after a lost archive answer',
    fails: ['backup/configuration'],
    companions: [
      {
        state: 'BackupConfiguration',
        service: 'S3',
        operation: 'PutObject',
        when: keyHas('/archive/'),
        kind: 'answer-lost',
        times: 1,
      },
    ],
  },
  {
    state: 'BackupConfiguration',
    service: 'S3',
    operation: 'DeleteObjects',
    what: 'stale object',
    fails: ['metadata/configuration'],
    prepare: 'stale-object',
    write: true,
  },
  {
    state: 'BackupConfiguration',
    service: 'DynamoDB',
    operation: 'Scan',
    what: 'a later page',
    when: (input) => input.ExclusiveStartKey !== undefined,
    only: { once: ['timeout'], never: ['access-denied'] },
    fails: partsOfRead('configuration'),
    prepare: 'big-table',
  },
  { state: 'BackupConfiguration', service: 'Scheduler', operation: 'GetSchedule', fails: ['schedule'] },
  ...['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'].map((operation): Target => ({
    state: 'BackupConfiguration',
    service: 'S3',
    operation,
    what: 'metadata over one 5 MiB part',
    fails: ['metadata/configuration'],
    prepare: 'big-table',
    write: operation === 'UploadPart',
    okWithError: operation === 'CompleteMultipartUpload',
  })),
];

function metadataWriteTargets(state: string, table: string, fails: string[]): Target[] {
  return [
    {
      state,
      service: 'S3',
      operation: 'HeadObject',
      what: table,
      when: metadataOf(table),
      fails,
      refusalIsAbsence: true,
    },
    {
      state,
      service: 'S3',
      operation: 'ListObjectsV2',
      what: table,
      when: metadataOf(table),
      fails,
      prepare: 'first-write',
    },
    { state, service: 'S3', operation: 'PutObject', what: table, when: metadataOf(table), fails, write: true },
  ];
}

function subfleetTargets(state: string, fails: string[]): Target[] {
  return [
    { state, service: 'EC2', operation: 'DescribeTags', what: 'subfleets', fails },
    { state, service: 'EC2', operation: 'DescribeInstanceStatus', what: 'subfleets', fails },
  ];
}

const DISCOVERY = ['metadata/discovery'];
const INSTANCES = ['metadata/instances', 'metadata/volumes'];
const VOLUMES = ['metadata/volumes'];
const WINDOWS = ['metadata/maintenance-windows'];

const TARGETS: Target[] = [
  { state: 'PlanRun', service: 'CloudFormation', operation: 'DescribeStacks', fails: [], failsExecution: true },
  ...backupTargets('BackupConfiguration', 'configuration'),
  ...CONFIGURATION_EXTRAS,
  ...backupTargets('BackupScheduler', 'scheduler'),
  { state: 'ExportDiscovery', service: 'CloudFormation', operation: 'DescribeStacks', fails: DISCOVERY },
  { state: 'ExportDiscovery', service: 'CloudFormation', operation: 'GetTemplateSummary', fails: DISCOVERY },
  { state: 'ExportDiscovery', service: 'CloudFormation', operation: 'GetTemplate', fails: DISCOVERY },
  // The function's name falls back to the conventional one, which the sample stack's function has.
  { state: 'ExportDiscovery', service: 'CloudFormation', operation: 'DescribeStackResource', fails: [] },
  {
    state: 'ExportDiscovery',
    service: 'Lambda',
    operation: 'GetFunctionConfiguration',
    fails: [],
    warning:
      /Discovery function "CloneSquad-Discovery-[\w-]+" could not be read .*: ApiGwVpcEndpointDNSEntry is left out;/,
  },
  {
    state: 'ExportDiscovery',
    service: 'Organizations',
    operation: 'DescribeAccount',
    fails: [],
    warning: /Organizations DescribeAccount for account \d+ (was refused|failed)/,
  },
  ...subfleetTargets('ExportDiscovery', DISCOVERY),
  ...metadataWriteTargets('ExportDiscovery', 'discovery', DISCOVERY),
  { state: 'ExportInstances', service: 'EC2', operation: 'DescribeInstances', fails: INSTANCES },
  { state: 'ExportInstances', service: 'EC2', operation: 'DescribeVolumes', fails: VOLUMES },
  {
    state: 'ExportInstances',
    service: 'EC2',
    operation: 'DescribeInstanceTypes',
    fails: [],
    warning: /DescribeInstanceTypes failed \(.+\); _InstanceType is null for every type not described before/,
  },
  ...metadataWriteTargets('ExportInstances', 'instances', INSTANCES),
  ...metadataWriteTargets('ExportInstances', 'volumes', VOLUMES),
  { state: 'ExportMaintenanceWindows', service: 'SSM', operation: 'DescribeMaintenanceWindows', fails: WINDOWS },
  { state: 'ExportMaintenanceWindows', service: 'SSM', operation: 'ListTagsForResource', fails: WINDOWS },
  ...subfleetTargets('ExportMaintenanceWindows', WINDOWS),
  ...metadataWriteTargets('ExportMaintenanceWindows', 'maintenance-windows', WINDOWS),
  ...BACKUP_TABLES.flatMap((table): Target[] =>
    [
      { operation: 'HeadObject', what: `latest- ${table}` },
      { operation: 'GetObject', what: `archive ${table}` },
      { operation: 'PutObject', what: `latest- ${table}`, write: true },
    ].map((call) => ({ state: 'Archive', service: 'S3', when: keyHas(`-${table}-cs-`), fails: ['archive'], ...call })),
  ),
  {
    state: 'Archive',
    service: 'Glue',
    operation: 'StartCrawler',
    fails: ['catalog'],
    prepare: 'new-partition',
    write: true,
    neverRecovers: ['throttling', 'server-error', 'timeout'],
  },
];

const ROTATION: FaultKind[] = ['throttling', 'server-error', 'timeout'];

function describeFault(kind: FaultKind): string {
  return {
    throttling: 'throttled',
    'server-error': '5xx',
    'access-denied': 'AccessDenied',
    timeout: 'timeout',
    'answer-lost': 'answer lost',
    'ok-with-error': '200 OK carrying an error',
  }[kind];
}

/** The message a failed part carries for a fault of `kind` on `service.operation`. */
function faultMessage(kind: FaultKind, service: Service, operation: string): RegExp {
  if (kind === 'timeout') return /timed out/;
  const escaped = `${INJECTED} ${kind} fault on ${service}.${operation}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(escaped);
}

function targetName(target: Target): string {
  return `${target.state} ${target.service}.${target.operation}${target.what ? ` (${target.what})` : ''}`;
}

function awsScenarios(): Scenario[] {
  const scenarios: Scenario[] = [];
  TARGETS.forEach((target, index) => {
    const rule = (kind: FaultKind, times: number): FaultRule[] => [
      ...(target.companions ?? []),
      { state: target.state, service: target.service, operation: target.operation, when: target.when, kind, times },
    ];
    const base = { prepare: target.prepare, lambdaRules: [] };
    const transient: FaultKind[] = target.only?.once ?? [
      'throttling',
      'server-error',
      'timeout',
      ...(target.write ? ['answer-lost' as const] : []),
      ...(target.okWithError ? ['ok-with-error' as const] : []),
    ];
    for (const kind of transient) {
      scenarios.push({
        ...base,
        name: `${targetName(target)}: ${describeFault(kind)} once, then recovers`,
        rules: rule(kind, 1),
        expect: { outcome: 'succeeds' },
      });
    }
    const permanent: FaultKind[] = target.only?.never ?? [
      'access-denied',
      ...(target.neverRecovers ?? [ROTATION[index % ROTATION.length]]),
      ...(target.okWithError ? ['ok-with-error' as const] : []),
    ];
    for (const kind of permanent) {
      scenarios.push({
        ...base,
        name: `${targetName(target)}: ${describeFault(kind)}${kind === 'access-denied' ? '' : ', never recovers'}`,
        rules: rule(kind, Infinity),
        expect: target.failsExecution
          ? { outcome: 'execution-fails', message: faultMessage(kind, target.service, target.operation) }
          : target.fails.length === 0 || (kind === 'access-denied' && target.refusalIsAbsence)
            ? { outcome: 'succeeds', warning: target.warning }
            : {
                outcome: 'fails-parts',
                parts: target.fails,
                message: faultMessage(kind, target.service, target.operation),
              },
      });
    }
  });
  return scenarios;
}

/**
 * Lambda errors of every function Task: Step Functions' own Retry, then its Catch. A Task that runs
 * only in place of another one that failed (its fallback) is tried with that one failing for good.
 */
function lambdaScenarios(): Scenario[] {
  return [...TASKS.values()]
    .filter((task) => task.lambda)
    .flatMap(({ name: state, failureParts, lambdaInvocations, fallbackOf }): Scenario[] => {
      const failed = fallbackOf === undefined ? undefined : TASKS.get(fallbackOf)!;
      const companions: LambdaFaultRule[] = failed
        ? [{ state: failed.name, error: 'Lambda.ServiceException', phase: 'before', times: Infinity }]
        : [];
      const recovered: Expectation = failed
        ? { outcome: 'fails-parts', parts: failed.failureParts!, message: /Injected Lambda\.ServiceException/ }
        : { outcome: 'succeeds' };
      const after = failed ? ` (${failed.name} failed for good)` : '';
      return [
        {
          name: `${state} invocation${after}: Lambda.TooManyRequestsException once, then recovers (state Retry)`,
          rules: [],
          lambdaRules: [...companions, { state, error: 'Lambda.TooManyRequestsException', phase: 'before', times: 1 }],
          expect: recovered,
        },
        {
          name: `${state} invocation${after}: ran, answer lost as Lambda.ServiceException once (state Retry runs it again)`,
          rules: [],
          lambdaRules: [...companions, { state, error: 'Lambda.ServiceException', phase: 'after', times: 1 }],
          expect: recovered,
        },
        {
          name: `${state} invocation${after}: Lambda.ServiceException on every attempt`,
          rules: [],
          lambdaRules: [...companions, { state, error: 'Lambda.ServiceException', phase: 'before', times: Infinity }],
          expect: {
            ...(failureParts
              ? { outcome: 'fails-parts', parts: failureParts, message: /Injected Lambda\.ServiceException/ }
              : {
                  outcome: 'execution-fails',
                  error: 'Lambda.ServiceException',
                  message: /Injected Lambda\.ServiceException/,
                }),
            invocations: lambdaInvocations + (failed?.lambdaInvocations ?? 0),
          },
        },
      ];
    });
}

/** Scenarios that need the big table run together, so the table is filled and emptied once. */
const SCENARIOS = [...awsScenarios(), ...lambdaScenarios()].sort(
  (a, b) => Number(a.prepare === 'big-table') - Number(b.prepare === 'big-table'),
);

function partsByName(summary: ExecutionSummary): Map<string, PartResult> {
  return new Map(summary.parts.map((part) => [part.part, part]));
}

describe('faults: whole executions with injected AWS and Lambda faults', function () {
  this.timeout(60_000);
  const injector = new FaultInjector();
  const savedEnvironment: Record<string, string | undefined> = {};
  const groupName = `faults-${randomUUID().slice(0, 8)}`;
  const bucket = `${groupName}-bucket`;
  const s3Path = `s3://${bucket}/org/clonesquad`;
  const destination = parseS3Path(s3Path)!;
  const tables = defaultTableNames(groupName);
  let seed: GroupSeed;
  let deployment: LocalDeployment;
  let s3: S3Client;
  let dynamodb: DynamoDBClient;
  let auditor: BucketAuditor;
  let bigRows: Rows | undefined;
  /** Rows added to the seed's: a mark per scenario, so each one archives, and the overlap test's. */
  const addedRows: Record<BackupTable, Rows> = { configuration: new Map(), scheduler: new Map() };
  /** Every content the tables have held since the seed, which their backups may hold. */
  const heldContents: Record<BackupTable, Rows[]> = { configuration: [], scheduler: [] };
  let scenarioMarks = 0;
  /** The fault-free execution every scenario is compared with, and the AWS calls it made. */
  let baseline: WorkflowRun;
  let baselineCalls: RecordedCall[];
  let baselineProblems: string[];
  let scenariosRun = 0;
  let objectProblems = 0;
  const output: string[] = [];

  const tableRows = (table: BackupTable): Rows => new Map(Object.entries(seed.tables[table]));
  const currentRows = (table: BackupTable): Rows =>
    new Map([...tableRows(table), ...(table === 'configuration' && bigRows ? bigRows : []), ...addedRows[table]]);

  async function setBigRows(wanted: boolean): Promise<void> {
    if (wanted === (bigRows !== undefined)) return;
    const rows: Rows =
      bigRows ??
      new Map(
        Array.from({ length: BIG_ROWS }, (_, index) => [
          `big.${String(index).padStart(2, '0')}`,
          randomPlainText(BIG_VALUE_LENGTH),
        ]),
      );
    const requests: WriteRequest[] = [...rows].map(([key, value]) =>
      wanted
        ? { PutRequest: { Item: { Key: { S: key }, Value: { S: value } } } }
        : { DeleteRequest: { Key: { Key: { S: key } } } },
    );
    for (let start = 0; start < requests.length; start += 8) {
      await dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: { [tables.configuration]: requests.slice(start, start + 8) },
        }),
      );
    }
    bigRows = wanted ? rows : undefined;
    heldContents.configuration.push(currentRows('configuration'));
  }

  async function prepare(preparation: Preparation | undefined): Promise<void> {
    await setBigRows(preparation === 'big-table');
    // An unchanged table writes no archive: each scenario changes both, so the archive writes it targets happen.
    scenarioMarks += 1;
    for (const table of BACKUP_TABLES) await setAddedRow(table, 'fault.scenario', scheduleValue(scenarioMarks));
    const id = { accountId: deployment.accountId, region: seed.region, groupName };
    if (preparation === 'stale-object') {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${metadataPartitionFolder(destination, id, 'configuration')}/legacy-uncompressed.json`,
          Body: '{"Key": "stale"}\n',
        }),
      );
      // Another writer's object is swept when this service's own is not there (see 'first-write').
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: metadataKey(destination, id, 'configuration') }));
    }
    if (preparation === 'first-write') {
      for (const table of METADATA_TABLES) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: metadataKey(destination, id, table) }));
      }
    }
    if (preparation === 'new-partition') {
      await s3.send(
        new DeleteObjectCommand({ Bucket: bucket, Key: metadataKey(destination, id, 'maintenance-windows') }),
      );
    }
  }

  const realConsole = { log: console.log, warn: console.warn, error: console.error };
  const logLevel = process.env.LOG_LEVEL;

  /**
   * Keeps what the code prints on the console, shown when a test fails; turns the functions' logs
   * off (failed parts log errors on purpose), which go to stdout and stderr without the console.
   */
  function captureConsole(): void {
    const capture = (...values: unknown[]) => output.push(values.map(String).join(' '));
    Object.assign(console, { log: capture, warn: capture, error: capture });
    process.env.LOG_LEVEL = 'silent';
  }

  function restoreConsole(): void {
    Object.assign(console, realConsole);
    if (logLevel === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = logLevel;
  }

  /** Runs the group's execution under the fault injector, and inside it `around` when given. */
  async function execute(around?: TaskInterceptor): Promise<WorkflowRun> {
    const aroundTask: TaskInterceptor = around
      ? (state, invoke, input) => injector.aroundTask(state, () => around(state, invoke, input), input)
      : injector.aroundTask;
    return (await startLocalRun(deployment, {}, { aroundTask })).run;
  }

  /** A row of `table` that changes each round (`undefined`: removed), and its contents made valid. */
  /** A CloneSquad schedule value, valid in either table. */
  const scheduleValue = (hour: number) => `cron(0 ${hour % 24} * * ? *),config.active_parameter_set=`;

  async function changeTable(table: BackupTable, round: number | undefined): Promise<void> {
    await setAddedRow(table, 'overlap.round', round === undefined ? undefined : scheduleValue(round));
  }

  /** Puts (or, `undefined`, deletes) one row beside the seed's, and remembers the content it makes. */
  async function setAddedRow(table: BackupTable, key: string, value: string | undefined): Promise<void> {
    const TableName = tables[table];
    if (value === undefined) {
      await dynamodb.send(new DeleteItemCommand({ TableName, Key: { Key: { S: key } } }));
      addedRows[table].delete(key);
    } else {
      await dynamodb.send(new PutItemCommand({ TableName, Item: { Key: { S: key }, Value: { S: value } } }));
      addedRows[table].set(key, value);
    }
    heldContents[table].push(currentRows(table));
  }

  /** Checks the bucket; every problem counts as a lost or corrupted object. */
  async function audit(): Promise<string[]> {
    const problems = await auditor.audit();
    objectProblems += problems.length;
    return problems;
  }

  before(async function () {
    this.timeout(180_000);
    for (const name of [...Object.values(ENVIRONMENT), 'AWS_REGION']) savedEnvironment[name] = process.env[name];
    await injector.install();
    const sample = loadSeed(SAMPLE_SEED);
    seed = { ...sample.groups[0], groupName };
    deployment = await setUpLocalDeployment({
      s3Path,
      region: seed.region,
      groupName,
      catalog: { databaseName: groupName.replace(/-/g, '_'), crawlerName: `${groupName}-crawler` },
    });
    await seedRegion({ ...sample, groups: [seed] }, seed.region);
    // As the deployment's reconciliation does before any execution: every execution below finds the schedule.
    await reconcileLocally(deployment);
    s3 = new S3Client(s3ClientSettings());
    dynamodb = new DynamoDBClient(clientSettings());
    auditor = new BucketAuditor({
      s3,
      bucket,
      destination,
      id: { accountId: deployment.accountId, region: seed.region, groupName },
      validContents: () => ({
        configuration: [tableRows('configuration'), ...heldContents.configuration],
        scheduler: [tableRows('scheduler'), ...heldContents.scheduler],
      }),
    });
    injector.reset();
    captureConsole();
    try {
      baseline = await execute();
    } finally {
      restoreConsole();
    }
    baselineCalls = injector.calls;
    baselineProblems = await audit();
  });

  after(async function () {
    this.timeout(60_000);
    console.log(`      fault scenarios: ${scenariosRun} run, ${objectProblems} lost or corrupted objects`);
    await injector.uninstall();
    if (dynamodb) await setBigRows(false).catch(() => undefined);
    for (const table of BACKUP_TABLES) if (dynamodb) await setAddedRow(table, 'fault.scenario', undefined);
    for (const [name, value] of Object.entries(savedEnvironment)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  beforeEach(() => {
    output.length = 0;
    injector.reset();
    captureConsole();
  });

  afterEach(function () {
    restoreConsole();
    if (this.currentTest?.state === 'failed' && output.length > 0) {
      console.log(`      console of the failed execution:\n${output.map((line) => `        ${line}`).join('\n')}`);
    }
  });

  it('runs without faults, and every AWS call it makes is a fault target below', () => {
    expect(baseline.status, JSON.stringify(baseline.error)).to.equal('SUCCEEDED');
    expect(baselineProblems).to.deep.equal([]);
    const made = new Set(
      baselineCalls.filter((call) => call.state).map((call) => `${call.state} ${call.service}.${call.operation}`),
    );
    expect(
      TARGETS.map((target) => target.state).filter((state) => !TASKS.has(state)),
      'targets of Tasks the definition does not have',
    ).to.deep.equal([]);
    const targeted = new Set(TARGETS.map((target) => `${target.state} ${target.service}.${target.operation}`));
    expect(
      [...made].filter((call) => !targeted.has(call)),
      'calls without a fault scenario',
    ).to.deep.equal([]);
    expect(
      [...injector.clientsWithoutTimeout],
      'SDK clients that would wait forever on a hung connection',
    ).to.deep.equal([]);
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      await prepare(scenario.prepare);
      const before = { ...auditor.latest };
      injector.arm(scenario.rules, scenario.lambdaRules);
      const run = await execute();
      scenariosRun += 1;
      const problems = await audit();

      const hits = injector.ruleHits();
      expect(hits.at(-1) ?? injector.lambdaFaults.length, 'the fault was injected').to.be.greaterThan(0);
      const summary = run.summary as ExecutionSummary | undefined;
      const expectation = scenario.expect;
      if (expectation.invocations !== undefined) {
        expect(injector.lambdaFaults, 'invocations under the Retry of the definition').to.have.length(
          expectation.invocations,
        );
      }
      if (expectation.outcome === 'execution-fails') {
        expect(run.status).to.equal('FAILED');
        if (expectation.error !== undefined) expect(run.error?.name).to.equal(expectation.error);
        expect(run.error?.message).to.match(expectation.message);
        expect(summary, 'the execution ends without a summary').to.equal(undefined);
      } else {
        expect(summary, 'the execution ends with a summary').to.not.equal(undefined);
        const parts = partsByName(summary!);
        const expected = partsByName(baseline.summary as ExecutionSummary);
        expect([...parts.keys()].sort()).to.deep.equal([...expected.keys()].sort());
        const failing = expectation.outcome === 'fails-parts' ? expectation.parts : [];
        for (const [name, part] of parts) {
          if (failing.includes(name)) {
            expect(part.status, `${name} fails`).to.equal('failed');
            expect(part.error?.message, `${name} says why`).to.match((expectation as { message: RegExp }).message);
          } else if (name === 'catalog') {
            // The crawler only starts when an export created a partition.
            expect(part.status, `catalog: ${part.reason ?? part.error?.message}`).to.be.oneOf(['ok', 'skipped']);
            if (scenario.prepare === 'new-partition') expect(part.status).to.equal('ok');
          } else {
            expect(part.status, `${name}: ${part.error?.message}`).to.equal(expected.get(name)!.status);
          }
        }
        expect(run.status).to.equal(failing.length > 0 ? 'FAILED' : 'SUCCEEDED');
        // What best-effort calls leave when they fail for good (a failed part carries no warnings).
        const bestEffortWarnings = [...parts.values()]
          .flatMap((part) => part.warnings ?? [])
          .filter((warning) => /DescribeAccount|Discovery function|DescribeInstanceTypes failed/.test(warning));
        if (expectation.outcome === 'succeeds' && expectation.warning) {
          expect(bestEffortWarnings).to.have.length(1);
          expect(bestEffortWarnings[0]).to.match(expectation.warning);
        } else {
          expect(bestEffortWarnings, 'no warning left by a recovered call').to.deep.equal([]);
        }

        // latest- moves to this execution's archive exactly when its backup and its copy succeeded.
        const after = auditor.latest;
        const published = parts.get('archive')?.keys ?? [];
        for (const table of BACKUP_TABLES) {
          const backup = parts.get(`backup/${table}`)!;
          if (backup.status === 'ok' && published.includes(auditor.latestKey(table))) {
            expect(backup.keys).to.deep.equal([auditor.archiveKey(table, archiveStamp(summary!.executionStartTime))]);
            expect(auditor.archiveSha(backup.keys![0]), `archive of ${table} as reported`).to.equal(backup.sha256);
            expect(after[table], `latest-${table} is this execution's archive`).to.equal(backup.sha256);
          } else {
            expect(after[table], `latest-${table} untouched`).to.equal(before[table]);
          }
        }
      }
      expect(problems, 'lost or corrupted objects').to.deep.equal([]);
    });
  }

  it('two overlapping executions, the first to start finishing last: latest- holds the newer archive', async () => {
    try {
      for (let round = 0; round < 2; round += 1) {
        // Each round's first execution finds its tables changed since the archive latest- holds.
        await prepare(undefined);
        // The first execution backs both tables up, then waits before its Archive Task; the tables
        // change; the second execution starts, strictly later, and runs to its end; then the first
        // one publishes, last.
        let firstStartTime = '';
        let firstBackupsLeft = BACKUP_TABLES.length;
        let firstBackedUp!: () => void;
        const firstBackupsDone = new Promise<void>((resolve) => (firstBackedUp = resolve));
        let secondFinished!: () => void;
        const firstMayArchive = new Promise<void>((resolve) => (secondFinished = resolve));
        const first = execute(async (state, invoke, input) => {
          if (state === 'Archive') await firstMayArchive;
          const result = await invoke();
          if (state === 'BackupConfiguration' || state === 'BackupScheduler') {
            firstStartTime = (input as { executionStartTime: string }).executionStartTime;
            firstBackupsLeft -= 1;
            if (firstBackupsLeft === 0) firstBackedUp();
          }
          return result;
        });
        await firstBackupsDone;
        for (const table of BACKUP_TABLES) await changeTable(table, round);
        // Execution start times have millisecond precision, and the archives are named by them.
        while (Date.now() <= Date.parse(firstStartTime)) await new Promise((resolve) => setImmediate(resolve));
        const second = await execute();
        secondFinished();
        const runs = [await first, second];
        scenariosRun += 1;
        const problems = await audit();

        for (const run of runs) expect(run.status, run.error?.message).to.equal('SUCCEEDED');
        const [older, newer] = runs.map((run) => run.summary as ExecutionSummary);
        const [olderStamp, newerStamp] = [older, newer].map((summary) => archiveStamp(summary.executionStartTime));
        expect(olderStamp < newerStamp, `execution start times ${olderStamp}, ${newerStamp}`).to.equal(true);
        const latest = auditor.latest;
        for (const table of BACKUP_TABLES) {
          const [olderBackup, newerBackup] = [older, newer].map((summary) =>
            partsByName(summary).get(`backup/${table}`)!,
          );
          expect(olderBackup.keys).to.deep.equal([auditor.archiveKey(table, olderStamp)]);
          expect(newerBackup.keys).to.deep.equal([auditor.archiveKey(table, newerStamp)]);
          expect(olderBackup.sha256, `the table changed between the backups of ${table}`).to.not.equal(
            newerBackup.sha256,
          );
          expect(latest[table], `latest-${table} holds the newer archive`).to.equal(newerBackup.sha256);
        }
        expect(partsByName(newer).get('archive')).to.deep.include({ status: 'ok', records: BACKUP_TABLES.length });
        expect(partsByName(older).get('archive')).to.deep.equal({
          part: 'archive',
          status: 'ok',
          keys: [],
          records: 0,
          reason: BACKUP_TABLES.map((table) => `${table}: latest- already holds the newer archive ${newerStamp}`).join(
            '; ',
          ),
        });
        expect(problems).to.deep.equal([]);
      }
    } finally {
      for (const table of BACKUP_TABLES) await changeTable(table, undefined);
    }
  });
});

describe('faults: the bucket audit finds lost and corrupted objects', () => {
  const rows = new Map([
    ['a.key', 'off'],
    ['b.key', '10:30'],
    ['[set]c.key', 'x'],
  ]);
  const id = { accountId: '123456789012', region: 'eu-west-1', groupName: `audit-${randomUUID().slice(0, 8)}` };
  const destination = { bucket: `${id.groupName}-bucket`, prefix: 'org' };

  it('reports each kind of damage, and nothing on a sound bucket', async () => {
    const s3 = new S3Client(s3ClientSettings());
    await createBucket(s3, destination.bucket);
    const auditor = new BucketAuditor({
      s3,
      bucket: destination.bucket,
      destination,
      id,
      validContents: () => ({ configuration: [rows], scheduler: [rows] }),
    });
    const put = (key: string, body: string | Uint8Array) =>
      s3.send(new PutObjectCommand({ Bucket: destination.bucket, Key: key, Body: body }));
    const yaml = dumpBackupYaml([...rows].map(([key, value]) => ({ key, value })));
    const archive = (stamp: string) => auditor.archiveKey('configuration', stamp);
    const metadata = metadataKey(destination, id, 'configuration');

    await put(archive('20240101T000000000Z'), yaml);
    await put(auditor.latestKey('configuration'), yaml);
    await put(metadata, gzipSync('{"Key": "a.key"}\n'));
    expect(await auditor.audit()).to.deep.equal([]);

    const damage: [() => Promise<unknown>, RegExp][] = [
      [() => put(archive('20240101T000001000Z'), yaml.slice(yaml.indexOf('\n') + 1)), /match no content/],
      [() => put(archive('20240101T000002000Z'), 'a: [unclosed\n'), /does not parse/],
      [() => put(auditor.latestKey('configuration'), `${yaml}extra: row\n`), /latest- equals no archive/],
      [() => put(archive('20240101T000000000Z'), `${yaml}# rewritten\n`), /archive rewritten/],
      [() => put(metadata, gzipSync('{"Key": "a.key"}\n').subarray(0, 12)), /not whole gzip/],
      [() => put(metadata, gzipSync('{"Key": "a.key"}\nnot json\n')), /line 2 is not a JSON object/],
      [
        () => s3.send(new CreateMultipartUploadCommand({ Bucket: destination.bucket, Key: metadata })),
        /incomplete multipart upload/,
      ],
      [
        () => s3.send(new DeleteObjectCommand({ Bucket: destination.bucket, Key: archive('20240101T000002000Z') })),
        /archive lost/,
      ],
      [
        () => s3.send(new DeleteObjectCommand({ Bucket: destination.bucket, Key: auditor.latestKey('configuration') })),
        /latest- lost/,
      ],
    ];
    for (const [inflict, reported] of damage) {
      await inflict();
      const problems = await auditor.audit();
      expect(
        problems.some((problem) => reported.test(problem)),
        `${reported} among ${JSON.stringify(problems)}`,
      ).to.equal(true);
    }
  });
});

describe('faults: a metadata upload that fails while records still stream', function () {
  this.timeout(60_000);
  const injector = new FaultInjector();
  before(() => injector.install());
  after(() => injector.uninstall());

  // Three parts or more: once the upload gives up, nothing reads the body any more.
  async function* records(): AsyncGenerator<object> {
    for (let index = 0; index < 90; index += 1)
      yield { Key: `k${index}`, Value: randomBytes(300_000).toString('base64') };
  }

  for (const [operation, kind] of [
    ['CreateMultipartUpload', 'access-denied'],
    ['UploadPart', 'server-error'],
  ] as const) {
    it(`${operation} ${describeFault(kind)}: the part fails with the cause, promptly`, async () => {
      const s3 = new S3Client(s3ClientSettings());
      const deployment = testDeployment({ bucket: await createBucket(s3) });
      injector.reset();
      injector.arm([{ state: 'ExportInstances', service: 'S3', operation, kind, times: Infinity }]);
      const outcome = await Promise.race([
        injector
          .aroundTask('ExportInstances', () => writeMetadataTable(s3, deployment, 'instances', records()))
          .then(
            () => 'written',
            (error: Error) => error.message,
          ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000).unref()),
      ]);
      expect(outcome).to.match(faultMessage(kind, 'S3', operation));
      const { Uploads: uploads = [] } = await s3.send(
        new ListMultipartUploadsCommand({ Bucket: deployment.destination!.bucket }),
      );
      expect(uploads, 'multipart uploads left').to.deep.equal([]);
    });
  }
});
