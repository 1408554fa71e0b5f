/**
 * Least-privilege policy statements of each function's role: exactly the calls it makes, on exactly
 * the tables and keys it touches. S3 resources are derived from the shared key layout, so a change
 * of layout changes the grants with it.
 */
import {
  archiveBackupKey,
  BACKUP_TABLES,
  latestBackupKey,
  metadataPartitionFolder,
  type MetadataTable,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { iamResource, TOKEN, type Cfn } from '#infra/cloudformation';
import { BACKUP_CRON_KEY, SCHEDULE_GROUP } from '#shared/schedule/backup-cron';
import {
  FUNCTIONS,
  WORKFLOW_FUNCTIONS,
  type DeploymentParameters,
  type FunctionName,
  resourceNames,
} from '#infra/deployment-config';

type ResourceNames = ReturnType<typeof resourceNames>;

export interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: Cfn[];
  Condition?: Record<string, Record<string, Cfn | Cfn[]>>;
}

/** The logical id Serverless gives a function's log group. */
export function logGroupLogicalId(name: FunctionName): string {
  return `${name[0].toUpperCase()}${name.slice(1)}LogGroup`;
}

function writeLogs(name: FunctionName): Statement {
  return {
    Sid: 'WriteOwnLogs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: [{ 'Fn::GetAtt': [logGroupLogicalId(name), 'Arn'] }],
  };
}

function s3Object(root: S3Location, key: string): Cfn {
  return iamResource(`arn:${TOKEN.partition}:s3:::${root.bucket}/${key}`);
}

/** Every write is made with this ACL (SPEC §4); the condition keeps it so. */
const BUCKET_OWNER_FULL_CONTROL = { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } };

/**
 * Large metadata objects are uploaded in parts, and UploadPart (authorised as s3:PutObject) carries no
 * ACL header: the ACL is given once, on CreateMultipartUpload. So for metadata the ACL is required
 * to be bucket-owner-full-control whenever one is sent, and parts without one are let through.
 */
const BUCKET_OWNER_FULL_CONTROL_IF_SENT = {
  StringEqualsIfExists: { 's3:x-amz-acl': 'bucket-owner-full-control' },
};

function useKmsKey(kmsKeyArn: string): Statement[] {
  if (!kmsKeyArn) return [];
  return [
    {
      Sid: 'EncryptWithKmsKeyThroughS3',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: [kmsKeyArn],
      // Only for S3; the bucket may be in another region (a central account's), so any region's.
      Condition: { StringLike: { 'kms:ViaService': ['s3.*.amazonaws.com', 's3.*.amazonaws.com.cn'] } },
    },
  ];
}

/**
 * Writing a CMDB partition: put the one object, list the partition folder, and delete what else is in
 * it (SPEC §4), for exactly the given tables' partitions of this deployment.
 */
function writeMetadataPartitions(root: S3Location, id: PartitionIdentity, tables: MetadataTable[]): Statement[] {
  const folders = tables.map((table) => metadataPartitionFolder(root, id, table));
  return [
    {
      Sid: 'WriteMetadataPartitions',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:PutObjectAcl'],
      Resource: folders.map((folder) => s3Object(root, `${folder}/${TOKEN.wildcard}`)),
      Condition: BUCKET_OWNER_FULL_CONTROL_IF_SENT,
    },
    {
      Sid: 'ReplaceMetadataPartitionObjects',
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:AbortMultipartUpload'],
      Resource: folders.map((folder) => s3Object(root, `${folder}/${TOKEN.wildcard}`)),
    },
    {
      Sid: 'ListMetadataPartitions',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [iamResource(`arn:${TOKEN.partition}:s3:::${root.bucket}`)],
      Condition: { StringEquals: { 's3:prefix': folders.map((folder) => iamResource(`${folder}/`)) } },
    },
  ];
}

/** EC2 and SSM `Describe*` calls accept no resource but "*"; they only read. */
const DESCRIBE_INSTANCES: Statement = {
  Sid: 'DescribeGroupInstances',
  Effect: 'Allow',
  Action: ['ec2:DescribeInstances'],
  Resource: ['*'],
};

/** The schedule's role, which scheduled runs go through (deploy/triggers.ts). */
export const SCHEDULE_ROLE_LOGICAL_ID = 'BackupScheduleRole';

export function stateMachineArn(names: ResourceNames): Cfn {
  return iamResource(
    `arn:${TOKEN.partition}:states:${TOKEN.region}:${TOKEN.accountId}:stateMachine:${names.stateMachine}`,
  );
}

function executionsArn(names: ResourceNames): Cfn {
  return iamResource(
    `arn:${TOKEN.partition}:states:${TOKEN.region}:${TOKEN.accountId}:execution:${names.stateMachine}:${TOKEN.wildcard}`,
  );
}

export function functionStatements(
  parameters: DeploymentParameters,
  // osls's default stage; serverless-config.ts passes the real one.
  names: ResourceNames = resourceNames(parameters.groupName, 'dev'),
): Record<FunctionName, Statement[]> {
  const root = parameters.destination;
  const id: PartitionIdentity = { accountId: TOKEN.accountId, region: TOKEN.region, groupName: parameters.groupName };
  const archives = root
    ? BACKUP_TABLES.map((table) => s3Object(root, archiveBackupKey(root, id, table, TOKEN.wildcard)))
    : [];
  const latest = root ? BACKUP_TABLES.map((table) => s3Object(root, latestBackupKey(root, id, table))) : [];
  const s3 = (statements: Statement[]) => (root ? [...statements, ...useKmsKey(parameters.kmsKeyArn)] : []);
  const metadata = (tables: MetadataTable[]) => (root ? writeMetadataPartitions(root, id, tables) : []);
  const arn = (service: string, resource: string, region = TOKEN.region) =>
    iamResource(`arn:${TOKEN.partition}:${service}:${region}:${TOKEN.accountId}:${resource}`);

  const statements: Record<FunctionName, Statement[]> = {
    backupTable: [
      {
        Sid: 'ScanCloneSquadTables',
        Effect: 'Allow',
        Action: ['dynamodb:Scan'],
        Resource: [parameters.configurationTable, parameters.schedulerTable].map((table) =>
          arn('dynamodb', `table/${table}`),
        ),
      },
      ...s3([
        {
          // Archives are write-once: one may be created (If-None-Match: *), never replaced.
          Sid: 'CreateArchiveBackups',
          Effect: 'Allow',
          Action: ['s3:PutObject'],
          Resource: archives,
          Condition: { StringEquals: { ...BUCKET_OWNER_FULL_CONTROL.StringEquals, 's3:if-none-match': '*' } },
        },
        {
          // A PutObject that sends an ACL needs this too; an ACL cannot replace an archive's content.
          Sid: 'SetArchiveBackupAcl',
          Effect: 'Allow',
          Action: ['s3:PutObjectAcl'],
          Resource: archives,
          Condition: BUCKET_OWNER_FULL_CONTROL,
        },
        // A retried write-once archive is compared with what the first attempt wrote.
        { Sid: 'ReadArchiveBackups', Effect: 'Allow', Action: ['s3:GetObject'], Resource: archives },
        ...metadata([...BACKUP_TABLES]),
      ]),
    ],
    archiveBackups: s3([
      { Sid: 'ReadArchiveBackups', Effect: 'Allow', Action: ['s3:GetObject'], Resource: archives },
      // HEAD (authorised as s3:GetObject) tells which archive latest- holds before it is replaced.
      { Sid: 'ReadLatestBackups', Effect: 'Allow', Action: ['s3:GetObject'], Resource: latest },
      {
        Sid: 'WriteLatestBackups',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:PutObjectAcl'],
        Resource: latest,
        Condition: BUCKET_OWNER_FULL_CONTROL,
      },
    ]),
    exportDiscovery: [
      {
        Sid: 'ReadCloneSquadStack',
        Effect: 'Allow',
        Action: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate', 'cloudformation:GetTemplateSummary'],
        Resource: [arn('cloudformation', `stack/${parameters.cloneSquadStackName}/${TOKEN.wildcard}`)],
      },
      {
        // The account's own ARN in its Organization, whose id and management account it need not know.
        Sid: 'DescribeOwnAccount',
        Effect: 'Allow',
        Action: ['organizations:DescribeAccount'],
        Resource: [
          iamResource(
            `arn:${TOKEN.partition}:organizations::${TOKEN.wildcard}:account/o-${TOKEN.wildcard}/${TOKEN.accountId}`,
          ),
        ],
      },
      DESCRIBE_INSTANCES,
      ...s3(metadata(['discovery'])),
    ],
    exportInstances: [
      {
        ...DESCRIBE_INSTANCES,
        // DescribeInstanceTypes gives the _InstanceType column.
        Action: ['ec2:DescribeInstances', 'ec2:DescribeVolumes', 'ec2:DescribeInstanceTypes'],
      },
      ...s3(metadata(['instances', 'volumes'])),
    ],
    exportMaintenanceWindows: [
      {
        Sid: 'DescribeMaintenanceWindows',
        Effect: 'Allow',
        Action: ['ssm:DescribeMaintenanceWindows'],
        Resource: ['*'],
      },
      {
        Sid: 'ReadMaintenanceWindowTags',
        Effect: 'Allow',
        Action: ['ssm:ListTagsForResource'],
        Resource: [arn('ssm', `maintenancewindow/${TOKEN.wildcard}`)],
      },
      DESCRIBE_INSTANCES,
      ...s3(metadata(['maintenance-windows'])),
    ],
    summarize: [],
    planRun: [],
    reconcileSchedule: [
      {
        Sid: 'ReadBackupCronKey',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem'],
        Resource: [arn('dynamodb', `table/${parameters.configurationTable}`)],
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [BACKUP_CRON_KEY] } },
      },
      ...(parameters.configurationTableStreamArn
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
              Resource: [arn('dynamodb', `table/${parameters.configurationTable}/stream/${TOKEN.wildcard}`)],
            },
          ]
        : []),
      ...(root
        ? [
            {
              Sid: 'ReconcileBackupSchedule',
              Effect: 'Allow' as const,
              Action: ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
              Resource: [arn('scheduler', `schedule/${SCHEDULE_GROUP}/${names.schedule}`)],
            },
            {
              // UpdateSchedule hands the schedule's own role back to Scheduler.
              Sid: 'PassScheduleRoleToScheduler',
              Effect: 'Allow' as const,
              Action: ['iam:PassRole'],
              Resource: [{ 'Fn::GetAtt': [SCHEDULE_ROLE_LOGICAL_ID, 'Arn'] } as Cfn],
              Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
            },
          ]
        : []),
    ],
    startScheduledRun: root
      ? [
          {
            Sid: 'StartScheduledRuns',
            Effect: 'Allow',
            Action: ['states:StartExecution'],
            Resource: [stateMachineArn(names)],
          },
        ]
      : [],
  };
  return Object.fromEntries(FUNCTIONS.map((name) => [name, [writeLogs(name), ...statements[name]]])) as Record<
    FunctionName,
    Statement[]
  >;
}

/** Actions Step Functions needs to deliver its logs; AWS defines no resource for them. */
export const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];

/** The logical id Serverless gives a function. */
export function lambdaLogicalId(name: FunctionName): string {
  return `${name[0].toUpperCase()}${name.slice(1)}LambdaFunction`;
}

/** The state machine's role: invoke the functions, start the crawler, deliver its logs. */
export function stateMachineStatements(parameters: DeploymentParameters): Statement[] {
  return [
    {
      Sid: 'InvokeWorkflowFunctions',
      Effect: 'Allow',
      Action: ['lambda:InvokeFunction'],
      Resource: WORKFLOW_FUNCTIONS.map((name) => ({ 'Fn::GetAtt': [lambdaLogicalId(name), 'Arn'] }) as Cfn),
    },
    ...(parameters.glueCrawlerName
      ? [
          {
            Sid: 'StartCatalogCrawler',
            Effect: 'Allow' as const,
            Action: ['glue:StartCrawler'],
            Resource: [
              iamResource(
                `arn:${TOKEN.partition}:glue:${TOKEN.region}:${TOKEN.accountId}:crawler/${parameters.glueCrawlerName}`,
              ),
            ],
          },
        ]
      : []),
    { Sid: 'DeliverLogs', Effect: 'Allow', Action: LOG_DELIVERY_ACTIONS, Resource: ['*'] },
  ];
}

/** The schedule's role: start the slot's run through the function that names it (shared/scheduled-run.ts). */
export function scheduleStatements(): Statement[] {
  return [
    {
      Sid: 'StartScheduledRun',
      Effect: 'Allow',
      Action: ['lambda:InvokeFunction'],
      Resource: [{ 'Fn::GetAtt': [lambdaLogicalId('startScheduledRun'), 'Arn'] }],
    },
  ];
}

/** The `backup` API's role: start executions of this state machine and describe them, nothing else. */
export function apiStatements(names: ResourceNames): Statement[] {
  return [
    { Sid: 'StartRuns', Effect: 'Allow', Action: ['states:StartExecution'], Resource: [stateMachineArn(names)] },
    { Sid: 'DescribeRuns', Effect: 'Allow', Action: ['states:DescribeExecution'], Resource: [executionsArn(names)] },
  ];
}
