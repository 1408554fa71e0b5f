/**
 * The grants the functions' roles are made of, each exactly the calls a function makes on exactly
 * the resources it touches. S3 resources come from the shared key layout (a change of layout changes
 * the grants with it); a single-group deployment's grants name its group, an all-groups one's any
 * group of its own account and region, never another account's or region's partitions.
 */
import {
  archiveBackupKey,
  BACKUP_TABLES,
  latestBackupKey,
  METADATA_TABLES,
  metadataPartitionFolder,
  newPartitionMarkerKey,
  type MetadataTable,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { getAtt, iamText, TOKEN, type Cfn, type PolicyStatement } from '#infra/cloudformation';
import { resourceArns, type DeploymentParameters, type ResourceNames } from '#infra/deployment-config';
import { defaultTableNames } from '#shared/run/deployment';
import { BACKUP_CRON_ROW_KEY_PATTERNS } from '#shared/schedule/backup-cron';
import { conventionalDiscoveryFunctionName } from '#shared/metadata/discovery-function';

/** Every write is made with this ACL; the condition keeps it so. */
const BUCKET_OWNER_FULL_CONTROL = { 's3:x-amz-acl': 'bucket-owner-full-control' };

/** What a deployment's grants are built from. */
export class Grants {
  readonly root: S3Location | null;
  /** The partitions this deployment writes: its group's, or any group's of its account and region. */
  readonly id: PartitionIdentity;
  readonly arns: ReturnType<typeof resourceArns>;
  readonly allGroups: boolean;

  constructor(
    readonly parameters: DeploymentParameters,
    readonly names: ResourceNames,
  ) {
    this.root = parameters.destination;
    this.allGroups = parameters.groupName === undefined;
    this.id = { accountId: TOKEN.accountId, region: TOKEN.region, groupName: parameters.groupName ?? TOKEN.wildcard };
    this.arns = resourceArns(names);
  }

  private arn(service: string, resource: string): Cfn {
    return iamText(`arn:${TOKEN.partition}:${service}:${TOKEN.region}:${TOKEN.accountId}:${resource}`);
  }

  private object(key: string): Cfn {
    return iamText(`arn:${TOKEN.partition}:s3:::${this.root!.bucket}/${key}`);
  }

  /** S3 grants: none when the feature is off. */
  private s3(statements: PolicyStatement[]): PolicyStatement[] {
    return this.root ? statements : [];
  }

  /** The KMS key's use through S3, for a role that writes or reads objects, when a key is set. */
  useKmsKey(): PolicyStatement[] {
    const key = this.parameters.kmsKeyArn;
    if (!this.root || !key) return [];
    return [
      {
        Sid: 'EncryptWithKmsKeyThroughS3',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: [key],
        // Only through S3; the bucket may be in another region (a central account's).
        Condition: { StringLike: { 'kms:ViaService': ['s3.*.amazonaws.com', 's3.*.amazonaws.com.cn'] } },
      },
    ];
  }

  // With the feature off there is no key (and s3() grants nothing), but the statements are still built.
  private archives(): Cfn[] {
    return this.root
      ? BACKUP_TABLES.map((table) => this.object(archiveBackupKey(this.root!, this.id, table, TOKEN.wildcard)))
      : [];
  }

  private latest(): Cfn[] {
    return this.root ? BACKUP_TABLES.map((table) => this.object(latestBackupKey(this.root!, this.id, table))) : [];
  }

  /** The group's CloneSquad tables (single mode), or any group's (CloneSquad's template names them so). */
  tables(which: readonly ('configuration' | 'scheduler')[] = ['configuration', 'scheduler']): Cfn[] {
    const names = this.allGroups
      ? defaultTableNames(TOKEN.wildcard)
      : { configuration: this.parameters.configurationTable, scheduler: this.parameters.schedulerTable };
    return which.map((table) => this.arn('dynamodb', `table/${names[table]}`));
  }

  /** Archives are created, never replaced: S3 takes the write only with If-None-Match: *. */
  createArchives(): PolicyStatement[] {
    return this.s3([
      {
        Sid: 'CreateArchiveBackups',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: this.archives(),
        Condition: { StringEquals: { ...BUCKET_OWNER_FULL_CONTROL, 's3:if-none-match': '*' } },
      },
      {
        // The archive tag that the central bucket's retention rule selects archives by.
        Sid: 'TagArchiveBackups',
        Effect: 'Allow',
        Action: ['s3:PutObjectTagging'],
        Resource: this.archives(),
      },
      {
        Sid: 'SetArchiveBackupAcl',
        Effect: 'Allow',
        Action: ['s3:PutObjectAcl'],
        Resource: this.archives(),
        Condition: { StringEquals: BUCKET_OWNER_FULL_CONTROL },
      },
      // A retried write-once archive is compared with what the first attempt wrote; an unchanged
      // table is compared with the archive latest- holds.
      {
        Sid: 'ReadBackups',
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [...this.archives(), ...this.latest()],
      },
    ]);
  }

  /** The archive step: read which archive latest- holds, read the archive, write latest-. */
  publishLatest(): PolicyStatement[] {
    return this.s3([
      { Sid: 'ReadArchiveBackups', Effect: 'Allow', Action: ['s3:GetObject'], Resource: this.archives() },
      { Sid: 'ReadLatestBackups', Effect: 'Allow', Action: ['s3:GetObject'], Resource: this.latest() },
      {
        Sid: 'WriteLatestBackups',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:PutObjectAcl'],
        Resource: this.latest(),
        Condition: { StringEquals: BUCKET_OWNER_FULL_CONTROL },
      },
    ]);
  }

  /**
   * Writing CMDB partitions: put the one object (large ones in parts: UploadPart carries no ACL, so
   * the ACL must be bucket-owner-full-control only when one is sent), list the partition folder and
   * delete what else is in it. `removeOnly`: list and delete (a deleted group's rows).
   */
  metadataPartitions(tables: readonly MetadataTable[] = METADATA_TABLES, removeOnly = false): PolicyStatement[] {
    const folders = tables.map((table) => metadataPartitionFolder(this.root!, this.id, table));
    const objects = folders.map((folder) => this.object(`${folder}/${TOKEN.wildcard}`));
    const markers = tables.map((table) => this.object(newPartitionMarkerKey(this.root!, this.id, table)));
    const bucket = iamText(`arn:${TOKEN.partition}:s3:::${this.root?.bucket}`);
    return this.s3([
      ...(removeOnly
        ? []
        : [
            {
              Sid: 'WriteMetadataPartitions',
              Effect: 'Allow' as const,
              Action: ['s3:PutObject', 's3:PutObjectAcl'],
              Resource: objects,
              Condition: { StringEqualsIfExists: BUCKET_OWNER_FULL_CONTROL },
            },
            // A HEAD of its own object tells whether the folder needs listing (a twelfth of the price).
            { Sid: 'ReadMetadataPartitions', Effect: 'Allow' as const, Action: ['s3:GetObject'], Resource: objects },
            {
              Sid: 'MarkNewPartitions',
              Effect: 'Allow' as const,
              Action: ['s3:PutObject'],
              Resource: markers,
              Condition: { StringEquals: BUCKET_OWNER_FULL_CONTROL },
            },
          ]),
      {
        Sid: 'ReplaceMetadataPartitionObjects',
        Effect: 'Allow',
        Action: removeOnly ? ['s3:DeleteObject'] : ['s3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: objects,
      },
      {
        Sid: 'ListMetadataPartitions',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [bucket],
        Condition: {
          [this.allGroups ? 'StringLike' : 'StringEquals']: {
            's3:prefix': folders.map((folder) => iamText(`${folder}/`)),
          },
        },
      },
    ]);
  }

  /** Reading CloneSquad stacks: the group's (single mode), or every stack's, to find the groups. */
  readStacks(actions: string[] = ['cloudformation:DescribeStacks']): PolicyStatement[] {
    if (!this.allGroups) {
      return [
        {
          Sid: 'ReadCloneSquadStack',
          Effect: 'Allow',
          Action: actions,
          Resource: [this.arn('cloudformation', `stack/${this.parameters.cloneSquadStackName}/${TOKEN.wildcard}`)],
        },
      ];
    }
    return [
      // Listing every stack (DescribeStacks without a name) is authorised on "*" only.
      { Sid: 'FindCloneSquadStacks', Effect: 'Allow', Action: ['cloudformation:DescribeStacks'], Resource: ['*'] },
      {
        Sid: 'ReadCloneSquadStacks',
        Effect: 'Allow',
        Action: [...new Set([...actions, 'cloudformation:ListStackResources'])],
        Resource: [this.arn('cloudformation', `stack/${TOKEN.wildcard}`)],
      },
    ];
  }

  /**
   * Reading the environment of a group's CloneSquad Discovery function, which holds the original
   * discovery record's fields the stack shows nowhere else.
   */
  readDiscoveryFunction(): PolicyStatement[] {
    return [
      {
        Sid: 'ReadCloneSquadDiscoveryFunction',
        Effect: 'Allow',
        Action: ['lambda:GetFunctionConfiguration'],
        Resource: [
          this.arn(
            'lambda',
            `function:${conventionalDiscoveryFunctionName(this.parameters.groupName ?? TOKEN.wildcard)}`,
          ),
        ],
      },
    ];
  }

  /** Managing the groups' schedules in the deployment's schedule group, and handing them their role. */
  manageSchedules(actions: string[]): PolicyStatement[] {
    if (!this.root) return [];
    return [
      { Sid: 'ManageGroupSchedules', Effect: 'Allow', Action: actions, Resource: [iamText(this.arns.schedules)] },
      {
        // Creating or updating a schedule hands it the role that starts its runs.
        Sid: 'PassScheduleRoleToScheduler',
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [iamText(this.arns.scheduleRole)],
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ];
  }

  /** Reading the Configuration rows the effective `backup.cron` is resolved from, and no other. */
  readScheduleRows(): PolicyStatement[] {
    return [
      {
        Sid: 'ReadBackupCronRows',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        Resource: this.tables(['configuration']),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...BACKUP_CRON_ROW_KEY_PATTERNS] } },
      },
    ];
  }

  startExecutions(): PolicyStatement[] {
    return [
      {
        Sid: 'StartRuns',
        Effect: 'Allow',
        Action: ['states:StartExecution'],
        Resource: [iamText(this.arns.stateMachine)],
      },
    ];
  }

  describeExecutions(): PolicyStatement[] {
    return [
      {
        Sid: 'DescribeRuns',
        Effect: 'Allow',
        Action: ['states:DescribeExecution'],
        Resource: [iamText(this.arns.executions)],
      },
    ];
  }

  startCrawler(): PolicyStatement[] {
    const crawler = this.parameters.glueCrawlerName;
    if (!crawler) return [];
    return [
      {
        Sid: 'StartCatalogCrawler',
        Effect: 'Allow',
        Action: ['glue:StartCrawler'],
        Resource: [this.arn('glue', `crawler/${crawler}`)],
      },
    ];
  }

  /** The Lambda invocations the workflow makes. */
  invoke(functionLogicalIds: string[]): PolicyStatement[] {
    return [
      {
        Sid: 'InvokeWorkflowFunctions',
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: functionLogicalIds.map((id) => getAtt(id, 'Arn')),
      },
    ];
  }
}

/** EC2 and SSM `Describe*` calls accept no resource but "*"; they only read. */
export function describeAnything(sid: string, actions: string[]): PolicyStatement {
  return { Sid: sid, Effect: 'Allow', Action: actions, Resource: ['*'] };
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
