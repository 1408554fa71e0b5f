/**
 * The deployment package as an operator builds it, `npm run package` (osls, offline), in both modes:
 * serving every group of the account and region (the default: no GroupName) and serving one group
 * (GroupName=web); with the feature on, with a KMS key, with the Configuration table's stream, and
 * with the feature off. Each packaging takes its region from another source. Each template must hold
 * exactly what infra/ describes, and the grants, triggers and API are also pinned literally here, so
 * that a change of infra/ that widens a grant or drops a trigger shows up as a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { expect } from 'chai';
import fc from 'fast-check';
import { cfn, cfnDeep, iamText, policyDocument, pseudoParameters, renderTokens, TOKEN } from '#infra/cloudformation';
import {
  functionEnvironment,
  FUNCTIONS,
  resolveParameters,
  resourceNames,
  type DeploymentParameters,
  type FunctionName,
  type RawParameters,
  type ResourceNames,
} from '#infra/deployment-config';
import { FUNCTION_DESCRIPTIONS, roleStatements } from '#infra/functions';
import { DEFAULT_CRAWLER_NAME } from '#glue/catalog';
import { DEFAULT_PARAMETERS, packageService, type PackageResult } from '#local/package';
import { ensurePythonEnv, PROJECT_ROOT, venvBin } from '#local/python-env';
import { quoteInput } from '#shared/aws/errors';
import { featureOffError } from '#shared/run/deployment';
import { groupNameProblem } from '#shared/run/group-name';
import { RUN_REQUEST_SCHEMA } from '#shared/run/run-request';
import { BACKUP_CRON_STREAM_FILTER_PATTERNS } from '#shared/schedule/backup-cron';
import { deployedText, renderMappingTemplate } from '#test/support/api-gateway';

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DependsOn?: string[];
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, Json>;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}
interface Grant {
  role: string;
  action: string;
  resource: string;
}
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const STREAM_ARN =
  'arn:aws:dynamodb:eu-west-3:111122223333:table/CloneSquad-web-Configuration/stream/2024-01-01T00:00:00.000';

/**
 * The packagings, each with its region from another source, the sources below it set too so that
 * the order is pinned: `--region`, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's.
 */
const PACKAGINGS = {
  /** `AWS_REGION=eu-west-1 npm run package`: every group, the default parameters. */
  allGroups: {
    region: 'eu-west-1',
    regionSource: 'AWS_REGION, before AWS_DEFAULT_REGION and the profile',
    regionArgs: [],
    env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-2' },
    awsConfig: '[default]\nregion = ap-southeast-2\n',
    parameters: {},
  },
  allGroupsKms: {
    region: 'us-east-2',
    regionSource: 'AWS_DEFAULT_REGION, before the profile',
    regionArgs: [],
    env: { AWS_DEFAULT_REGION: 'us-east-2' },
    awsConfig: '[default]\nregion = ap-southeast-2\n',
    parameters: { kmsKeyArn: KMS_KEY_ARN },
  },
  allGroupsOff: {
    region: 'ca-central-1',
    regionSource: 'the profile AWS_PROFILE names, in ~/.aws/config',
    regionArgs: [],
    env: { AWS_PROFILE: 'backups' },
    awsConfig: '[default]\nregion = ap-southeast-2\n\n[profile backups]\nregion = ca-central-1\n',
    parameters: { metadataAndBackupS3Path: '', kmsKeyArn: KMS_KEY_ARN },
  },
  single: {
    region: 'eu-west-3',
    regionSource: '--region, before AWS_REGION and AWS_DEFAULT_REGION',
    regionArgs: ['--region', 'eu-west-3'],
    env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-2' },
    awsConfig: undefined,
    parameters: { groupName: 'web', kmsKeyArn: KMS_KEY_ARN, configurationTableStreamArn: STREAM_ARN },
  },
  singleOff: {
    region: 'eu-west-1',
    regionSource: 'AWS_REGION',
    regionArgs: [],
    env: { AWS_REGION: 'eu-west-1' },
    awsConfig: undefined,
    // The stream is given, but with the feature off nothing reads it.
    parameters: { groupName: 'web', metadataAndBackupS3Path: '', configurationTableStreamArn: STREAM_ARN },
  },
} satisfies Record<
  string,
  {
    region: string;
    regionSource: string;
    regionArgs: string[];
    env: Record<string, string>;
    awsConfig: string | undefined;
    parameters: RawParameters;
  }
>;
type Mode = keyof typeof PACKAGINGS;
const MODES = Object.keys(PACKAGINGS) as Mode[];
const FEATURE_ON_MODES: Mode[] = ['allGroups', 'allGroupsKms', 'single'];
const FEATURE_OFF_MODES: Mode[] = ['allGroupsOff', 'singleOff'];

const LAMBDA_LOGICAL_IDS: Record<FunctionName, string> = {
  planRun: 'PlanRunLambdaFunction',
  backupTable: 'BackupTableLambdaFunction',
  exportDiscovery: 'ExportDiscoveryLambdaFunction',
  exportInstances: 'ExportInstancesLambdaFunction',
  exportMaintenanceWindows: 'ExportMaintenanceWindowsLambdaFunction',
  archiveBackups: 'ArchiveBackupsLambdaFunction',
  summarize: 'SummarizeLambdaFunction',
  reconcileGroups: 'ReconcileGroupsLambdaFunction',
  startScheduledRun: 'StartScheduledRunLambdaFunction',
  backupStatus: 'BackupStatusLambdaFunction',
};
/** Each Task of the workflow, with the function it invokes; the functions not listed are not the workflow's. */
const WORKFLOW_TASKS: Record<string, FunctionName> = {
  PlanRun: 'planRun',
  BackupConfiguration: 'backupTable',
  BackupScheduler: 'backupTable',
  ExportDiscovery: 'exportDiscovery',
  ExportInstances: 'exportInstances',
  ExportMaintenanceWindows: 'exportMaintenanceWindows',
  Archive: 'archiveBackups',
  Summarize: 'summarize',
};
const WORKFLOW_FUNCTIONS = [...new Set(Object.values(WORKFLOW_TASKS))];

/**
 * Step Functions log delivery: these actions support no resource-level permission, so AWS documents
 * them on "*" for a state machine role that logs to CloudWatch Logs.
 */
const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];

// Grants as IAM reads them, with CloudFormation's placeholders for what is known at deploy time.
const P = '${AWS::Partition}';
const R = '${AWS::Region}';
const A = '${AWS::AccountId}';
const arn = (service: string, resource: string) => `arn:${P}:${service}:${R}:${A}:${resource}`;
const BUCKET_ARN = `arn:${P}:s3:::clonesquad-cmdb-local`;
const ANY_STACK = arn('cloudformation', 'stack/*');
const CRAWLER = arn('glue', `crawler/${DEFAULT_CRAWLER_NAME}`);
/**
 * The deployment's own account in its Organization. The ARN names the Organization and its
 * management account, which a member account does not know: the only wildcards before the resource
 * part that a grant may hold.
 */
const OWN_ACCOUNT_IN_ORGANIZATION = `arn:${P}:organizations::*:account/o-*/${A}`;
const KMS_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];
/** Subfleets from tag listings, not from the fleet's whole description. */
const SUBFLEET_READS = ['ec2:DescribeInstanceStatus *', 'ec2:DescribeTags *'];
const METADATA_WRITE_ACTIONS = ['s3:PutObject', 's3:PutObjectAcl', 's3:DeleteObject', 's3:AbortMultipartUpload'];
const STACK_READS = ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources'];
const DISCOVERY_STACK_READS = [
  'cloudformation:DescribeStacks',
  'cloudformation:GetTemplate',
  'cloudformation:GetTemplateSummary',
  'cloudformation:DescribeStackResource',
];
/** Configuration rows whose keys `backup.cron`'s effective value is read from. */
const BACKUP_CRON_ROW_KEYS = ['override:backup.cron', 'config.active_parameter_set', 'backup.cron', '[*]backup.cron'];

const each = (actions: string[], resources: string[]) =>
  actions.flatMap((action) => resources.map((resource) => `${action} ${resource}`));

/** What a deployment writes and reads, for its group (`*`: any group of its account and region). */
function groupResources(group: string, deployment: string) {
  const backups = `${BUCKET_ARN}/clonesquad/backups/accountid=${A}/region=${R}/groupname=${group}`;
  const file = (table: string) => `${A}-${R}-${table}-cs-${group}.yaml`;
  const metadataFolder = (table: string) =>
    `clonesquad/metadata/${table}/accountid=${A}/region=${R}/groupname=${group}/`;
  const metadata = (tables: string[]) => tables.map((table) => `${BUCKET_ARN}/${metadataFolder(table)}*`);
  return {
    archives: ['configuration', 'scheduler'].map((table) => `${backups}/archive/*-${file(table)}`),
    latest: ['configuration', 'scheduler'].map((table) => `${backups}/latest-${file(table)}`),
    metadataFolder,
    metadata,
    // A write HEADs its object first (s3:GetObject) and marks a partition it creates for the catalog.
    writeMetadata: (tables: string[]) => [
      ...each([...METADATA_WRITE_ACTIONS, 's3:GetObject'], metadata(tables)),
      ...tables.map(
        (table) =>
          `s3:PutObject ${BUCKET_ARN}/clonesquad/metadata/_new-partitions/accountid=${A}/region=${R}/groupname=${group}/${table}`,
      ),
      `s3:ListBucket ${BUCKET_ARN}`,
    ],
    configurationTable: arn('dynamodb', `table/CloneSquad-${group}-Configuration`),
    schedulerTable: arn('dynamodb', `table/CloneSquad-${group}-Scheduler`),
    stateMachine: arn('states', `stateMachine:${deployment}-BackupCmdb`),
    executions: arn('states', `execution:${deployment}-BackupCmdb:*`),
    schedules: arn('scheduler', `schedule/${deployment}-BackupCmdb/*`),
    // IAM names are global to the account: one role per region.
    scheduleRole: `arn:${P}:iam::${A}:role/${deployment}-BackupSchedules-${R}`,
  };
}
const ALL = groupResources('*', 'CloneSquadBackupCmdb-dev');
const WEB = groupResources('web', 'CloneSquad-web-dev');
const ALL_METADATA = ['discovery', 'configuration', 'scheduler', 'instances', 'volumes', 'maintenance-windows'];

/** Every grant of each function's role in the all-groups package (defaults), as `action resource`, logs aside. */
const ALL_GROUPS_GRANTS: Record<FunctionName, string[]> = {
  planRun: [
    'cloudformation:DescribeStacks *',
    ...each(STACK_READS, [ANY_STACK]),
    `states:StartExecution ${ALL.stateMachine}`,
  ],
  backupTable: [
    ...each(['dynamodb:Scan'], [ALL.configurationTable, ALL.schedulerTable]),
    ...each(['s3:PutObject', 's3:PutObjectAcl'], ALL.archives),
    ...each(['s3:PutObjectTagging'], ALL.archives),
    ...each(['s3:GetObject'], [...ALL.archives, ...ALL.latest]),
    ...ALL.writeMetadata(['configuration', 'scheduler']),
    ...each(['scheduler:GetSchedule', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule'], [ALL.schedules]),
    `iam:PassRole ${ALL.scheduleRole}`,
  ],
  exportDiscovery: [
    'cloudformation:DescribeStacks *',
    ...each([...DISCOVERY_STACK_READS, 'cloudformation:ListStackResources'], [ANY_STACK]),
    `organizations:DescribeAccount ${OWN_ACCOUNT_IN_ORGANIZATION}`,
    `lambda:GetFunctionConfiguration ${arn('lambda', 'function:CloneSquad-Discovery-*')}`,
    ...SUBFLEET_READS,
    ...ALL.writeMetadata(['discovery']),
  ],
  exportInstances: [
    'ec2:DescribeInstances *',
    'ec2:DescribeVolumes *',
    'ec2:DescribeInstanceTypes *',
    ...ALL.writeMetadata(['instances', 'volumes']),
  ],
  exportMaintenanceWindows: [
    'ssm:DescribeMaintenanceWindows *',
    `ssm:ListTagsForResource ${arn('ssm', 'maintenancewindow/*')}`,
    ...SUBFLEET_READS,
    ...ALL.writeMetadata(['maintenance-windows']),
  ],
  archiveBackups: [
    ...each(['s3:GetObject'], [...ALL.archives, ...ALL.latest]),
    ...each(['s3:PutObject', 's3:PutObjectAcl'], ALL.latest),
    `glue:StartCrawler ${CRAWLER}`,
  ],
  summarize: [],
  reconcileGroups: [
    'cloudformation:DescribeStacks *',
    ...each(STACK_READS, [ANY_STACK]),
    ...each(['dynamodb:GetItem', 'dynamodb:BatchGetItem'], [ALL.configurationTable]),
    ...each(
      ['scheduler:GetSchedule', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      [ALL.schedules],
    ),
    // Listing takes no resource but "*"; the call names the schedule group.
    'scheduler:ListSchedules *',
    `iam:PassRole ${ALL.scheduleRole}`,
    // A group that is gone: its metadata rows are deleted.
    ...each(['s3:DeleteObject'], ALL.metadata(ALL_METADATA)),
    `s3:ListBucket ${BUCKET_ARN}`,
  ],
  startScheduledRun: [`states:StartExecution ${ALL.stateMachine}`],
  backupStatus: [`states:DescribeExecution ${ALL.executions}`],
};

const KMS = each(KMS_ACTIONS, [KMS_KEY_ARN]);
const OWN_STACK = arn('cloudformation', 'stack/CloneSquad-web/*');

/** Every grant of each function's role in the single-group package (with a KMS key and the stream). */
const SINGLE_GROUP_GRANTS: Record<FunctionName, string[]> = {
  planRun: [`cloudformation:DescribeStacks ${OWN_STACK}`],
  backupTable: [
    ...each(['dynamodb:Scan'], [WEB.configurationTable, WEB.schedulerTable]),
    ...each(['s3:PutObject', 's3:PutObjectAcl'], WEB.archives),
    ...each(['s3:PutObjectTagging'], WEB.archives),
    ...each(['s3:GetObject'], [...WEB.archives, ...WEB.latest]),
    ...WEB.writeMetadata(['configuration', 'scheduler']),
    ...KMS,
    ...each(['scheduler:GetSchedule', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule'], [WEB.schedules]),
    `iam:PassRole ${WEB.scheduleRole}`,
  ],
  exportDiscovery: [
    ...each(DISCOVERY_STACK_READS, [OWN_STACK]),
    `organizations:DescribeAccount ${OWN_ACCOUNT_IN_ORGANIZATION}`,
    `lambda:GetFunctionConfiguration ${arn('lambda', 'function:CloneSquad-Discovery-web')}`,
    ...SUBFLEET_READS,
    ...WEB.writeMetadata(['discovery']),
    ...KMS,
  ],
  exportInstances: [
    'ec2:DescribeInstances *',
    'ec2:DescribeVolumes *',
    'ec2:DescribeInstanceTypes *',
    ...WEB.writeMetadata(['instances', 'volumes']),
    ...KMS,
  ],
  exportMaintenanceWindows: [
    'ssm:DescribeMaintenanceWindows *',
    `ssm:ListTagsForResource ${arn('ssm', 'maintenancewindow/*')}`,
    ...SUBFLEET_READS,
    ...WEB.writeMetadata(['maintenance-windows']),
    ...KMS,
  ],
  archiveBackups: [
    ...each(['s3:GetObject'], [...WEB.archives, ...WEB.latest]),
    ...each(['s3:PutObject', 's3:PutObjectAcl'], WEB.latest),
    ...KMS,
    `glue:StartCrawler ${CRAWLER}`,
  ],
  summarize: [],
  reconcileGroups: [
    `cloudformation:DescribeStacks ${OWN_STACK}`,
    ...each(['dynamodb:GetItem', 'dynamodb:BatchGetItem'], [WEB.configurationTable]),
    ...each(
      ['scheduler:GetSchedule', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      [WEB.schedules],
    ),
    'scheduler:ListSchedules *',
    `iam:PassRole ${WEB.scheduleRole}`,
    ...each(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
      [STREAM_ARN],
    ),
  ],
  startScheduledRun: [`states:StartExecution ${WEB.stateMachine}`],
  backupStatus: [`states:DescribeExecution ${WEB.executions}`],
};

/**
 * A CloudFormation value as IAM text: an `Fn::Sub` with its `${Name}` placeholders kept (`${!x}` is
 * CloudFormation's escape of a literal `${x}`), `${Name}` for a Ref and `${Id.Attribute}` for a GetAtt.
 */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Json;
  if ('Ref' in object) return `\${${String(object.Ref)}}`;
  if ('Fn::GetAtt' in object) return `\${${(object['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(separator);
  }
  if ('Fn::Sub' in object && typeof object['Fn::Sub'] === 'string') return object['Fn::Sub'].replace(/\$\{!/g, '${');
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function ofType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function statementsOf(role: Resource): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement | Statement[] } }[];
  return policies.flatMap((policy) => asArray(policy.PolicyDocument.Statement));
}

/** Every Allow of every role, one action on one resource a row. */
function grants(template: Template): Grant[] {
  return ofType(template, 'AWS::IAM::Role').flatMap(([role, resource]) =>
    statementsOf(resource)
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap((statement) =>
        asArray(statement.Action).flatMap((action) =>
          asArray(statement.Resource).map((value) => ({ role, action, resource: text(value) })),
        ),
      ),
  );
}

/** The logical id of the role a function runs with. */
function roleOf(template: Template, functionName: FunctionName): string {
  const role = text(template.Resources[LAMBDA_LOGICAL_IDS[functionName]].Properties.Role);
  const logicalId = /^\$\{(\w+)\.Arn\}$/.exec(role)?.[1];
  if (!logicalId) throw new Error(`${functionName}: its role is not a role of the stack: ${role}`);
  return logicalId;
}

/** A function's grants as sorted `action resource` lines, its own log writes aside. */
function grantLines(template: Template, functionName: FunctionName): string[] {
  const role = roleOf(template, functionName);
  return grants(template)
    .filter((grant) => grant.role === role && !grant.action.startsWith('logs:'))
    .map((grant) => `${grant.action} ${grant.resource}`)
    .sort();
}

const variablesOf = (template: Template, functionName: FunctionName) =>
  (template.Resources[LAMBDA_LOGICAL_IDS[functionName]].Properties.Environment as { Variables: Json }).Variables;

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the action to throw');
}

/** `npm run package -- args` as an operator runs it, with only the AWS variables given and `home` as HOME. */
function npmRunPackage(args: string[], env: Record<string, string>, home: string): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', 'package', '--', ...args],
      {
        cwd: PROJECT_ROOT,
        // No update notice from npm in what the test reads.
        env: { ...inherited, HOME: home, npm_config_update_notifier: 'false', ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

interface Packaged {
  directory: string;
  template: Template;
  /** osls's record of the service, as `osls deploy --package` reads it. */
  state: { service: { provider: { region: string } } };
  output: string;
  parameters: DeploymentParameters;
  names: ResourceNames;
}

describe('deployment package (npm run package)', function () {
  this.timeout(600_000);
  const homes: string[] = [];
  const packagings = new Map<Mode, Promise<Packaged>>();
  // Packagings share the .esbuild work folder: one at a time.
  let queue: Promise<unknown> = Promise.resolve();

  function newHome(awsConfig?: string): string {
    const home = mkdtempSync(join(tmpdir(), 'cs-package-'));
    homes.push(home);
    if (awsConfig !== undefined) {
      mkdirSync(join(home, '.aws'));
      writeFileSync(join(home, '.aws', 'config'), awsConfig);
    }
    return home;
  }

  async function packageFor(mode: Mode): Promise<Packaged> {
    const { regionArgs, env, awsConfig, parameters } = PACKAGINGS[mode];
    const home = newHome(awsConfig);
    const directory = join(home, 'package');
    const params = Object.entries(parameters).map(([name, value]) => `--param=${name}=${value}`);
    const run = await npmRunPackage(['--package', directory, ...regionArgs, ...params], env, home);
    if (run.code !== 0) throw new Error(`npm run package (${mode}) failed:\n${run.stdout}${run.stderr}`);
    const read = (file: string) => JSON.parse(readFileSync(join(directory, file), 'utf8')) as unknown;
    const resolved = resolveParameters({ ...DEFAULT_PARAMETERS, ...parameters });
    return {
      directory,
      template: read('cloudformation-template-update-stack.json') as Template,
      state: read('serverless-state.json') as Packaged['state'],
      output: run.stdout + run.stderr,
      parameters: resolved,
      names: resourceNames(resolved.groupName, 'dev'),
    };
  }

  /** Each packaging is made once, when a test first needs it. */
  function packaged(mode: Mode): Promise<Packaged> {
    let packaging = packagings.get(mode);
    if (!packaging) {
      packaging = queue.then(() => packageFor(mode));
      queue = packaging.catch(() => undefined);
      packagings.set(mode, packaging);
    }
    return packaging;
  }
  const template = async (mode: Mode) => (await packaged(mode)).template;

  before(() => ensurePythonEnv());

  after(() => {
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  describe('the region', () => {
    for (const mode of ['allGroups', 'allGroupsKms', 'allGroupsOff', 'single'] as const) {
      const { region, regionSource } = PACKAGINGS[mode];
      it(`packages for the region of ${regionSource}`, async () => {
        const { state, output } = await packaged(mode);
        // serverless.yml's provider.region, which osls deploys to.
        expect(state.service.provider.region).to.equal(region);
        expect(output).to.include(`Packaging clonesquad-backup-cmdb for stage dev (${region})\n`);
      });
    }

    it("writes no region into the template: every ARN takes the stack's own (AWS::Region)", async () => {
      for (const mode of MODES) {
        const { template: packagedTemplate, parameters } = await packaged(mode);
        let json = JSON.stringify(packagedTemplate);
        for (const given of [parameters.kmsKeyArn, parameters.configurationTableStreamArn]) {
          if (given) json = json.replaceAll(given, '');
        }
        expect(json.match(/[a-z]{2}-[a-z]+-\d/g), mode).to.equal(null);
      }
    });

    it('refuses to package without a region, exit 2, saying how to give one', async () => {
      // A profile without a region, as `aws configure` leaves it when the region is skipped.
      const home = newHome('[default]\noutput = json\n');
      const run = await npmRunPackage(['--package', join(home, 'package')], {}, home);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.match(
        /^error: --region: it is not given, and neither AWS_REGION, AWS_DEFAULT_REGION nor profile "default" in .+ names a region\. Fix: pass --region, for example --region eu-west-1, or set the profile's region with aws configure set region eu-west-1 --profile default\n$/,
      );
      expect(existsSync(join(home, 'package'))).to.equal(false);
    });

    it('refuses a region that is not a region name, exit 2', async () => {
      const home = newHome();
      const run = await npmRunPackage(['--package', join(home, 'package')], { AWS_REGION: 'eu-west' }, home);
      expect({ code: run.code, stderr: run.stderr }).to.deep.equal({
        code: 2,
        stderr: 'error: AWS_REGION "eu-west": it is not an AWS region name. Fix: write it like eu-west-1\n',
      });
    });
  });

  // No check is ignored: the only warning seen, W3005 on the DependsOn osls adds for a role named by logical id,
  // is avoided where it comes from (infra/functions.ts passes each role as an Fn::Sub of its ARN).
  it('passes cfn-lint in every mode, warnings included', async () => {
    const templates = await Promise.all(
      MODES.map(async (mode) => join((await packaged(mode)).directory, 'cloudformation-template-update-stack.json')),
    );
    const lint = await new Promise<Run>((resolve) =>
      execFile(venvBin('cfn-lint'), ['--', ...templates], (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      ),
    );
    expect(lint, `cfn-lint:\n${lint.stdout}${lint.stderr}`).to.deep.equal({ code: 0, stdout: '', stderr: '' });
  });

  it('holds exactly the resources of its mode', async () => {
    const common: Record<string, string> = {
      ServerlessDeploymentBucket: 'AWS::S3::Bucket',
      ServerlessDeploymentBucketPolicy: 'AWS::S3::BucketPolicy',
      Workflow: 'AWS::StepFunctions::StateMachine',
      WorkflowExecutionRole: 'AWS::IAM::Role',
      WorkflowLogGroup: 'AWS::Logs::LogGroup',
      BackupApi: 'AWS::ApiGateway::RestApi',
      BackupApiBackupResource: 'AWS::ApiGateway::Resource',
      BackupApiExecutionResource: 'AWS::ApiGateway::Resource',
      BackupApiRunRequestModel: 'AWS::ApiGateway::Model',
      BackupApiBodyValidator: 'AWS::ApiGateway::RequestValidator',
      BackupApiBadBodyResponse: 'AWS::ApiGateway::GatewayResponse',
      BackupApiStartMethod: 'AWS::ApiGateway::Method',
      BackupApiStatusMethod: 'AWS::ApiGateway::Method',
      BackupApiDeployment: 'AWS::ApiGateway::Deployment',
      BackupApiStage: 'AWS::ApiGateway::Stage',
      BackupApiRole: 'AWS::IAM::Role',
      BackupApiStatusPermission: 'AWS::Lambda::Permission',
      ...Object.fromEntries(
        FUNCTIONS.flatMap((name) => {
          const id = LAMBDA_LOGICAL_IDS[name].replace('LambdaFunction', '');
          return [
            [`${id}LambdaFunction`, 'AWS::Lambda::Function'],
            [`${id}LogGroup`, 'AWS::Logs::LogGroup'],
            [`${id}Role`, 'AWS::IAM::Role'],
          ];
        }),
      ),
    };
    const triggers = {
      BackupScheduleGroup: 'AWS::Scheduler::ScheduleGroup',
      BackupSchedulesRole: 'AWS::IAM::Role',
      GroupsReconcileSchedule: 'AWS::Scheduler::Schedule',
      StackChangesRule: 'AWS::Events::Rule',
      StackChangesPermission: 'AWS::Lambda::Permission',
    };
    const expected: Record<Mode, Record<string, string>> = {
      allGroups: { ...common, ...triggers },
      allGroupsKms: { ...common, ...triggers },
      allGroupsOff: common,
      single: {
        ...common,
        ...triggers,
        ScheduleRowChangesEventSourceMapping: 'AWS::Lambda::EventSourceMapping',
      },
      singleOff: common,
    };
    for (const mode of MODES) {
      const found = Object.fromEntries(
        Object.entries((await template(mode)).Resources).map(([id, resource]) => [
          // A new API deployment id whenever the API changes.
          id.replace(/^BackupApiDeployment[0-9a-f]{10}$/, 'BackupApiDeployment'),
          resource.Type,
        ]),
      );
      expect(found, mode).to.deep.equal(expected[mode]);
    }
  });

  describe('the state machine', () => {
    const machineOf = async (mode: Mode) => {
      const machines = ofType(await template(mode), 'AWS::StepFunctions::StateMachine');
      expect(machines).to.have.length(1);
      return machines[0][1];
    };
    /** The definition with each function's ARN as it is once deployed. */
    const definitionOf = async (mode: Mode) => {
      const { DefinitionString } = (await machineOf(mode)).Properties as {
        DefinitionString: { 'Fn::Sub': [string, Record<string, unknown>] };
      };
      const [body, substitutions] = DefinitionString['Fn::Sub'];
      let json = body;
      for (const [placeholder, value] of Object.entries(substitutions)) {
        const logicalId = /^\$\{(\w+)\.Arn\}$/.exec(text(value))![1];
        json = json.replaceAll(`\${${placeholder}}`, `arn:aws:lambda:eu-west-1:111122223333:function:${logicalId}`);
      }
      expect(json, 'every placeholder substituted').to.not.match(/\$\{/);
      return { json, substitutions };
    };

    /** Task state name → Resource, branches included. */
    function tasks(states: Record<string, Json>): Record<string, string> {
      return Object.fromEntries(
        Object.entries(states).flatMap(([name, state]) => [
          ...(state.Type === 'Task' ? [[name, state.Resource as string]] : []),
          ...((state.Branches ?? []) as { States: Record<string, Json> }[]).flatMap((branch) =>
            Object.entries(tasks(branch.States)),
          ),
        ]),
      );
    }

    it('is one Standard state machine, logging errors without execution data to a retained log group', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        const { Properties } = await machineOf(mode);
        expect(Properties.StateMachineType).to.equal('STANDARD');
        expect(Properties.StateMachineName).to.equal(
          mode === 'allGroups' ? 'CloneSquadBackupCmdb-dev-BackupCmdb' : 'CloneSquad-web-dev-BackupCmdb',
        );
        expect(Properties.LoggingConfiguration).to.deep.equal({
          Level: 'ERROR',
          IncludeExecutionData: false,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['WorkflowLogGroup', 'Arn'] } } }],
        });
        expect(Properties.TracingConfiguration).to.equal(undefined);
        expect(Properties.RoleArn).to.deep.equal({ 'Fn::GetAtt': ['WorkflowExecutionRole', 'Arn'] });
      }
    });

    it('invokes exactly the workflow functions, each from its Task, and calls no other service', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        const { json, substitutions } = await definitionOf(mode);
        expect(tasks((JSON.parse(json) as { States: Record<string, Json> }).States)).to.deep.equal(
          Object.fromEntries(
            Object.entries(WORKFLOW_TASKS).map(([state, name]) => [
              state,
              `arn:aws:lambda:eu-west-1:111122223333:function:${LAMBDA_LOGICAL_IDS[name]}`,
            ]),
          ),
        );
        expect(Object.values(substitutions).map(text).sort()).to.deep.equal(
          WORKFLOW_FUNCTIONS.map((name) => `\${${LAMBDA_LOGICAL_IDS[name]}.Arn}`).sort(),
        );
      }
    });

    it('is a valid Amazon States Language definition (asl-validator)', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        // Parsed afresh: asl-validator mutates what it validates.
        const result = aslValidator(JSON.parse((await definitionOf(mode)).json) as object);
        expect(result.isValid, result.errorsText('\n')).to.equal(true);
      }
    });

    it('may invoke exactly the workflow functions, and nothing else but deliver its logs', async () => {
      for (const mode of MODES) {
        const found = grants(await template(mode))
          .filter((grant) => grant.role === 'WorkflowExecutionRole')
          .map((grant) => `${grant.action} ${grant.resource}`);
        expect(found.sort(), mode).to.deep.equal(
          [
            ...WORKFLOW_FUNCTIONS.map((name) => `lambda:InvokeFunction \${${LAMBDA_LOGICAL_IDS[name]}.Arn}`),
            ...LOG_DELIVERY_ACTIONS.map((action) => `${action} *`),
          ].sort(),
        );
      }
    });
  });

  describe('the functions', () => {
    it('are the ten functions, on Node.js 22 and arm64, each as infra/functions.ts describes it', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        const deployment = mode === 'allGroups' ? 'CloneSquadBackupCmdb-dev' : 'CloneSquad-web-dev';
        const functions = ofType(await template(mode), 'AWS::Lambda::Function');
        expect(functions.map(([id]) => id).sort()).to.deep.equal(Object.values(LAMBDA_LOGICAL_IDS).sort());
        for (const name of FUNCTIONS) {
          const { Properties } = (await template(mode)).Resources[LAMBDA_LOGICAL_IDS[name]];
          const { handler, description, timeout, memorySize } = FUNCTION_DESCRIPTIONS[name];
          expect(Properties, `${mode} ${name}`).to.deep.include({
            FunctionName: `${deployment}-${name}`,
            Handler: handler,
            Description: description,
            Timeout: timeout,
            MemorySize: memorySize,
            Runtime: 'nodejs22.x',
            Architectures: ['arm64'],
          });
        }
      }
    });

    it('get the environment of infra/deployment-config.ts, tokens as Fn::Sub, in every mode', async () => {
      for (const mode of MODES) {
        const { parameters, names } = await packaged(mode);
        const expected = Object.fromEntries(
          Object.entries(functionEnvironment(parameters, names)).map(([name, value]) => [name, cfn(value)]),
        );
        for (const name of FUNCTIONS)
          expect(variablesOf(await template(mode), name), `${mode} ${name}`).to.deep.equal(expected);
      }
    });

    it('are told their group, tables, schedule and state machine (every group, and GroupName=web)', async () => {
      const sub = (value: string) => ({ 'Fn::Sub': value });
      const shared = {
        ACCOUNT_ID: sub(A),
        METADATA_AND_BACKUP_S3_PATH: 's3://clonesquad-cmdb-local/clonesquad',
        TIME_ZONE: '',
        USER_SUPPLIED_JSON_METADATA: '',
        GLUE_CRAWLER_NAME: DEFAULT_CRAWLER_NAME,
      };
      expect(variablesOf(await template('allGroups'), 'planRun')).to.deep.equal({
        ...shared,
        GROUP_NAME: '',
        CONFIGURATION_TABLE: '',
        SCHEDULER_TABLE: '',
        CLONESQUAD_STACK_NAME: '',
        KMS_KEY_ARN: '',
        BACKUP_SCHEDULE_GROUP: 'CloneSquadBackupCmdb-dev-BackupCmdb',
        SCHEDULED_RUN_FUNCTION_ARN: sub(arn('lambda', 'function:CloneSquadBackupCmdb-dev-startScheduledRun')),
        BACKUP_SCHEDULE_ROLE_ARN: sub(ALL.scheduleRole),
        STATE_MACHINE_ARN: sub(ALL.stateMachine),
      });
      expect(variablesOf(await template('single'), 'planRun')).to.deep.equal({
        ...shared,
        GROUP_NAME: 'web',
        CONFIGURATION_TABLE: 'CloneSquad-web-Configuration',
        SCHEDULER_TABLE: 'CloneSquad-web-Scheduler',
        CLONESQUAD_STACK_NAME: 'CloneSquad-web',
        KMS_KEY_ARN: KMS_KEY_ARN,
        BACKUP_SCHEDULE_GROUP: 'CloneSquad-web-dev-BackupCmdb',
        SCHEDULED_RUN_FUNCTION_ARN: sub(arn('lambda', 'function:CloneSquad-web-dev-startScheduledRun')),
        BACKUP_SCHEDULE_ROLE_ARN: sub(WEB.scheduleRole),
        STATE_MACHINE_ARN: sub(WEB.stateMachine),
      });
    });

    it('are told of no path and no schedule when MetadataAndBackupS3Path is empty', async () => {
      for (const mode of FEATURE_OFF_MODES) {
        expect(variablesOf(await template(mode), 'reconcileGroups'), mode).to.deep.include({
          METADATA_AND_BACKUP_S3_PATH: '',
          BACKUP_SCHEDULE_GROUP: '',
          SCHEDULED_RUN_FUNCTION_ARN: '',
          BACKUP_SCHEDULE_ROLE_ARN: '',
        });
      }
    });

    it('each run with a role of their own, trusted by Lambda only, with one inline policy and no other', async () => {
      for (const mode of MODES) {
        const packagedTemplate = await template(mode);
        const roles = FUNCTIONS.map((name) => roleOf(packagedTemplate, name));
        expect(roles).to.deep.equal(FUNCTIONS.map((name) => `${name[0].toUpperCase()}${name.slice(1)}Role`));
        for (const role of roles) {
          const { Properties } = packagedTemplate.Resources[role];
          expect(Object.keys(Properties).sort(), `${mode} ${role}`).to.deep.equal([
            'AssumeRolePolicyDocument',
            'Policies',
          ]);
          expect(Properties.AssumeRolePolicyDocument).to.deep.equal({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          });
        }
        const types = Object.values(packagedTemplate.Resources).map((resource) => resource.Type);
        expect(types).to.not.include.members(['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']);
      }
    });

    it('keep every log group 30 days', async () => {
      const logGroups = ofType(await template('allGroups'), 'AWS::Logs::LogGroup');
      expect(logGroups).to.have.length(FUNCTIONS.length + 1);
      for (const [id, { Properties }] of logGroups) expect(Properties.RetentionInDays, id).to.equal(30);
    });
  });

  describe('IAM', () => {
    it("gives each function's role exactly the statements of its description (roleStatements), in every mode", async () => {
      for (const mode of MODES) {
        const { template: packagedTemplate, parameters, names } = await packaged(mode);
        const described = roleStatements(parameters, names);
        for (const name of FUNCTIONS) {
          expect(packagedTemplate.Resources[roleOf(packagedTemplate, name)].Properties.Policies).to.deep.equal([
            { PolicyName: name, PolicyDocument: cfnDeep(policyDocument(described[name])) },
          ]);
        }
      }
    });

    it('names each statement of a policy once (IAM refuses a policy that repeats a Sid)', async () => {
      for (const mode of MODES) {
        for (const [role, resource] of ofType(await template(mode), 'AWS::IAM::Role')) {
          const sids = statementsOf(resource).map((statement) => statement.Sid);
          expect(
            sids.filter((sid, index) => sids.indexOf(sid) !== index),
            `${mode} ${role}`,
          ).to.deep.equal([]);
        }
      }
    });

    for (const name of FUNCTIONS) {
      it(`gives ${name} exactly the grants it needs, for every group and for GroupName=web`, async () => {
        expect(grantLines(await template('allGroups'), name), 'every group').to.deep.equal(
          [...ALL_GROUPS_GRANTS[name]].sort(),
        );
        expect(grantLines(await template('single'), name), 'GroupName=web').to.deep.equal(
          [...SINGLE_GROUP_GRANTS[name]].sort(),
        );
      });
    }

    it('lets every function write only its own logs', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        const packagedTemplate = await template(mode);
        for (const name of FUNCTIONS) {
          const logs = grants(packagedTemplate).filter(
            (grant) => grant.role === roleOf(packagedTemplate, name) && grant.action.startsWith('logs:'),
          );
          expect(logs.map((grant) => `${grant.action} ${grant.resource}`)).to.deep.equal(
            each(
              ['logs:CreateLogStream', 'logs:PutLogEvents'],
              [`\${${LAMBDA_LOGICAL_IDS[name].replace('LambdaFunction', 'LogGroup')}.Arn}`],
            ),
          );
        }
      }
    });

    it('grants on "*" only what takes no resource: listing stacks (every group), schedules, EC2 and SSM reads, log delivery', async () => {
      const onAnything = async (mode: Mode) =>
        grants(await template(mode))
          .filter((grant) => grant.resource === '*')
          .map((grant) => `${grant.role} ${grant.action}`)
          .sort();
      const shared = [
        'ExportDiscoveryRole ec2:DescribeInstanceStatus',
        'ExportDiscoveryRole ec2:DescribeTags',
        'ExportInstancesRole ec2:DescribeInstanceTypes',
        'ExportInstancesRole ec2:DescribeInstances',
        'ExportInstancesRole ec2:DescribeVolumes',
        'ExportMaintenanceWindowsRole ec2:DescribeInstanceStatus',
        'ExportMaintenanceWindowsRole ec2:DescribeTags',
        'ExportMaintenanceWindowsRole ssm:DescribeMaintenanceWindows',
        'ReconcileGroupsRole scheduler:ListSchedules',
        ...LOG_DELIVERY_ACTIONS.map((action) => `WorkflowExecutionRole ${action}`),
      ];
      // Listing every stack (DescribeStacks without a stack name) is authorised on "*" only.
      const findStacks = ['PlanRunRole', 'ExportDiscoveryRole', 'ReconcileGroupsRole'].map(
        (role) => `${role} cloudformation:DescribeStacks`,
      );
      expect(await onAnything('allGroups')).to.deep.equal([...shared, ...findStacks].sort());
      expect(await onAnything('single')).to.deep.equal([...shared].sort());
    });

    it('holds no wildcard before the resource part of an ARN', async () => {
      for (const mode of MODES) {
        for (const grant of grants(await template(mode))) {
          const where = `${mode} ${grant.role} ${grant.action} ${grant.resource}`;
          // "*" itself (above), a resource of this stack, or an ARN whose partition, service, region
          // and account are exact.
          if (grant.resource === '*' || /^\$\{\w+\.Arn\}$/.test(grant.resource)) continue;
          if (grant.resource === OWN_ACCOUNT_IN_ORGANIZATION) continue;
          expect(grant.resource, where).to.match(/^arn:/);
          const head = grant.resource
            .replace(/\$\{[^}]*\}/g, 'X')
            .split(':')
            .slice(0, 5)
            .join(':');
          expect(head, where).to.not.include('*');
        }
      }
    });

    it("reaches S3 only under the deployment's own account and region, any group's (every group) or web's", async () => {
      // Object grants (ListBucket aside): every group's deployment also deletes the rows of a group that is gone.
      for (const [mode, group, count] of [
        ['allGroups', '*', 60],
        ['allGroupsKms', '*', 60],
        ['single', 'web', 54],
      ] as const) {
        const objects = grants(await template(mode)).filter(
          (grant) => grant.action.startsWith('s3:') && grant.action !== 's3:ListBucket',
        );
        expect(objects, mode).to.have.length(count);
        for (const grant of objects) {
          expect(grant.resource, `${mode} ${grant.role} ${grant.action}`).to.match(
            new RegExp(
              `^${escapeRegex(`${BUCKET_ARN}/clonesquad/`)}(backups|metadata/_?[a-z-]+)/` +
                escapeRegex(`accountid=${A}/region=${R}/groupname=${group}/`),
            ),
          );
        }
      }
    });

    it('creates an archive only as a new object (If-None-Match: *), from backupTable only, never replaces one', async () => {
      for (const mode of FEATURE_ON_MODES) {
        const archivePuts = ofType(await template(mode), 'AWS::IAM::Role').flatMap(([role, resource]) =>
          statementsOf(resource)
            .filter((statement) => asArray(statement.Action).includes('s3:PutObject'))
            .filter((statement) => asArray(statement.Resource).some((value) => text(value).includes('/archive/')))
            .map((statement) => ({ role, statement })),
        );
        expect(
          archivePuts.map(({ role }) => role),
          mode,
        ).to.deep.equal(['BackupTableRole']);
        expect(archivePuts[0].statement.Action).to.deep.equal(['s3:PutObject']);
        expect(archivePuts[0].statement.Condition).to.deep.equal({
          StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 's3:if-none-match': '*' },
        });
      }
    });

    it('puts every S3 object with the bucket-owner-full-control ACL', async () => {
      for (const mode of FEATURE_ON_MODES) {
        for (const [role, resource] of ofType(await template(mode), 'AWS::IAM::Role')) {
          for (const statement of statementsOf(resource)) {
            const actions = asArray(statement.Action);
            if (!actions.some((action) => action === 's3:PutObject' || action === 's3:PutObjectAcl')) continue;
            // Metadata objects may be uploaded in parts, whose requests carry no ACL header; any ACL sent
            // must still be bucket-owner-full-control. Backups are single PUTs and always carry it.
            const resources = asArray(statement.Resource).map(text);
            // A new partition's marker is one small PUT, which always carries the ACL.
            const metadataWrite = resources.every(
              (value) => value.includes('/metadata/') && !value.includes('/_new-partitions/'),
            );
            const archiveCreate =
              actions.includes('s3:PutObject') && resources.every((value) => value.includes('/archive/'));
            expect(statement.Condition, `${mode} ${role} ${statement.Sid}`).to.deep.equal(
              metadataWrite
                ? { StringEqualsIfExists: { 's3:x-amz-acl': 'bucket-owner-full-control' } }
                : {
                    StringEquals: {
                      's3:x-amz-acl': 'bucket-owner-full-control',
                      ...(archiveCreate ? { 's3:if-none-match': '*' } : {}),
                    },
                  },
            );
          }
        }
      }
    });

    it("lists only the metadata partition folders a function writes: any group's (every group) or web's", async () => {
      const listed = async (mode: Mode, name: FunctionName) => {
        const packagedTemplate = await template(mode);
        return statementsOf(packagedTemplate.Resources[roleOf(packagedTemplate, name)])
          .filter((statement) => asArray(statement.Action).includes('s3:ListBucket'))
          .map((statement) => ({
            Resource: asArray(statement.Resource).map(text),
            Condition: Object.fromEntries(
              Object.entries(statement.Condition!).map(([operator, keys]) => [
                operator,
                Object.fromEntries(
                  Object.entries(keys as Json).map(([key, values]) => [key, asArray(values).map(text)]),
                ),
              ]),
            ),
          }));
      };
      const writers: [FunctionName, string[]][] = [
        ['backupTable', ['configuration', 'scheduler']],
        ['exportDiscovery', ['discovery']],
        ['exportInstances', ['instances', 'volumes']],
        ['exportMaintenanceWindows', ['maintenance-windows']],
        ['reconcileGroups', ALL_METADATA],
      ];
      for (const [name, tables] of writers) {
        expect(await listed('allGroups', name), name).to.deep.equal([
          {
            Resource: [BUCKET_ARN],
            Condition: { StringLike: { 's3:prefix': tables.map((table) => ALL.metadataFolder(table)) } },
          },
        ]);
        if (name === 'reconcileGroups') continue;
        expect(await listed('single', name), name).to.deep.equal([
          {
            Resource: [BUCKET_ARN],
            Condition: { StringEquals: { 's3:prefix': tables.map((table) => WEB.metadataFolder(table)) } },
          },
        ]);
      }
      expect(await listed('single', 'reconcileGroups')).to.deep.equal([]);
    });

    it('lets exactly the functions that read or write objects use the KMS key, through S3 only', async () => {
      const writers = [
        'backupTable',
        'exportDiscovery',
        'exportInstances',
        'exportMaintenanceWindows',
        'archiveBackups',
      ];
      for (const mode of ['allGroupsKms', 'single'] as const) {
        const statements = ofType(await template(mode), 'AWS::IAM::Role').flatMap(([role, resource]) =>
          statementsOf(resource)
            .filter((statement) => asArray(statement.Action).some((action) => action.startsWith('kms:')))
            .map((statement) => ({ role, statement })),
        );
        expect(statements.map(({ role }) => role).sort(), mode).to.deep.equal(
          writers.map((name) => `${name[0].toUpperCase()}${name.slice(1)}Role`).sort(),
        );
        for (const { statement } of statements) {
          expect(statement).to.deep.equal({
            Sid: 'EncryptWithKmsKeyThroughS3',
            Effect: 'Allow',
            Action: KMS_ACTIONS,
            Resource: [KMS_KEY_ARN],
            // The bucket may be in another region (a central account's).
            Condition: { StringLike: { 'kms:ViaService': ['s3.*.amazonaws.com', 's3.*.amazonaws.com.cn'] } },
          });
        }
      }
      expect(grants(await template('allGroups')).filter((grant) => grant.action.startsWith('kms:'))).to.deep.equal([]);
    });

    it('has no S3, KMS, schedule, PassRole or stream grant when MetadataAndBackupS3Path is empty, KmsKeyArn and the stream given or not', async () => {
      for (const mode of FEATURE_OFF_MODES) {
        const packagedTemplate = await template(mode);
        expect(
          grants(packagedTemplate).filter((grant) =>
            /^(s3|kms|scheduler|iam):|^dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)$/.test(
              grant.action,
            ),
          ),
          mode,
        ).to.deep.equal([]);
        // The functions still run, and report the feature off: the tables are still read.
        expect(grantLines(packagedTemplate, 'backupTable'), mode).to.deep.equal(
          each(
            ['dynamodb:Scan'],
            mode === 'singleOff'
              ? [WEB.configurationTable, WEB.schedulerTable]
              : [ALL.configurationTable, ALL.schedulerTable],
          ),
        );
        expect(grantLines(packagedTemplate, 'startScheduledRun'), mode).to.deep.equal([]);
      }
    });

    it("reads only the Configuration rows backup.cron's effective value comes from", async () => {
      for (const [mode, table] of [
        ['allGroups', ALL.configurationTable],
        ['single', WEB.configurationTable],
      ] as const) {
        const packagedTemplate = await template(mode);
        const reads = statementsOf(packagedTemplate.Resources[roleOf(packagedTemplate, 'reconcileGroups')]).filter(
          (statement) => asArray(statement.Action).includes('dynamodb:GetItem'),
        );
        expect(
          reads.map((statement) => ({ ...statement, Resource: asArray(statement.Resource).map(text) })),
        ).to.deep.equal([
          {
            Sid: 'ReadBackupCronRows',
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
            Resource: [table],
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': BACKUP_CRON_ROW_KEYS } },
          },
        ]);
      }
    });

    it('passes the schedules role to EventBridge Scheduler only, from the functions that write schedules', async () => {
      for (const [mode, role] of [
        ['allGroups', ALL.scheduleRole],
        ['single', WEB.scheduleRole],
      ] as const) {
        const passRole = ofType(await template(mode), 'AWS::IAM::Role').flatMap(([id, resource]) =>
          statementsOf(resource)
            .filter((statement) => asArray(statement.Action).includes('iam:PassRole'))
            .map((statement) => ({ id, ...statement, Resource: asArray(statement.Resource).map(text) })),
        );
        const expected = (id: string) => ({
          id,
          Sid: 'PassScheduleRoleToScheduler',
          Effect: 'Allow',
          Action: ['iam:PassRole'],
          Resource: [role],
          Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        });
        expect(passRole, mode).to.deep.equal([expected('BackupTableRole'), expected('ReconcileGroupsRole')]);
      }
    });

    it('starts the crawler from archiveBackups only, and none when GlueCrawlerName is empty', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        expect(
          grants(await template(mode)).filter((grant) => grant.action.startsWith('glue:')),
          mode,
        ).to.deep.equal([{ role: 'ArchiveBackupsRole', action: 'glue:StartCrawler', resource: CRAWLER }]);
      }
      for (const groupName of [undefined, 'web']) {
        const parameters = resolveParameters({
          groupName,
          metadataAndBackupS3Path: DEFAULT_PARAMETERS.metadataAndBackupS3Path,
          glueCrawlerName: '',
        });
        const actions = Object.values(roleStatements(parameters)).flatMap((statements) =>
          statements.flatMap((statement) => asArray(statement.Action)),
        );
        expect(actions.filter((action) => action.startsWith('glue:'))).to.deep.equal([]);
      }
    });
  });

  describe('the triggers', () => {
    const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

    it("holds the groups' schedules in the deployment's own schedule group", async () => {
      expect((await template('allGroups')).Resources.BackupScheduleGroup).to.deep.equal({
        Type: 'AWS::Scheduler::ScheduleGroup',
        Properties: { Name: 'CloneSquadBackupCmdb-dev-BackupCmdb' },
      });
      expect((await template('single')).Resources.BackupScheduleGroup).to.deep.equal({
        Type: 'AWS::Scheduler::ScheduleGroup',
        Properties: { Name: 'CloneSquad-web-dev-BackupCmdb' },
      });
    });

    it('gives the schedules a named role, trusted by Scheduler of this account, that may only start runs and reconcile', async () => {
      for (const [mode, roleName] of [
        ['allGroups', { 'Fn::Sub': 'CloneSquadBackupCmdb-dev-BackupSchedules-${AWS::Region}' }],
        ['single', { 'Fn::Sub': 'CloneSquad-web-dev-BackupSchedules-${AWS::Region}' }],
      ] as const) {
        expect((await template(mode)).Resources.BackupSchedulesRole, mode).to.deep.equal({
          Type: 'AWS::IAM::Role',
          Properties: {
            RoleName: roleName,
            AssumeRolePolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { Service: 'scheduler.amazonaws.com' },
                  Action: 'sts:AssumeRole',
                  Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
                },
              ],
            },
            Policies: [
              {
                PolicyName: 'startRuns',
                PolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [
                    {
                      Sid: 'StartScheduledRunsAndReconcile',
                      Effect: 'Allow',
                      Action: 'lambda:InvokeFunction',
                      Resource: [getAtt('StartScheduledRunLambdaFunction'), getAtt('ReconcileGroupsLambdaFunction')],
                    },
                  ],
                },
              },
            ],
          },
        });
      }
    });

    it("reconciles every group's schedule every 15 minutes, from the default schedule group", async () => {
      for (const [mode, name] of [
        ['allGroups', 'CloneSquadBackupCmdb-dev-BackupCmdb-groups'],
        ['single', 'CloneSquad-web-dev-BackupCmdb-groups'],
      ] as const) {
        expect((await template(mode)).Resources.GroupsReconcileSchedule, mode).to.deep.equal({
          Type: 'AWS::Scheduler::Schedule',
          Properties: {
            Name: name,
            GroupName: 'default',
            Description: "Brings every CloneSquad group's backup schedule in step with its backup.cron",
            ScheduleExpression: 'rate(15 minutes)',
            State: 'ENABLED',
            FlexibleTimeWindow: { Mode: 'OFF' },
            Target: {
              Arn: getAtt('ReconcileGroupsLambdaFunction'),
              RoleArn: getAtt('BackupSchedulesRole'),
              Input: '{}',
              RetryPolicy: { MaximumEventAgeInSeconds: 900, MaximumRetryAttempts: 3 },
            },
          },
        });
      }
    });

    it('reconciles on every CloudFormation stack change, EventBridge allowed to invoke reconcileGroups only', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        const { Resources } = await template(mode);
        expect(Resources.StackChangesRule, mode).to.deep.equal({
          Type: 'AWS::Events::Rule',
          Properties: {
            Description: 'A CloudFormation stack created, updated or deleted: CloneSquad groups may have come or gone',
            EventPattern: {
              source: ['aws.cloudformation'],
              'detail-type': ['CloudFormation Stack Status Change'],
              detail: {
                'status-details': {
                  status: [
                    'CREATE_COMPLETE',
                    'UPDATE_COMPLETE',
                    'UPDATE_ROLLBACK_COMPLETE',
                    'IMPORT_COMPLETE',
                    'DELETE_COMPLETE',
                  ],
                },
              },
            },
            Targets: [{ Id: 'reconcileGroups', Arn: getAtt('ReconcileGroupsLambdaFunction') }],
          },
        });
        expect(Resources.StackChangesPermission, mode).to.deep.equal({
          Type: 'AWS::Lambda::Permission',
          Properties: {
            FunctionName: getAtt('ReconcileGroupsLambdaFunction'),
            Action: 'lambda:InvokeFunction',
            Principal: 'events.amazonaws.com',
            SourceAccount: { Ref: 'AWS::AccountId' },
            SourceArn: getAtt('StackChangesRule'),
          },
        });
      }
    });

    it("maps the Configuration stream's backup.cron rows to reconcileGroups, when a single-group deployment is given it", async () => {
      expect((await template('single')).Resources.ScheduleRowChangesEventSourceMapping).to.deep.equal({
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: getAtt('ReconcileGroupsLambdaFunction'),
          EventSourceArn: STREAM_ARN,
          StartingPosition: 'LATEST',
          BatchSize: 10,
          MaximumRetryAttempts: 2,
          MaximumRecordAgeInSeconds: 3600,
          FilterCriteria: { Filters: BACKUP_CRON_STREAM_FILTER_PATTERNS.map((pattern) => ({ Pattern: pattern })) },
        },
      });
      expect(BACKUP_CRON_STREAM_FILTER_PATTERNS).to.deep.equal([
        '{"dynamodb":{"Keys":{"Key":{"S":["override:backup.cron","config.active_parameter_set","backup.cron"]}}}}',
        '{"dynamodb":{"Keys":{"Key":{"S":[{"prefix":"["}]}}}}',
      ]);
    });

    it('has no schedule group, schedule, schedules role, rule or stream mapping when MetadataAndBackupS3Path is empty', async () => {
      for (const mode of FEATURE_OFF_MODES) {
        const packagedTemplate = await template(mode);
        for (const type of [
          'AWS::Scheduler::ScheduleGroup',
          'AWS::Scheduler::Schedule',
          'AWS::Events::Rule',
          'AWS::Lambda::EventSourceMapping',
        ]) {
          expect(ofType(packagedTemplate, type), `${mode} ${type}`).to.deep.equal([]);
        }
        expect(packagedTemplate.Resources.BackupSchedulesRole, mode).to.equal(undefined);
        expect(
          ofType(packagedTemplate, 'AWS::Lambda::Permission').map(([id]) => id),
          mode,
        ).to.deep.equal(['BackupApiStatusPermission']);
      }
    });
  });

  describe('the backup API', () => {
    type Method = Json & { Integration: Json; HttpMethod: string; AuthorizationType: string };
    const methods = async (mode: Mode) => {
      const packagedTemplate = await template(mode);
      return Object.fromEntries(
        ofType(packagedTemplate, 'AWS::ApiGateway::Method').map(([, resource]) => {
          const path = resource.Properties.ResourceId as { Ref: string };
          const pathPart = packagedTemplate.Resources[path.Ref].Properties.PathPart as string;
          const parent = packagedTemplate.Resources[path.Ref].Properties.ParentId as { Ref?: string };
          const full = parent.Ref
            ? `/${packagedTemplate.Resources[parent.Ref].Properties.PathPart as string}/${pathPart}`
            : `/${pathPart}`;
          return [`${resource.Properties.HttpMethod as string} ${full}`, resource.Properties as Method];
        }),
      );
    };

    it('is one regional REST API whose resource policy admits only principals of this account', async () => {
      for (const mode of ['allGroups', 'single'] as const) {
        const apis = ofType(await template(mode), 'AWS::ApiGateway::RestApi');
        expect(
          apis.map(([id, { Properties }]) => [id, Properties.Name]),
          mode,
        ).to.deep.equal([
          ['BackupApi', mode === 'allGroups' ? 'CloneSquadBackupCmdb-dev-backup' : 'CloneSquad-web-dev-backup'],
        ]);
        const [, { Properties }] = apis[0];
        expect(Properties.EndpointConfiguration).to.deep.equal({ Types: ['REGIONAL'] });
        expect(Properties.Policy).to.deep.equal({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Sub': `arn:${P}:iam::${A}:root` } },
              Action: 'execute-api:Invoke',
              Resource: 'execute-api:/*',
            },
          ],
        });
      }
    });

    it('has exactly POST /backup and GET /backup/{id}, both with IAM (SigV4) authorization', async () => {
      for (const mode of MODES) {
        const found = await methods(mode);
        expect(Object.keys(found).sort(), mode).to.deep.equal(['GET /backup/{id}', 'POST /backup']);
        for (const method of Object.values(found)) expect(method.AuthorizationType).to.equal('AWS_IAM');
        expect(found['GET /backup/{id}'].RequestParameters).to.deep.equal({ 'method.request.path.id': true });
      }
    });

    it('validates the POST body against the run request model, which takes "groupName" and "parts" only', async () => {
      const packagedTemplate = await template('allGroups');
      const post = (await methods('allGroups'))['POST /backup'];
      const validator = packagedTemplate.Resources[(post.RequestValidatorId as { Ref: string }).Ref];
      expect(validator.Properties).to.deep.include({ ValidateRequestBody: true });
      const model =
        packagedTemplate.Resources[(post.RequestModels as Record<string, { Ref: string }>)['application/json'].Ref];
      expect(model.Type).to.equal('AWS::ApiGateway::Model');
      expect(model.Properties).to.deep.include({ ContentType: 'application/json', Schema: RUN_REQUEST_SCHEMA });
      const schema = model.Properties.Schema as { additionalProperties: boolean; properties: Json };
      expect(schema.additionalProperties).to.equal(false);
      expect(Object.keys(schema.properties)).to.deep.equal(['groupName', 'parts']);
      expect(schema.properties.groupName).to.deep.equal({
        description: 'The CloneSquad group to run; every group the deployment serves when absent.',
        type: 'string',
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
        maxLength: 64,
      });
      const badBody = ofType(packagedTemplate, 'AWS::ApiGateway::GatewayResponse').find(
        ([, resource]) => resource.Properties.ResponseType === 'BAD_REQUEST_BODY',
      );
      expect(badBody?.[1].Properties.StatusCode).to.equal('400');
      expect(JSON.stringify(badBody?.[1].Properties.ResponseTemplates)).to.include(
        '$context.error.validationErrorString',
      );
    });

    it('starts runs by a direct StartExecution integration, with a role allowed only that', async () => {
      for (const [mode, stateMachine] of [
        ['allGroups', ALL.stateMachine],
        ['single', WEB.stateMachine],
      ] as const) {
        const post = (await methods(mode))['POST /backup'];
        expect(post.Integration, mode).to.deep.include({
          Type: 'AWS',
          IntegrationHttpMethod: 'POST',
          Credentials: { 'Fn::GetAtt': ['BackupApiRole', 'Arn'] },
        });
        expect(text(post.Integration.Uri)).to.equal(`arn:${P}:apigateway:${R}:states:action/StartExecution`);
        expect(grants(await template(mode)).filter((grant) => grant.role === 'BackupApiRole')).to.deep.equal([
          { role: 'BackupApiRole', action: 'states:StartExecution', resource: stateMachine },
        ]);
        const trust = (
          (await template(mode)).Resources.BackupApiRole.Properties.AssumeRolePolicyDocument as {
            Statement: Json[];
          }
        ).Statement;
        expect(trust).to.deep.equal([
          {
            Effect: 'Allow',
            Principal: { Service: 'apigateway.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ]);
      }
    });

    it("renders the POST body into this region's state machine's StartExecution request (velocityjs)", async () => {
      for (const [mode, stateMachine] of [
        ['allGroups', 'arn:aws:states:eu-west-1:111122223333:stateMachine:CloneSquadBackupCmdb-dev-BackupCmdb'],
        ['single', 'arn:aws:states:eu-west-3:111122223333:stateMachine:CloneSquad-web-dev-BackupCmdb'],
      ] as const) {
        const post = (await methods(mode))['POST /backup'];
        const pseudo = {
          'AWS::Partition': 'aws',
          'AWS::Region': PACKAGINGS[mode].region,
          'AWS::AccountId': '111122223333',
        };
        const request = deployedText((post.Integration.RequestTemplates as Json)['application/json'], pseudo);
        for (const [body, input] of [
          ['{"groupName":"web","parts":["backups"]}', { groupName: 'web', parts: ['backups'] }],
          ['{}', {}],
          ['', {}],
        ] as const) {
          const rendered = JSON.parse(renderMappingTemplate(request, { body }).text) as Json;
          expect(Object.keys(rendered), `${mode} ${body}`).to.deep.equal(['stateMachineArn', 'input']);
          expect(rendered.stateMachineArn).to.equal(stateMachine);
          expect(JSON.parse(rendered.input as string)).to.deep.equal(input);
        }
      }
    });

    it('answers GET /backup/{id} from the backupStatus function, which only this API may invoke, only on that route', async () => {
      for (const mode of MODES) {
        const { Resources } = await template(mode);
        const get = (await methods(mode))['GET /backup/{id}'];
        expect(get.Integration, mode).to.deep.equal({
          Type: 'AWS_PROXY',
          IntegrationHttpMethod: 'POST',
          Uri: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':apigateway:',
                { Ref: 'AWS::Region' },
                ':lambda:path/2015-03-31/functions/',
                { 'Fn::GetAtt': ['BackupStatusLambdaFunction', 'Arn'] },
                '/invocations',
              ],
            ],
          },
        });
        expect(Resources.BackupApiStatusPermission, mode).to.deep.equal({
          Type: 'AWS::Lambda::Permission',
          Properties: {
            FunctionName: { 'Fn::GetAtt': ['BackupStatusLambdaFunction', 'Arn'] },
            Action: 'lambda:InvokeFunction',
            Principal: 'apigateway.amazonaws.com',
            SourceAccount: { Ref: 'AWS::AccountId' },
            SourceArn: { 'Fn::Sub': `arn:${P}:execute-api:${R}:${A}:\${BackupApi}/*/GET/backup/*` },
          },
        });
      }
    });

    it('deploys both methods to a throttled stage and outputs the URL', async () => {
      const packagedTemplate = await template('allGroups');
      const deployments = ofType(packagedTemplate, 'AWS::ApiGateway::Deployment');
      expect(deployments).to.have.length(1);
      const [deploymentId, deployment] = deployments[0];
      expect(deployment.DependsOn).to.deep.equal(['BackupApiStartMethod', 'BackupApiStatusMethod']);
      expect(packagedTemplate.Resources.BackupApiStage.Properties).to.deep.equal({
        RestApiId: { Ref: 'BackupApi' },
        DeploymentId: { Ref: deploymentId },
        StageName: 'dev',
        MethodSettings: [{ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 }],
      });
      expect(text(packagedTemplate.Outputs.BackupApiUrl.Value)).to.equal(
        'https://${BackupApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev/backup',
      );
    });

    it('answers the feature-off error to POST /backup when MetadataAndBackupS3Path is empty', async () => {
      for (const mode of FEATURE_OFF_MODES) {
        const post = (await methods(mode))['POST /backup'];
        expect(post.AuthorizationType).to.equal('AWS_IAM');
        expect(post.Integration.Type, mode).to.equal('MOCK');
        const [response] = post.Integration.IntegrationResponses as { StatusCode: string; ResponseTemplates: Json }[];
        expect(response.StatusCode).to.equal('503');
        expect(JSON.parse(response.ResponseTemplates['application/json'] as string)).to.deep.equal({
          message: featureOffError().message,
        });
      }
      expect(featureOffError().message).to.equal(
        'MetadataAndBackupS3Path: it is empty, so backups and metadata export are turned off. Fix: redeploy with ' +
          'MetadataAndBackupS3Path=s3://bucket[/prefix] to turn them on',
      );
    });
  });

  describe('parameter checks at package time', () => {
    // Refused while variables resolve, before any build: the two can run side by side.
    let refusals: Promise<PackageResult[]> | undefined;
    const refused = () =>
      (refusals ??= Promise.all([
        packageService(['--region', 'eu-west-1', '--param=metadataAndBackupS3Path=https://x']),
        packageService(['--region', 'eu-west-1', `--param=configurationTableStreamArn=${STREAM_ARN}`]),
      ]));

    it('refuses a MetadataAndBackupS3Path that is not s3:// with the run-time message', async () => {
      const [badPath] = await refused();
      expect(badPath.status).to.equal(1);
      expect(badPath.output).to.include(
        'UserInputError: MetadataAndBackupS3Path "https://x": it is not an s3:// URL. Fix: give it as s3://bucket ' +
          'or s3://bucket/prefix, for example s3://my-bucket/clonesquad\n',
      );
    });

    it('refuses a parameter only a single-group deployment takes when GroupName is not given', async () => {
      const [, streamWithoutGroup] = await refused();
      expect(streamWithoutGroup.status).to.equal(1);
      expect(streamWithoutGroup.output).to.include(
        'UserInputError: ConfigurationTableStreamArn: only a single-group deployment takes it: with GroupName empty, ' +
          "the deployment serves every CloneSquad group of its account and region and reads each group's stack and " +
          'tables from CloudFormation. Fix: set GroupName to serve one group, or leave these parameters out\n',
      );
    });
  });
});

describe('deployment configuration (infra/deployment-config.ts)', () => {
  it('defaults to a deployment of every group, and applies the defaults of one group', () => {
    expect(resolveParameters({})).to.deep.equal({
      destination: null,
      userSuppliedJSONMetadata: '',
      timeZone: '',
      cloneSquadStackName: '',
      configurationTable: '',
      schedulerTable: '',
      glueCrawlerName: DEFAULT_CRAWLER_NAME,
      kmsKeyArn: '',
      configurationTableStreamArn: '',
    });
    expect(resolveParameters({ groupName: 'web' })).to.deep.equal({
      groupName: 'web',
      destination: null,
      userSuppliedJSONMetadata: '',
      timeZone: '',
      cloneSquadStackName: 'CloneSquad-web',
      configurationTable: 'CloneSquad-web-Configuration',
      schedulerTable: 'CloneSquad-web-Scheduler',
      glueCrawlerName: DEFAULT_CRAWLER_NAME,
      kmsKeyArn: '',
      configurationTableStreamArn: '',
    });
    expect(resolveParameters({ groupName: 'web', glueCrawlerName: '' }).glueCrawlerName).to.equal('');
  });

  it('takes only the stream of the Configuration table', () => {
    expect(
      messageOf(() => resolveParameters({ groupName: 'web', configurationTableStreamArn: 'arn:aws:kinesis:x' })),
    ).to.equal(
      'ConfigurationTableStreamArn "arn:aws:kinesis:x": it is not the ARN of a DynamoDB stream. Fix: give the ' +
        "table's LatestStreamArn (aws dynamodb describe-table --table-name CloneSquad-web-Configuration --query " +
        'Table.LatestStreamArn), or leave it empty: each execution still reconciles the schedule',
    );
    expect(messageOf(() => resolveParameters({ groupName: 'demo', configurationTableStreamArn: STREAM_ARN }))).to.equal(
      `ConfigurationTableStreamArn ${quoteInput(STREAM_ARN)}: it is the stream of table "CloneSquad-web-Configuration", ` +
        'not of the Configuration table "CloneSquad-demo-Configuration". Fix: give the table\'s LatestStreamArn (aws ' +
        'dynamodb describe-table --table-name CloneSquad-demo-Configuration --query Table.LatestStreamArn), or leave ' +
        'it empty: each execution still reconciles the schedule',
    );
    expect(
      resolveParameters({ groupName: 'web', configurationTableStreamArn: STREAM_ARN }).configurationTableStreamArn,
    ).to.equal(STREAM_ARN);
  });

  it('writes IAM patterns as Fn::Sub, with the wildcards of literal text escaped', () => {
    expect(iamText(`arn:${TOKEN.partition}:s3:::b/a*b?$/${TOKEN.accountId}/${TOKEN.wildcard}`)).to.deep.equal({
      'Fn::Sub': 'arn:${AWS::Partition}:s3:::b/a${!*}b${!?}${!$}/${AWS::AccountId}/*',
    });
    expect(iamText('arn:aws:kms:x')).to.equal('arn:aws:kms:x');
  });

  it('keeps a literal "*" of an S3 prefix from widening a grant, in both modes', () => {
    for (const [groupName, count] of [
      [undefined, 51],
      ['web', 44],
    ] as const) {
      const statements = roleStatements(resolveParameters({ groupName, metadataAndBackupS3Path: 's3://bkt/p*' }));
      const s3 = Object.values(statements)
        .flat()
        .flatMap((statement) => asArray(statement.Resource).map(text))
        .filter((resource) => resource.includes(':s3:::'));
      expect(s3, String(groupName)).to.have.length(count);
      for (const resource of s3) {
        expect(resource).to.satisfy(
          (value: string) =>
            value === 'arn:${AWS::Partition}:s3:::bkt' ||
            value.startsWith('arn:${AWS::Partition}:s3:::bkt/p${*}/backups/') ||
            value.startsWith('arn:${AWS::Partition}:s3:::bkt/p${*}/metadata/'),
        );
      }
    }
  });

  it('names every resource within its service limits, for every group name and stage', () => {
    fc.assert(
      fc.property(
        fc.option(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/), { nil: undefined }),
        fc.constantFrom('dev', 'prod', 'a-very-long-stage-name'),
        (groupName, stage) => {
          fc.pre(groupName === undefined || groupNameProblem(groupName) === undefined);
          const names = resourceNames(groupName, stage);
          expect(names.stack).to.match(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
          expect(names.stateMachine).to.match(/^[A-Za-z0-9_-]{1,80}$/);
          for (const name of [names.scheduleGroup, names.groupsSchedule])
            expect(name).to.match(/^[A-Za-z0-9_.-]{1,64}$/);
          // Named per region (IAM names are global to the account): checked in the longest region name.
          const role = renderTokens(names.scheduleRole, pseudoParameters('111122223333', 'us-isof-south-1'));
          expect(role).to.match(/^[\w+=,.@-]{1,64}$/);
          expect(names.api.length).to.be.at.most(1024);
          for (const name of Object.values(names.functions)) expect(name).to.match(/^[A-Za-z0-9_-]{1,64}$/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('names resources per group and stage, an all-groups deployment apart from any group', () => {
    expect(resourceNames('web', 'dev').functions.backupTable).to.equal('CloneSquad-web-dev-backupTable');
    expect(resourceNames(undefined, 'dev').functions.backupTable).to.equal('CloneSquadBackupCmdb-dev-backupTable');
    expect(resourceNames(undefined, 'dev').stack).to.not.equal(resourceNames('BackupCmdb', 'dev').stack);
    expect(resourceNames('my.group', 'dev').stack).to.not.equal(resourceNames('my_group', 'dev').stack);
    expect(resourceNames('web', 'dev').stack).to.not.equal(resourceNames('web', 'prod').stack);
  });
});

/** `RegExp.escape` (Node.js 24) for the Node.js 20 this project supports. */
function escapeRegex(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
