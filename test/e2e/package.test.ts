import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import aslValidator from 'asl-validator';
import { expect } from 'chai';
import fc from 'fast-check';
import { iamResource, TOKEN } from '#infra/cloudformation';
import { checkParameterNames, FUNCTIONS, resolveParameters, resourceNames } from '#infra/deployment-config';
import { functionStatements, stateMachineStatements } from '#infra/iam';
import { DEFAULT_CRAWLER_NAME } from '#infra/catalog-stack';
import { packageService, type PackageResult } from '#cli/package';
import { featureOffError } from '#shared/run/deployment';
import { RUN_REQUEST_SCHEMA } from '#shared/run/run-request';
import { ensurePythonEnv, venvBin } from '#local/python-env';
import { ENVIRONMENT, groupNameProblem, validateGroupName } from '#shared/run/deployment';
import {
  archiveBackupKey,
  backupFolder,
  BACKUP_TABLES,
  latestBackupKey,
  METADATA_TABLES,
  metadataPartitionFolder,
  type MetadataTable,
} from '#shared/aws/s3-layout';
import { parseS3Path } from '#shared/aws/s3-path';

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

const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const LAMBDA_LOGICAL_IDS: Record<string, string> = {
  backupTable: 'BackupTableLambdaFunction',
  archiveBackups: 'ArchiveBackupsLambdaFunction',
  exportDiscovery: 'ExportDiscoveryLambdaFunction',
  exportInstances: 'ExportInstancesLambdaFunction',
  exportMaintenanceWindows: 'ExportMaintenanceWindowsLambdaFunction',
  summarize: 'SummarizeLambdaFunction',
  planRun: 'PlanRunLambdaFunction',
  reconcileSchedule: 'ReconcileScheduleLambdaFunction',
  startScheduledRun: 'StartScheduledRunLambdaFunction',
};
/** The functions the workflow calls: all but the one the schedule invokes. */
const WORKFLOW_LAMBDAS = Object.entries(LAMBDA_LOGICAL_IDS)
  .filter(([name]) => name !== 'startScheduledRun')
  .map(([, logicalId]) => `\${${logicalId}.Arn}`);
const STATE_MACHINE_ARN =
  'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:CloneSquad-demo-dev-BackupCmdb';
const SCHEDULE_NAME = 'CloneSquad-demo-dev-BackupCmdb';
const STREAM_ARN =
  'arn:aws:dynamodb:eu-west-1:111122223333:table/CloneSquad-demo-Configuration/stream/2024-01-01T00:00:00.000';
/** The direct service integrations the workflow may call, besides its functions. */
const SERVICE_INTEGRATIONS = ['arn:aws:states:::aws-sdk:glue:startCrawler'];
/**
 * Step Functions log delivery: these actions support no resource-level permission, so AWS documents
 * them on "*" for a state machine role that logs to CloudWatch Logs. The only grants allowed on "*".
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
/**
 * Read-only calls that accept no resource but "*" (EC2 and SSM `Describe*`), with the functions that
 * may make them. With log delivery, the only grants allowed on "*".
 */
const UNSCOPABLE_READS: Record<string, string[]> = {
  'ec2:DescribeInstances': ['exportInstances'],
  'ec2:DescribeInstanceStatus': ['exportDiscovery', 'exportMaintenanceWindows'],
  'ec2:DescribeTags': ['exportDiscovery', 'exportMaintenanceWindows'],
  'ec2:DescribeVolumes': ['exportInstances'],
  'ec2:DescribeInstanceTypes': ['exportInstances'],
  'ssm:DescribeMaintenanceWindows': ['exportMaintenanceWindows'],
};
/**
 * The deployment's own account in its Organization. The ARN names the Organization and its
 * management account, which a member account does not know: the only wildcards before the resource
 * part that a grant may hold.
 */
const OWN_ACCOUNT_IN_ORGANIZATION = 'arn:${AWS::Partition}:organizations::*:account/o-*/${AWS::AccountId}';
const READ_ACTION = /^[a-z0-9-]+:(Get|List|Describe|Scan|Query|BatchGet)/;

/** A CloudFormation value as text, with `${Name}` for a Ref and `${Id.Attribute}` for a GetAtt. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Json;
  if ('Ref' in object) return `\${${String(object.Ref)}}`;
  if ('Fn::GetAtt' in object) return `\${${(object['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(separator);
  }
  if ('Fn::Sub' in object) {
    const sub = object['Fn::Sub'];
    const [template, variables] = Array.isArray(sub) ? (sub as [string, Json]) : [sub as string, {}];
    return template.replace(/\$\{([^}!]+)\}/g, (whole, name: string) =>
      name in variables ? text(variables[name]) : whole,
    );
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function ofType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function roleStatements(role: Resource): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement | Statement[] } }[];
  return policies.flatMap((policy) => asArray(policy.PolicyDocument.Statement));
}

/** Every Allow of every role, one action on one resource a row. */
function grants(template: Template): Grant[] {
  return ofType(template, 'AWS::IAM::Role').flatMap(([role, resource]) =>
    roleStatements(resource)
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap((statement) =>
        asArray(statement.Action).flatMap((action) =>
          asArray(statement.Resource).map((value) => ({ role, action, resource: text(value) })),
        ),
      ),
  );
}

function roleOf(template: Template, functionName: string): string {
  const role = template.Resources[LAMBDA_LOGICAL_IDS[functionName]].Properties.Role as { 'Fn::GetAtt': string[] };
  return role['Fn::GetAtt'][0];
}

function grantsOf(template: Template, functionName: string): Grant[] {
  const role = roleOf(template, functionName);
  return grants(template).filter((grant) => grant.role === role);
}

function readTemplate(directory: string): Template {
  return JSON.parse(readFileSync(join(directory, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the action to throw');
}

describe('deployment package (osls package)', function () {
  this.timeout(300_000);
  const directories: string[] = [];
  const packaged: Record<'default' | 'featureOff' | 'kms', Template> = {} as never;
  const refused: Record<'badPath' | 'badGroup', PackageResult> = {} as never;

  async function packageInto(args: string[]): Promise<string> {
    const directory = mkdtempSync(join(tmpdir(), 'cs-package-'));
    directories.push(directory);
    const result = await packageService(['--package', directory, ...args]);
    if (result.status !== 0) throw new Error(`osls package ${args.join(' ')} failed:\n${result.output}`);
    return directory;
  }

  before(async function () {
    ensurePythonEnv();
    // The refused ones stop while resolving variables, before any build, so they can run alongside.
    const refusals = Promise.all([
      packageService(['--param=metadataAndBackupS3Path=https://x']),
      packageService(['--param=groupName=a/b']),
    ]);
    // Successful packagings share the .esbuild work folder: one at a time.
    packaged.default = readTemplate(await packageInto([]));
    packaged.featureOff = readTemplate(await packageInto(['--param=metadataAndBackupS3Path=']));
    // The optional parameters together: a KMS key and the Configuration table's stream.
    packaged.kms = readTemplate(
      await packageInto([`--param=kmsKeyArn=${KMS_KEY_ARN}`, `--param=configurationTableStreamArn=${STREAM_ARN}`]),
    );
    [refused.badPath, refused.badGroup] = await refusals;
  });

  after(() => {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  });

  it('passes cfn-lint', async () => {
    const templates = directories.map((directory) => join(directory, 'cloudformation-template-update-stack.json'));
    // W3005: Serverless adds a DependsOn on each role next to the GetAtt that already implies it.
    const lint = await promisify(execFile)(venvBin('cfn-lint'), ['--ignore-checks', 'W3005', '--', ...templates]).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        output: error.stdout + error.stderr,
      }),
    );
    expect(lint.code, `cfn-lint:\n${lint.output}`).to.equal(0);
  });

  describe('the state machine', () => {
    const machine = () => ofType(packaged.default, 'AWS::StepFunctions::StateMachine');
    const definition = () => {
      const [, resource] = machine()[0];
      return resource.Properties.DefinitionString as { 'Fn::Sub': [string, Record<string, unknown>] };
    };

    it('is one Standard state machine, logging errors without execution data to a retained log group', () => {
      expect(machine()).to.have.length(1);
      const [, { Properties }] = machine()[0];
      expect(Properties.StateMachineType).to.equal('STANDARD');
      expect(Properties.LoggingConfiguration).to.deep.equal({
        Level: 'ERROR',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['WorkflowLogGroup', 'Arn'] } } }],
      });
      expect(Properties.TracingConfiguration).to.equal(undefined);
    });

    it('calls every workflow function, their ARNs substituted at deploy time, and only the listed service integrations', () => {
      const [body, substitutions] = definition()['Fn::Sub'];
      const targets = Object.values(substitutions).map(text);
      expect(new Set(targets)).to.deep.equal(new Set(WORKFLOW_LAMBDAS));
      const resources = [...body.matchAll(/"Resource": "([^"]*)"/g)].map((match) => match[1]);
      expect(resources).to.have.length.above(0);
      for (const resource of resources) {
        if (resource.startsWith('${')) expect(Object.keys(substitutions)).to.include(resource.slice(2, -1));
        else expect(SERVICE_INTEGRATIONS).to.include(resource);
      }
    });

    it('is a valid Amazon States Language definition (asl-validator)', () => {
      const [body, substitutions] = definition()['Fn::Sub'];
      let json = body;
      for (const [placeholder, arn] of Object.entries(substitutions)) {
        const logicalId = text(arn).slice(2, -1).split('.')[0];
        json = json.replaceAll(`\${${placeholder}}`, `arn:aws:lambda:eu-west-1:111122223333:function:${logicalId}`);
      }
      // Parsed afresh from the template: asl-validator mutates what it validates.
      const result = aslValidator(JSON.parse(json) as object);
      expect(result.isValid, result.errorsText('\n')).to.equal(true);
    });

    it('may invoke exactly its functions, start only the named crawler, and nothing else but its log delivery', () => {
      const roleArn = machine()[0][1].Properties.RoleArn as { 'Fn::GetAtt': string[] };
      const allowed = grants(packaged.default).filter((grant) => grant.role === roleArn['Fn::GetAtt'][0]);
      const invoked = allowed.filter((grant) => grant.action === 'lambda:InvokeFunction');
      expect(invoked.map((grant) => grant.resource)).to.have.members(WORKFLOW_LAMBDAS);
      const crawler = allowed.filter((grant) => grant.action.startsWith('glue:'));
      expect(crawler.map((grant) => `${grant.action} ${grant.resource}`)).to.deep.equal([
        `glue:StartCrawler arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:crawler/${DEFAULT_CRAWLER_NAME}`,
      ]);
      const others = allowed.filter(
        (grant) => grant.action !== 'lambda:InvokeFunction' && !grant.action.startsWith('glue:'),
      );
      expect(others.map((grant) => grant.action)).to.have.members(LOG_DELIVERY_ACTIONS);
      for (const grant of others) expect(grant.resource).to.equal('*');
    });

    it('has no crawler grant when GlueCrawlerName is empty', () => {
      const statements = stateMachineStatements(resolveParameters({ groupName: 'web', glueCrawlerName: '' }));
      expect(
        statements.flatMap((statement) => statement.Action).filter((action) => action.startsWith('glue:')),
      ).to.deep.equal([]);
    });
  });

  describe('the functions', () => {
    const functions = () => ofType(packaged.default, 'AWS::Lambda::Function');

    it('run Node.js 22 on arm64', () => {
      expect(functions()).to.have.length(FUNCTIONS.length);
      for (const [, { Properties }] of functions()) {
        expect(Properties.Runtime).to.equal('nodejs22.x');
        expect(Properties.Architectures).to.deep.equal(['arm64']);
      }
    });

    it('get every variable of shared/deployment.ts ENVIRONMENT but AWS_REGION, which Lambda sets', () => {
      for (const [, { Properties }] of functions()) {
        const variables = (Properties.Environment as { Variables: Json }).Variables;
        const expected = Object.values(ENVIRONMENT).filter((name) => name !== 'AWS_REGION');
        expect(Object.keys(variables)).to.have.members(expected);
        expect(variables.ACCOUNT_ID).to.deep.equal({ Ref: 'AWS::AccountId' });
        expect(variables).to.include({
          GROUP_NAME: 'demo',
          METADATA_AND_BACKUP_S3_PATH: 's3://clonesquad-cmdb-local/clonesquad',
          CONFIGURATION_TABLE: 'CloneSquad-demo-Configuration',
          SCHEDULER_TABLE: 'CloneSquad-demo-Scheduler',
          CLONESQUAD_STACK_NAME: 'CloneSquad-demo',
          TIME_ZONE: 'UTC',
          KMS_KEY_ARN: '',
          BACKUP_SCHEDULE_NAME: SCHEDULE_NAME,
        });
        expect(text(variables.STATE_MACHINE_ARN)).to.equal(STATE_MACHINE_ARN);
      }
    });

    it('each run with a role of their own, with inline policies only', () => {
      const roles = FUNCTIONS.map((name) => roleOf(packaged.default, name));
      expect(new Set(roles).size).to.equal(FUNCTIONS.length);
      for (const role of roles) {
        const { Properties } = packaged.default.Resources[role];
        expect(Properties.ManagedPolicyArns).to.equal(undefined);
        const trust = (Properties.AssumeRolePolicyDocument as { Statement: Json[] }).Statement;
        expect(trust.map((statement) => statement.Principal)).to.deep.equal([{ Service: 'lambda.amazonaws.com' }]);
      }
      const types = Object.values(packaged.default.Resources).map((resource) => resource.Type);
      expect(types).to.not.include.members(['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']);
    });

    it('keep every log group for a set time', () => {
      const logGroups = ofType(packaged.default, 'AWS::Logs::LogGroup');
      expect(logGroups).to.have.length(FUNCTIONS.length + 1);
      for (const [, { Properties }] of logGroups) expect(Properties.RetentionInDays).to.be.a('number');
    });
  });

  describe('IAM', () => {
    const root = { bucket: 'clonesquad-cmdb-local', prefix: 'clonesquad' };
    const id = { accountId: '${AWS::AccountId}', region: '${AWS::Region}', groupName: 'demo' };
    const bucketArn = `arn:\${AWS::Partition}:s3:::${root.bucket}`;
    const object = (key: string) => `${bucketArn}/${key}`;
    const partition = () => object(`${backupFolder(root, id)}/`);
    const metadataFolders = (tables: readonly MetadataTable[]) =>
      tables.map((table) => object(`${metadataPartitionFolder(root, id, table)}/*`));
    const arn = (service: string, resource: string) =>
      `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`;
    const archives = BACKUP_TABLES.map((table) => object(archiveBackupKey(root, id, table, '*')));
    const latest = BACKUP_TABLES.map((table) => object(latestBackupKey(root, id, table)));
    const each = (actions: string[], resources: string[]) =>
      actions.flatMap((action) => resources.map((resource) => `${action} ${resource}`));
    const writeMetadata = (tables: MetadataTable[]) => [
      ...each(
        ['s3:PutObject', 's3:PutObjectAcl', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        metadataFolders(tables),
      ),
      `s3:ListBucket ${bucketArn}`,
    ];
    /** Every grant of each function's role in the default package, as `action resource`, logs aside. */
    const EXPECTED: Record<string, string[]> = {
      backupTable: [
        ...each(
          ['dynamodb:Scan'],
          [arn('dynamodb', 'table/CloneSquad-demo-Configuration'), arn('dynamodb', 'table/CloneSquad-demo-Scheduler')],
        ),
        ...each(['s3:PutObject', 's3:PutObjectAcl', 's3:GetObject'], archives),
        ...writeMetadata(['configuration', 'scheduler']),
      ],
      archiveBackups: [
        ...each(['s3:GetObject'], [...archives, ...latest]),
        ...each(['s3:PutObject', 's3:PutObjectAcl'], latest),
      ],
      exportDiscovery: [
        ...each(
          [
            'cloudformation:DescribeStacks',
            'cloudformation:GetTemplate',
            'cloudformation:GetTemplateSummary',
            'cloudformation:DescribeStackResource',
          ],
          [arn('cloudformation', 'stack/CloneSquad-demo/*')],
        ),
        `lambda:GetFunctionConfiguration ${arn('lambda', 'function:CloneSquad-Discovery-demo')}`,
        `organizations:DescribeAccount ${OWN_ACCOUNT_IN_ORGANIZATION}`,
        'ec2:DescribeTags *',
        'ec2:DescribeInstanceStatus *',
        ...writeMetadata(['discovery']),
      ],
      exportInstances: [
        'ec2:DescribeInstances *',
        'ec2:DescribeVolumes *',
        'ec2:DescribeInstanceTypes *',
        ...writeMetadata(['instances', 'volumes']),
      ],
      exportMaintenanceWindows: [
        'ssm:DescribeMaintenanceWindows *',
        `ssm:ListTagsForResource ${arn('ssm', 'maintenancewindow/*')}`,
        'ec2:DescribeTags *',
        'ec2:DescribeInstanceStatus *',
        ...writeMetadata(['maintenance-windows']),
      ],
      summarize: [],
      planRun: [],
      reconcileSchedule: [
        `dynamodb:GetItem ${arn('dynamodb', 'table/CloneSquad-demo-Configuration')}`,
        ...each(
          ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
          [arn('scheduler', `schedule/default/${SCHEDULE_NAME}`)],
        ),
        'iam:PassRole ${BackupScheduleRole.Arn}',
      ],
      startScheduledRun: [`states:StartExecution ${STATE_MACHINE_ARN}`],
    };

    for (const name of Object.keys(LAMBDA_LOGICAL_IDS)) {
      it(`gives ${name} exactly the grants it needs`, () => {
        const granted = grantsOf(packaged.default, name).filter((grant) => !grant.action.startsWith('logs:'));
        expect(granted.map((grant) => `${grant.action} ${grant.resource}`)).to.have.members(EXPECTED[name]);
      });
    }

    it('grants on "*" only log delivery to the state machine and unscopable reads to the functions that make them', () => {
      const stateMachineRole = 'WorkflowExecutionRole';
      for (const grant of grants(packaged.default).filter((each) => each.resource === '*')) {
        const where = `${grant.role} ${grant.action}`;
        if (grant.role === stateMachineRole) expect(LOG_DELIVERY_ACTIONS, where).to.include(grant.action);
        else {
          expect(Object.keys(UNSCOPABLE_READS), where).to.include(grant.action);
          expect(
            UNSCOPABLE_READS[grant.action].map((name) => roleOf(packaged.default, name)),
            where,
          ).to.include(grant.role);
          expect(grant.action, where).to.match(READ_ACTION);
        }
      }
    });

    it('grants nothing else on "*", and no wildcard before the resource part', () => {
      for (const grant of grants(packaged.default)) {
        if (LOG_DELIVERY_ACTIONS.includes(grant.action)) continue;
        if (grant.resource === '*' && grant.action in UNSCOPABLE_READS) continue;
        const where = `${grant.role} ${grant.action} ${grant.resource}`;
        // Either a resource of this stack (`${Id.Arn}`, maybe with a version qualifier) or an ARN
        // whose partition, service, region and account are exact.
        if (grant.resource.startsWith('${')) continue;
        if (grant.resource === OWN_ACCOUNT_IN_ORGANIZATION) continue;
        expect(grant.resource, where).to.match(/^arn:/);
        const head = grant.resource
          .replace(/\$\{[^}]*\}/g, 'X')
          .split(':')
          .slice(0, 5)
          .join(':');
        expect(head, where).to.not.include('*');
      }
    });

    it('lets every function write only its own logs', () => {
      for (const name of FUNCTIONS) {
        const logs = grantsOf(packaged.default, name).filter((grant) => grant.action.startsWith('logs:'));
        expect(logs.map((grant) => grant.action)).to.have.members(['logs:CreateLogStream', 'logs:PutLogEvents']);
        for (const grant of logs)
          expect(grant.resource).to.equal(`\${${LAMBDA_LOGICAL_IDS[name].replace('LambdaFunction', 'LogGroup')}.Arn}`);
      }
    });

    it('writes backups only under the partition prefix, archives write-once by key pattern', () => {
      const writes = grants(packaged.default).filter(
        (grant) =>
          grant.action.startsWith('s3:') &&
          !READ_ACTION.test(grant.action) &&
          !metadataFolders(METADATA_TABLES).includes(grant.resource),
      );
      expect(writes).to.have.length.above(0);
      for (const grant of writes) {
        expect(grant.action).to.be.oneOf(['s3:PutObject', 's3:PutObjectAcl']);
        expect(grant.resource.startsWith(partition()), grant.resource).to.equal(true);
        const key = grant.resource.slice(partition().length);
        expect(key, grant.resource).to.match(/^(archive\/\*-|latest-)[^*]*\.yaml$/);
      }
    });

    it('puts an archive only as a create (If-None-Match: *), in every role, never as a replacement', () => {
      const archivePuts = ofType(packaged.default, 'AWS::IAM::Role').flatMap(([role, resource]) =>
        roleStatements(resource)
          .filter((statement) => asArray(statement.Action).includes('s3:PutObject'))
          .filter((statement) => asArray(statement.Resource).some((arn) => text(arn).includes('/archive/')))
          .map((statement) => ({ role, statement })),
      );
      expect(archivePuts.map(({ role }) => role)).to.deep.equal(['BackupTableRole']);
      for (const { statement } of archivePuts) {
        expect(statement.Action).to.deep.equal(['s3:PutObject']);
        expect((statement.Condition as { StringEquals: Json }).StringEquals['s3:if-none-match']).to.equal('*');
      }
    });

    it("writes and deletes metadata only in the deployment's own partition folders", () => {
      const metadataWrites = grants(packaged.default).filter(
        (grant) =>
          grant.action.startsWith('s3:') && !READ_ACTION.test(grant.action) && !grant.resource.startsWith(partition()),
      );
      expect(metadataWrites).to.have.length.above(0);
      for (const grant of metadataWrites) {
        expect(grant.action).to.be.oneOf([
          's3:PutObject',
          's3:PutObjectAcl',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
        ]);
        expect(metadataFolders(METADATA_TABLES), `${grant.role} ${grant.action} ${grant.resource}`).to.include(
          grant.resource,
        );
      }
    });

    it('puts every S3 object with the bucket-owner-full-control ACL, and lists only partition folders', () => {
      for (const [role, resource] of ofType(packaged.default, 'AWS::IAM::Role')) {
        for (const statement of roleStatements(resource)) {
          const actions = asArray(statement.Action);
          if (actions.some((action) => action === 's3:PutObject' || action === 's3:PutObjectAcl')) {
            // Metadata objects may be uploaded in parts, whose requests carry no ACL header; any ACL sent
            // must still be bucket-owner-full-control. Backups are single PUTs and always carry it.
            const resources = asArray(statement.Resource).map(text);
            const metadataWrite = resources.every((arn) => arn.includes('/metadata/'));
            const archiveCreate =
              actions.includes('s3:PutObject') && resources.every((arn) => arn.includes('/archive/'));
            expect(statement.Condition, role).to.deep.equal(
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
          if (actions.includes('s3:ListBucket')) {
            const prefixes = asArray(
              (statement.Condition as { StringEquals: Record<string, unknown> }).StringEquals['s3:prefix'],
            ).map(text);
            for (const prefix of prefixes)
              expect(metadataFolders(METADATA_TABLES), role).to.include(object(prefix) + '*');
          }
        }
      }
    });

    it('lets backupTable scan the two tables, write archives and its metadata, and nothing else', () => {
      const backup = grantsOf(packaged.default, 'backupTable').filter((grant) => !grant.action.startsWith('logs:'));
      const table = (name: string) =>
        `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${name}`;
      expect(backup.filter((grant) => grant.action.startsWith('dynamodb:'))).to.deep.equal([
        {
          role: roleOf(packaged.default, 'backupTable'),
          action: 'dynamodb:Scan',
          resource: table('CloneSquad-demo-Configuration'),
        },
        {
          role: roleOf(packaged.default, 'backupTable'),
          action: 'dynamodb:Scan',
          resource: table('CloneSquad-demo-Scheduler'),
        },
      ]);
      const backups = backup.filter(
        (grant) => grant.action.startsWith('s3:') && grant.resource.startsWith(partition()),
      );
      expect(new Set(backups.map((grant) => grant.action))).to.deep.equal(
        new Set(['s3:PutObject', 's3:PutObjectAcl', 's3:GetObject']),
      );
      for (const grant of backups) expect(grant.resource).to.include('/archive/');
      expect(backup.filter((grant) => !/^(dynamodb|s3):/.test(grant.action))).to.deep.equal([]);
    });

    it('lets archiveBackups read archives and the latest- keys, write the latest- keys, and nothing else', () => {
      const archive = grantsOf(packaged.default, 'archiveBackups').filter((grant) => !grant.action.startsWith('logs:'));
      for (const grant of archive) {
        if (grant.action === 's3:GetObject') expect(grant.resource).to.match(/\/(archive\/\*|latest-)[^/*]*\.yaml$/);
        else {
          expect(grant.action).to.be.oneOf(['s3:PutObject', 's3:PutObjectAcl']);
          expect(grant.resource).to.match(/\/latest-[^/*]*\.yaml$/);
        }
      }
    });

    it('gives summarize nothing but its logs', () => {
      const actions = grantsOf(packaged.default, 'summarize').map((grant) => grant.action);
      expect(actions).to.have.members(['logs:CreateLogStream', 'logs:PutLogEvents']);
    });

    it('has no S3 statement when MetadataAndBackupS3Path is empty', () => {
      const template = packaged.featureOff;
      expect(grants(template).filter((grant) => /^(s3|kms):/.test(grant.action))).to.deep.equal([]);
      expect(grantsOf(template, 'backupTable').map((grant) => grant.action)).to.include('dynamodb:Scan');
      const variables = (template.Resources.BackupTableLambdaFunction.Properties.Environment as { Variables: Json })
        .Variables;
      expect(variables.METADATA_AND_BACKUP_S3_PATH).to.equal('');
    });

    it('lets the writers use the KMS key, through S3 only, when KmsKeyArn is set', () => {
      for (const name of [
        'backupTable',
        'archiveBackups',
        'exportDiscovery',
        'exportInstances',
        'exportMaintenanceWindows',
      ]) {
        const kms = grantsOf(packaged.kms, name).filter((grant) => grant.action.startsWith('kms:'));
        expect(kms.map((grant) => grant.action)).to.have.members(['kms:GenerateDataKey', 'kms:Decrypt']);
        for (const grant of kms) expect(grant.resource).to.equal(KMS_KEY_ARN);
      }
      expect(grantsOf(packaged.kms, 'summarize').filter((grant) => grant.action.startsWith('kms:'))).to.deep.equal([]);
      expect(grants(packaged.default).filter((grant) => grant.action.startsWith('kms:'))).to.deep.equal([]);
    });
  });

  describe('the schedule and the stream trigger', () => {
    const statementsOf = (template: Template, role: string) => roleStatements(template.Resources[role]);

    it('schedules the workflow hourly in UTC by default, through the slot-naming function', () => {
      const schedules = ofType(packaged.default, 'AWS::Scheduler::Schedule');
      expect(schedules).to.have.length(1);
      const [, { Properties }] = schedules[0];
      expect(Properties).to.deep.include({
        Name: SCHEDULE_NAME,
        GroupName: 'default',
        ScheduleExpression: 'cron(0 * * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
      });
      const target = Properties.Target as Json;
      expect(target.Arn).to.deep.equal({ 'Fn::GetAtt': ['StartScheduledRunLambdaFunction', 'Arn'] });
      expect(target.RoleArn).to.deep.equal({ 'Fn::GetAtt': ['BackupScheduleRole', 'Arn'] });
      expect(JSON.parse(target.Input as string)).to.deep.equal({ scheduledTime: '<aws.scheduler.scheduled-time>' });
    });

    it("gives the schedule's role only the invocation of that function, which may only start this state machine", () => {
      const role = packaged.default.Resources.BackupScheduleRole;
      const trust = (role.Properties.AssumeRolePolicyDocument as { Statement: Json[] }).Statement;
      expect(trust).to.have.length(1);
      expect(trust[0].Principal).to.deep.equal({ Service: 'scheduler.amazonaws.com' });
      const condition = (trust[0].Condition as { StringEquals: Json }).StringEquals;
      expect(condition['aws:SourceAccount']).to.deep.equal({ Ref: 'AWS::AccountId' });
      expect(text(condition['aws:SourceArn'])).to.equal(
        `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule/default/${SCHEDULE_NAME}`,
      );
      expect(grants(packaged.default).filter((grant) => grant.role === 'BackupScheduleRole')).to.deep.equal([
        {
          role: 'BackupScheduleRole',
          action: 'lambda:InvokeFunction',
          resource: '${StartScheduledRunLambdaFunction.Arn}',
        },
      ]);
      expect(
        grantsOf(packaged.default, 'startScheduledRun').filter((grant) => !grant.action.startsWith('logs:')),
      ).to.deep.equal([
        {
          role: roleOf(packaged.default, 'startScheduledRun'),
          action: 'states:StartExecution',
          resource: STATE_MACHINE_ARN,
        },
      ]);
    });

    it('lets reconcileSchedule read only the backup.cron row, and pass the schedule role only to Scheduler', () => {
      const statements = statementsOf(packaged.default, roleOf(packaged.default, 'reconcileSchedule'));
      const getItem = statements.find((statement) => asArray(statement.Action).includes('dynamodb:GetItem'));
      expect(getItem?.Condition).to.deep.equal({
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['backup.cron'] },
      });
      const passRole = statements.find((statement) => asArray(statement.Action).includes('iam:PassRole'));
      expect(passRole?.Condition).to.deep.equal({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    });

    it('has no schedule, schedule role, stream mapping or schedule grant when MetadataAndBackupS3Path is empty', () => {
      const template = packaged.featureOff;
      expect(ofType(template, 'AWS::Scheduler::Schedule')).to.deep.equal([]);
      expect(ofType(template, 'AWS::Lambda::EventSourceMapping')).to.deep.equal([]);
      expect(template.Resources.BackupScheduleRole).to.equal(undefined);
      expect(grants(template).filter((grant) => /^(scheduler|iam|states):/.test(grant.action))).to.deep.equal([
        {
          role: 'BackupApiRole',
          action: 'states:StartExecution',
          resource: STATE_MACHINE_ARN,
        },
        {
          role: 'BackupApiRole',
          action: 'states:DescribeExecution',
          resource: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:*`,
        },
      ]);
      const variables = (
        template.Resources.ReconcileScheduleLambdaFunction.Properties.Environment as { Variables: Json }
      ).Variables;
      expect(variables.BACKUP_SCHEDULE_NAME).to.equal('');
    });

    it('maps only backup.cron changes of the Configuration stream to reconcileSchedule, when the stream is given', () => {
      expect(ofType(packaged.default, 'AWS::Lambda::EventSourceMapping')).to.deep.equal([]);
      const mappings = ofType(packaged.kms, 'AWS::Lambda::EventSourceMapping');
      expect(mappings).to.have.length(1);
      const [, { Properties }] = mappings[0];
      expect(Properties).to.deep.include({
        FunctionName: { 'Fn::GetAtt': ['ReconcileScheduleLambdaFunction', 'Arn'] },
        EventSourceArn: STREAM_ARN,
        StartingPosition: 'LATEST',
      });
      expect(Properties.FilterCriteria).to.deep.equal({
        Filters: [{ Pattern: '{"dynamodb":{"Keys":{"Key":{"S":["backup.cron"]}}}}' }],
      });
      const stream = grantsOf(packaged.kms, 'reconcileSchedule').filter((grant) =>
        /^dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)$/.test(grant.action),
      );
      expect(stream).to.have.length(4);
      for (const grant of stream) {
        expect(grant.resource).to.equal(
          'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/CloneSquad-demo-Configuration/stream/*',
        );
      }
      expect(grantsOf(packaged.default, 'reconcileSchedule').map((grant) => grant.action)).to.not.include(
        'dynamodb:GetRecords',
      );
    });
  });

  describe('the backup API', () => {
    type Method = Resource['Properties'] & { Integration: Json; HttpMethod: string; AuthorizationType: string };
    const methods = (template: Template) =>
      Object.fromEntries(
        ofType(template, 'AWS::ApiGateway::Method').map(([, resource]) => {
          const path = resource.Properties.ResourceId as { Ref: string };
          const pathPart = template.Resources[path.Ref].Properties.PathPart as string;
          const parent = template.Resources[path.Ref].Properties.ParentId as { Ref?: string };
          const full = parent.Ref
            ? `/${template.Resources[parent.Ref].Properties.PathPart as string}/${pathPart}`
            : `/${pathPart}`;
          return [`${resource.Properties.HttpMethod as string} ${full}`, resource.Properties as Method];
        }),
      );

    it('is one regional REST API whose resource policy admits only principals of this account', () => {
      const apis = ofType(packaged.default, 'AWS::ApiGateway::RestApi');
      expect(apis).to.have.length(1);
      const [, { Properties }] = apis[0];
      expect(Properties.EndpointConfiguration).to.deep.equal({ Types: ['REGIONAL'] });
      const policy = Properties.Policy as { Statement: Statement[] };
      expect(policy.Statement).to.have.length(1);
      const [statement] = policy.Statement;
      expect(statement).to.deep.include({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: 'execute-api:/*' });
      expect(text((statement as unknown as { Principal: { AWS: unknown } }).Principal.AWS)).to.equal(
        'arn:${AWS::Partition}:iam::${AWS::AccountId}:root',
      );
    });

    it('has exactly POST /backup and GET /backup/{id}, both with IAM (SigV4) authorization', () => {
      const found = methods(packaged.default);
      expect(Object.keys(found).sort()).to.deep.equal(['GET /backup/{id}', 'POST /backup']);
      for (const method of Object.values(found)) expect(method.AuthorizationType).to.equal('AWS_IAM');
      expect(found['GET /backup/{id}'].RequestParameters).to.deep.equal({ 'method.request.path.id': true });
    });

    it('validates the POST body against the run request schema, unknown fields refused, with a clear 400', () => {
      const post = methods(packaged.default)['POST /backup'];
      const validator = packaged.default.Resources[(post.RequestValidatorId as { Ref: string }).Ref];
      expect(validator.Properties).to.deep.include({ ValidateRequestBody: true });
      const model =
        packaged.default.Resources[(post.RequestModels as Record<string, { Ref: string }>)['application/json'].Ref];
      expect(model.Type).to.equal('AWS::ApiGateway::Model');
      expect(model.Properties.ContentType).to.equal('application/json');
      expect(model.Properties.Schema).to.deep.equal(RUN_REQUEST_SCHEMA);
      expect(model.Properties.Schema).to.deep.include({ type: 'object', additionalProperties: false });
      const badBody = ofType(packaged.default, 'AWS::ApiGateway::GatewayResponse').find(
        ([, resource]) => resource.Properties.ResponseType === 'BAD_REQUEST_BODY',
      );
      expect(badBody?.[1].Properties.StatusCode).to.equal('400');
      expect(JSON.stringify(badBody?.[1].Properties.ResponseTemplates)).to.include(
        '$context.error.validationErrorString',
      );
    });

    it('starts and describes executions by direct Step Functions integrations, with a role allowed only that', () => {
      const found = methods(packaged.default);
      const uri = (method: Method) => text(method.Integration.Uri);
      expect(found['POST /backup'].Integration).to.deep.include({ Type: 'AWS', IntegrationHttpMethod: 'POST' });
      expect(uri(found['POST /backup'])).to.equal(
        'arn:${AWS::Partition}:apigateway:${AWS::Region}:states:action/StartExecution',
      );
      expect(uri(found['GET /backup/{id}'])).to.equal(
        'arn:${AWS::Partition}:apigateway:${AWS::Region}:states:action/DescribeExecution',
      );
      for (const method of Object.values(found)) {
        expect(method.Integration.Credentials).to.deep.equal({ 'Fn::GetAtt': ['BackupApiRole', 'Arn'] });
      }
      const startTemplate = text((found['POST /backup'].Integration.RequestTemplates as Json)['application/json']);
      expect(startTemplate).to.include(`"stateMachineArn": "${STATE_MACHINE_ARN}"`);
      expect(grants(packaged.default).filter((grant) => grant.role === 'BackupApiRole')).to.deep.equal([
        { role: 'BackupApiRole', action: 'states:StartExecution', resource: STATE_MACHINE_ARN },
        {
          role: 'BackupApiRole',
          action: 'states:DescribeExecution',
          resource: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:*`,
        },
      ]);
      const trust = (
        packaged.default.Resources.BackupApiRole.Properties.AssumeRolePolicyDocument as { Statement: Json[] }
      ).Statement;
      expect(trust.map((statement) => statement.Principal)).to.deep.equal([{ Service: 'apigateway.amazonaws.com' }]);
    });

    it('deploys both methods to a throttled stage and outputs the URL', () => {
      const deployments = ofType(packaged.default, 'AWS::ApiGateway::Deployment');
      expect(deployments).to.have.length(1);
      const [deploymentId, deployment] = deployments[0];
      expect(deployment.DependsOn).to.have.members(['BackupApiStartMethod', 'BackupApiStatusMethod']);
      const [, stage] = ofType(packaged.default, 'AWS::ApiGateway::Stage')[0];
      expect(stage.Properties.DeploymentId).to.deep.equal({ Ref: deploymentId });
      expect(stage.Properties.StageName).to.equal('dev');
      expect(text(packaged.default.Outputs.BackupApiUrl.Value)).to.equal(
        'https://${BackupApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev/backup',
      );
    });

    it('answers the feature-off error to POST /backup when MetadataAndBackupS3Path is empty', () => {
      const post = methods(packaged.featureOff)['POST /backup'];
      expect(post.AuthorizationType).to.equal('AWS_IAM');
      expect(post.Integration.Type).to.equal('MOCK');
      const [response] = post.Integration.IntegrationResponses as { StatusCode: string; ResponseTemplates: Json }[];
      expect(response.StatusCode).to.equal('503');
      expect(JSON.parse(response.ResponseTemplates['application/json'] as string)).to.deep.equal({
        message: featureOffError().message,
      });
      expect(featureOffError().message).to.match(/^MetadataAndBackupS3Path: it is empty, .*Fix: redeploy/);
    });
  });

  describe('parameter validation at package time', () => {
    it('refuses a MetadataAndBackupS3Path that is not s3:// with the run-time message', () => {
      expect(refused.badPath.status).to.not.equal(0);
      expect(refused.badPath.output).to.include(messageOf(() => parseS3Path('https://x')));
    });

    it('refuses a GroupName with "/" with the run-time message', () => {
      expect(refused.badGroup.status).to.not.equal(0);
      expect(refused.badGroup.output).to.include(messageOf(() => validateGroupName('a/b')));
    });
  });
});

describe('deployment configuration (deploy/)', () => {
  it('applies the SPEC §2 defaults', () => {
    expect(resolveParameters({ groupName: 'web' })).to.deep.equal({
      groupName: 'web',
      destination: null,
      userSuppliedJSONMetadata: '',
      timeZone: 'UTC',
      cloneSquadStackName: 'CloneSquad-web',
      configurationTable: 'CloneSquad-web-Configuration',
      schedulerTable: 'CloneSquad-web-Scheduler',
      glueCrawlerName: DEFAULT_CRAWLER_NAME,
      kmsKeyArn: '',
      configurationTableStreamArn: '',
    });
    expect(resolveParameters({ groupName: 'web', glueCrawlerName: '' }).glueCrawlerName).to.equal('');
  });

  it('refuses a missing GroupName, unknown parameter names and bad values, naming the parameter', () => {
    expect(() => resolveParameters({})).to.throw(/^GroupName "": the name is empty/);
    expect(() => checkParameterNames(['groupname'])).to.throw(/"groupname": no such parameter/);
    expect(() => resolveParameters({ groupName: 'web', timeZone: 'Mars/Olympus' })).to.throw(/^TimeZone/);
    expect(() => resolveParameters({ groupName: 'web', kmsKeyArn: 'alias/x' })).to.throw(/^KmsKeyArn/);
    expect(() => resolveParameters({ groupName: 'web', schedulerTable: 'a*' })).to.throw(/^SchedulerTable/);
    expect(() => resolveParameters({ groupName: 'web', userSuppliedJSONMetadata: '{' })).to.throw(
      /^UserSuppliedJSONMetadata/,
    );
    expect(() => resolveParameters({ groupName: 'web', configurationTableStreamArn: 'arn:aws:kinesis:x' })).to.throw(
      /^ConfigurationTableStreamArn "arn:aws:kinesis:x": it is not the ARN of a DynamoDB stream/,
    );
    expect(() => resolveParameters({ groupName: 'web', configurationTableStreamArn: STREAM_ARN })).to.throw(
      /it is the stream of table "CloneSquad-demo-Configuration", not of the Configuration table "CloneSquad-web-Configuration"/,
    );
    expect(
      resolveParameters({ groupName: 'demo', configurationTableStreamArn: STREAM_ARN }).configurationTableStreamArn,
    ).to.equal(STREAM_ARN);
  });

  it('turns layout placeholders into pseudo parameters and escapes IAM wildcards in literal text', () => {
    expect(iamResource(`arn:${TOKEN.partition}:s3:::b/a*b?$/${TOKEN.accountId}/${TOKEN.wildcard}`)).to.deep.equal({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b/a${*}b${?}${$}/', { Ref: 'AWS::AccountId' }, '/*']],
    });
    expect(iamResource('arn:aws:kms:x')).to.equal('arn:aws:kms:x');
  });

  it('keeps a literal "*" of an S3 prefix from widening the grant', () => {
    const statements = functionStatements(
      resolveParameters({ groupName: 'web', metadataAndBackupS3Path: 's3://bkt/p*' }),
    );
    const resources = statements.backupTable.flatMap((statement) => statement.Resource).map(text);
    const s3 = resources.filter((resource) => resource.includes(':s3:::'));
    expect(s3).to.have.length.above(0);
    for (const resource of s3) {
      expect(resource).to.satisfy(
        (value: string) =>
          value === 'arn:${AWS::Partition}:s3:::bkt' ||
          value.startsWith('arn:${AWS::Partition}:s3:::bkt/p${*}/backups/') ||
          value.startsWith('arn:${AWS::Partition}:s3:::bkt/p${*}/metadata/'),
      );
    }
  });

  it('checks every name derived from GroupName, and names GroupName when one of them is refused', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
        fc.constantFrom('dev', 'prod', 'a-very-long-stage-name'),
        (groupName, stage) => {
          fc.pre(groupNameProblem(groupName) === undefined);
          let parameters;
          try {
            parameters = resolveParameters({ groupName });
          } catch (error) {
            expect((error as Error).message).to.match(/^GroupName "[^"]*": the \w+ derived from it, /);
            return;
          }
          expect(parameters.cloneSquadStackName).to.match(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
          for (const table of [parameters.configurationTable, parameters.schedulerTable]) {
            expect(table).to.match(/^[A-Za-z0-9_.-]{3,255}$/);
          }
          const names = resourceNames(groupName, stage);
          expect(names.stack).to.match(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
          expect(names.stateMachine).to.match(/^[A-Za-z0-9_-]{1,80}$/);
          expect(names.schedule).to.match(/^[A-Za-z0-9_.-]{1,64}$/);
          expect(names.api.length).to.be.at.most(1024);
          for (const name of Object.values(names.functions)) expect(name).to.match(/^[A-Za-z0-9_-]{1,64}$/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('names resources per group and stage, within the services limits', () => {
    const long = resourceNames('g'.repeat(64), 'prod');
    const dotted = resourceNames('my.group_1', 'dev');
    expect(resourceNames('web', 'dev').functions.backupTable).to.equal('CloneSquad-web-dev-backupTable');
    for (const names of [long, dotted]) {
      for (const name of Object.values(names.functions)) expect(name).to.match(/^[A-Za-z0-9-]{1,64}$/);
      expect(names.stack).to.match(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
      expect(names.stateMachine.length).to.be.at.most(80);
    }
    expect(resourceNames('my.group', 'dev').stack).to.not.equal(resourceNames('my_group', 'dev').stack);
  });
});
