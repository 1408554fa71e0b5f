/**
 * One description of each function — its handler, limits, what starts it, and exactly the grants of
 * its role — from which serverless.yml's `functions` and the roles' resources are generated, and which
 * the local runner reads for the handlers and their timeouts.
 */
import { cfnDeep, getAtt, iamText, policyDocument, TOKEN, type Cfn, type PolicyStatement } from '#infra/cloudformation';
import {
  FUNCTIONS,
  resourceNames,
  type DeploymentParameters,
  type FunctionName,
  type ResourceNames,
} from '#infra/deployment-config';
import { describeAnything, Grants, LOG_DELIVERY_ACTIONS } from '#infra/iam';

export interface FunctionDescription {
  /** `file.export`, relative to the project root. */
  handler: string;
  description: string;
  /** Seconds. On AWS a Lambda Task waits as long as its function may run; the local runner does too. */
  timeout: number;
  memorySize: number;
  /** Called by a Task of the workflow (the others are started by schedules, events or the API). */
  workflowTask: boolean;
  /** The grants of its own role, beyond writing its own logs. */
  grants(grants: Grants): PolicyStatement[];
}

/** The subfleets of a group, from tag listings (and the states of their instances), never the fleet. */
const SUBFLEET_READS = ['ec2:DescribeTags', 'ec2:DescribeInstanceStatus'];

const READ_DISCOVERY_STACK = [
  'cloudformation:DescribeStacks',
  'cloudformation:GetTemplate',
  'cloudformation:GetTemplateSummary',
  'cloudformation:DescribeStackResource',
];

export const FUNCTION_DESCRIPTIONS: Record<FunctionName, FunctionDescription> = {
  planRun: {
    handler: 'functions/plan-run.handler',
    description: "Checks a run's input and resolves its group, or starts one execution per group",
    timeout: 60,
    memorySize: 256,
    workflowTask: true,
    grants: (g) => [...g.readStacks(), ...(g.allGroups ? g.startExecutions() : [])],
  },
  backupTable: {
    handler: 'functions/backup-table.handler',
    description: 'Backs a CloneSquad table up, exports its rows, and applies backup.cron to the schedule',
    timeout: 300,
    memorySize: 512,
    workflowTask: true,
    grants: (g) => [
      { Sid: 'ScanCloneSquadTables', Effect: 'Allow', Action: ['dynamodb:Scan'], Resource: g.tables() },
      ...g.createArchives(),
      ...(g.root ? g.metadataPartitions(['configuration', 'scheduler']) : []),
      ...g.manageSchedules(['scheduler:GetSchedule', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule']),
    ],
  },
  exportDiscovery: {
    handler: 'functions/export-discovery.handler',
    description: "Exports the group's discovery record (its stack, account and subfleets)",
    timeout: 120,
    memorySize: 512,
    workflowTask: true,
    grants: (g) => [
      ...g.readStacks(READ_DISCOVERY_STACK),
      {
        // Only its own account's entry in the Organization (the organization id is not known here).
        Sid: 'DescribeOwnAccount',
        Effect: 'Allow',
        Action: ['organizations:DescribeAccount'],
        Resource: [
          iamText(
            `arn:${TOKEN.partition}:organizations::${TOKEN.wildcard}:account/o-${TOKEN.wildcard}/${TOKEN.accountId}`,
          ),
        ],
      },
      ...g.readDiscoveryFunction(),
      describeAnything('ReadGroupSubfleetTags', SUBFLEET_READS),
      ...(g.root ? g.metadataPartitions(['discovery']) : []),
    ],
  },
  exportInstances: {
    handler: 'functions/export-instances.handler',
    description: "Exports the group's instances and their volumes",
    timeout: 600,
    memorySize: 512,
    workflowTask: true,
    grants: (g) => [
      // DescribeInstanceTypes gives the _InstanceType column.
      describeAnything('DescribeGroupInstances', [
        'ec2:DescribeInstances',
        'ec2:DescribeVolumes',
        'ec2:DescribeInstanceTypes',
      ]),
      ...(g.root ? g.metadataPartitions(['instances', 'volumes']) : []),
    ],
  },
  exportMaintenanceWindows: {
    handler: 'functions/export-maintenance-windows.handler',
    description: "Exports the SSM maintenance windows of the group's fleets",
    timeout: 300,
    memorySize: 512,
    workflowTask: true,
    grants: (g) => [
      describeAnything('DescribeMaintenanceWindows', ['ssm:DescribeMaintenanceWindows']),
      {
        Sid: 'ReadMaintenanceWindowTags',
        Effect: 'Allow',
        Action: ['ssm:ListTagsForResource'],
        Resource: [
          iamText(`arn:${TOKEN.partition}:ssm:${TOKEN.region}:${TOKEN.accountId}:maintenancewindow/${TOKEN.wildcard}`),
        ],
      },
      describeAnything('ReadGroupSubfleetTags', SUBFLEET_READS),
      ...(g.root ? g.metadataPartitions(['maintenance-windows']) : []),
    ],
  },
  archiveBackups: {
    handler: 'functions/archive-backups.handler',
    description:
      'Moves latest- to the new archives, starts the crawler when a partition is new, and concludes the execution with its summary',
    timeout: 60,
    memorySize: 512,
    workflowTask: true,
    grants: (g) => [...g.publishLatest(), ...g.startCrawler()],
  },
  summarize: {
    handler: 'functions/summarize.handler',
    description: 'Concludes an execution whose archive step crashed: its summary, archive and catalog failed',
    timeout: 30,
    memorySize: 256,
    workflowTask: true,
    grants: () => [],
  },
  reconcileGroups: {
    handler: 'functions/reconcile-groups.handler',
    description: "Keeps each group's schedule in step with its backup.cron; forgets the groups that are gone",
    timeout: 300,
    memorySize: 512,
    workflowTask: false,
    grants: (g) => [
      ...g.readStacks(),
      ...g.readScheduleRows(),
      ...g.manageSchedules([
        'scheduler:GetSchedule',
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'scheduler:DeleteSchedule',
      ]),
      // IAM authorises ListSchedules on "*" only (it takes no resource); the call names the schedule group.
      ...(g.root ? [describeAnything('ListGroupSchedules', ['scheduler:ListSchedules'])] : []),
      ...(g.allGroups && g.root ? g.metadataPartitions(undefined, true) : []),
      ...(g.root && g.parameters.configurationTableStreamArn
        ? [
            {
              // Lambda reads the stream for the event source mapping, with the function's role.
              Sid: 'ReadConfigurationTableStream',
              Effect: 'Allow' as const,
              Action: [
                'dynamodb:DescribeStream',
                'dynamodb:GetRecords',
                'dynamodb:GetShardIterator',
                'dynamodb:ListStreams',
              ],
              Resource: [g.parameters.configurationTableStreamArn],
            },
          ]
        : []),
    ],
  },
  startScheduledRun: {
    handler: 'functions/start-scheduled-run.handler',
    description: "Starts the run of one group's schedule slot, once",
    timeout: 30,
    memorySize: 256,
    workflowTask: false,
    grants: (g) => (g.root ? g.startExecutions() : []),
  },
  backupStatus: {
    handler: 'functions/backup-status.handler',
    description: "Answers the backup API's status route: a run's state and summaries",
    timeout: 30,
    memorySize: 256,
    workflowTask: false,
    grants: (g) => g.describeExecutions(),
  },
};

/** The logical id Serverless gives a function's log group, and the function itself. */
export const logGroupLogicalId = (name: FunctionName) => `${name[0].toUpperCase()}${name.slice(1)}LogGroup`;
export const lambdaLogicalId = (name: FunctionName) => `${name[0].toUpperCase()}${name.slice(1)}LambdaFunction`;
const roleLogicalId = (name: FunctionName) => `${name[0].toUpperCase()}${name.slice(1)}Role`;

/**
 * Every statement of a function's role: its own log group, its grants, and the KMS key's use when
 * its grants read or write objects and a key is set.
 */
export function functionStatements(name: FunctionName, grants: Grants): PolicyStatement[] {
  const own = FUNCTION_DESCRIPTIONS[name].grants(grants);
  const usesObjects = own.some((statement) =>
    [statement.Action].flat().some((action) => action === 's3:GetObject' || action === 's3:PutObject'),
  );
  return [
    {
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [getAtt(logGroupLogicalId(name), 'Arn')],
    },
    ...own,
    ...(usesObjects ? grants.useKmsKey() : []),
  ];
}

/** Every function's role statements, by function (the docs' IAM page and the policy tests read them). */
export function roleStatements(
  parameters: DeploymentParameters,
  // osls's default stage; serverless-config.ts passes the real one.
  names: ResourceNames = resourceNames(parameters.groupName, 'dev'),
): Record<FunctionName, PolicyStatement[]> {
  const grants = new Grants(parameters, names);
  return Object.fromEntries(FUNCTIONS.map((name) => [name, functionStatements(name, grants)])) as Record<
    FunctionName,
    PolicyStatement[]
  >;
}

const LAMBDA_TRUST: Cfn = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/** serverless.yml's `functions`, one entry per description. */
export function serverlessFunctions(names: ResourceNames): Record<string, Cfn> {
  return Object.fromEntries(
    FUNCTIONS.map((name) => {
      const { handler, description, timeout, memorySize } = FUNCTION_DESCRIPTIONS[name];
      // By logical id or GetAtt, osls adds a DependsOn on the role that the GetAtt already implies (cfn-lint
      // W3005); an Fn::Sub of its ARN it takes as it is.
      const role = { 'Fn::Sub': `\${${roleLogicalId(name)}.Arn}` };
      return [name, { handler, name: names.functions[name], description, timeout, memorySize, role }];
    }),
  );
}

/** One role per function, and the workflow's, as CloudFormation resources. */
export function roleResources(parameters: DeploymentParameters, names: ResourceNames): Record<string, Cfn> {
  const grants = new Grants(parameters, names);
  const roles = Object.fromEntries(
    FUNCTIONS.map((name) => [
      roleLogicalId(name),
      {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: LAMBDA_TRUST,
          Policies: [{ PolicyName: name, PolicyDocument: cfnDeep(policyDocument(functionStatements(name, grants))) }],
        },
      },
    ]),
  );
  return { ...roles, WorkflowExecutionRole: workflowRole(grants) };
}

export const WORKFLOW_FUNCTIONS = FUNCTIONS.filter((name) => FUNCTION_DESCRIPTIONS[name].workflowTask);

/** The state machine's role: invoke the workflow's functions, deliver its logs. */
export function workflowStatements(grants: Grants): PolicyStatement[] {
  return [
    ...grants.invoke(WORKFLOW_FUNCTIONS.map(lambdaLogicalId)),
    { Sid: 'DeliverLogs', Effect: 'Allow', Action: LOG_DELIVERY_ACTIONS, Resource: ['*'] },
  ];
}

function workflowRole(grants: Grants): Cfn {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'states.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
      Policies: [{ PolicyName: 'workflow', PolicyDocument: cfnDeep(policyDocument(workflowStatements(grants))) }],
    },
  };
}
