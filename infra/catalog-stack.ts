/**
 * The catalog stack, deployed once in the central account, in the bucket's region: the Glue database
 * (unless it is `default`), one explicit table per metadata folder, a crawler over those tables that
 * only adds partitions, and what starts that crawler when any account of the Organization writes a
 * new partition (the bucket's EventBridge events of the new-partition markers). The catalog's
 * definitions come from glue/catalog.ts; `npm run generate` writes infra/generated/catalog-stack.json.
 */
import { join } from 'node:path';
import { METADATA_TABLES, metadataTableFolder, newPartitionsFolder, type MetadataTable } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { TABLES } from '#shared/catalog/schema';
import {
  CRAWLER_NAME_PATTERN,
  crawlerSettings,
  crawlerTargets,
  crawlerTriggerDefinition,
  DEFAULT_CRAWLER_NAME,
  DEFAULT_CRAWLER_SCHEDULE,
  DEFAULT_DATABASE,
  tableInput,
  tableLocation,
} from '#glue/catalog';
import { cfn, getAtt, ref, token, TOKEN, type Cfn } from '#infra/cloudformation';

export const GENERATED_STACK = join(__dirname, 'generated', 'catalog-stack.json');

const BUCKET = token('BucketName');
const ifPrefix = (withPrefix: Cfn, withoutPrefix: Cfn) => ({ 'Fn::If': ['HasPrefix', withPrefix, withoutPrefix] });

/** A text built by `build` from the bucket root, with the `BucketName`/`Prefix` parameters in it. */
function fromRoot(build: (root: S3Location) => string): Cfn {
  return ifPrefix(cfn(build({ bucket: BUCKET, prefix: token('Prefix') })), cfn(build({ bucket: BUCKET, prefix: '' })));
}

function logicalId(table: MetadataTable): string {
  return `Table${table.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) => letter.toUpperCase())}`;
}

function crawlerPolicy(): Cfn {
  const folder = (table: MetadataTable) => (root: S3Location) => metadataTableFolder(root, table);
  const glueArn = (resource: string) =>
    cfn(`arn:${TOKEN.partition}:glue:${TOKEN.region}:${TOKEN.accountId}:${resource}`);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ListMetadataFolders',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: cfn(`arn:${TOKEN.partition}:s3:::${BUCKET}`),
        Condition: {
          StringLike: {
            's3:prefix': METADATA_TABLES.flatMap((table) => [
              fromRoot(folder(table)),
              fromRoot((root) => `${folder(table)(root)}/*`),
            ]),
          },
        },
      },
      {
        Sid: 'ReadMetadataObjects',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: METADATA_TABLES.map((table) =>
          fromRoot((root) => `arn:${TOKEN.partition}:s3:::${root.bucket}/${folder(table)(root)}/*`),
        ),
      },
      {
        Sid: 'BucketLocation',
        Effect: 'Allow',
        Action: 's3:GetBucketLocation',
        Resource: cfn(`arn:${TOKEN.partition}:s3:::${BUCKET}`),
      },
      {
        Sid: 'AddPartitions',
        Effect: 'Allow',
        Action: [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:GetTables',
          'glue:UpdateTable',
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:BatchGetPartition',
          'glue:CreatePartition',
          'glue:BatchCreatePartition',
          'glue:UpdatePartition',
          'glue:BatchUpdatePartition',
        ],
        Resource: [
          glueArn('catalog'),
          glueArn(`database/${token('DatabaseName')}`),
          ...METADATA_TABLES.map((table) => glueArn(`table/${token('DatabaseName')}/${TABLES[table].name}`)),
        ],
      },
      {
        Sid: 'CrawlerLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: cfn(`arn:${TOKEN.partition}:logs:${TOKEN.region}:${TOKEN.accountId}:log-group:/aws-glue/crawlers:*`),
      },
      {
        'Fn::If': [
          'HasKmsKey',
          { Sid: 'DecryptMetadata', Effect: 'Allow', Action: 'kms:Decrypt', Resource: ref('KmsKeyArn') },
          ref('AWS::NoValue'),
        ],
      },
    ],
  };
}

/** The catalog stack's CloudFormation template. */
/** `MetadataAndBackupS3Path` as the two parameters of the central account's stacks. */
export const S3_PATH_PARAMETERS = {
  BucketName: {
    Type: 'String',
    Description: 'The org-wide bucket of MetadataAndBackupS3Path (s3://BucketName/Prefix)',
    AllowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    ConstraintDescription: 'an S3 bucket name',
  },
  Prefix: {
    Type: 'String',
    Description:
      'The key prefix of MetadataAndBackupS3Path, without leading or trailing "/"; empty for the bucket root',
    Default: '',
    // No *, ? or $: they would widen or break the IAM resources built from the prefix.
    AllowedPattern: '^([^/*?$]+(/[^/*?$]+)*)?$',
    ConstraintDescription: 'a key prefix without leading, trailing or doubled "/", and without *, ? or $',
  },
};

export function catalogStackTemplate(): Record<string, Cfn> {
  const databaseName = { 'Fn::If': ['CreateDatabase', ref('Database'), ref('DatabaseName')] };
  const tables: Record<string, Cfn> = {};
  for (const table of METADATA_TABLES) {
    tables[logicalId(table)] = {
      Type: 'AWS::Glue::Table',
      Properties: {
        CatalogId: ref('AWS::AccountId'),
        DatabaseName: databaseName,
        TableInput: tableInput(
          table,
          fromRoot((root) => tableLocation(root, table)),
        ),
      },
    };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'CloneSquad CMDB catalog (central account): Glue tables over the metadata exports and a crawler that adds their partitions',
    Parameters: {
      ...S3_PATH_PARAMETERS,
      DatabaseName: {
        Type: 'String',
        Description: `Glue database of the tables. "${DEFAULT_DATABASE}" (the one the shipped views name) must exist already (Athena creates it on first use); any other name is created`,
        Default: DEFAULT_DATABASE,
        AllowedPattern: '^[a-z0-9_]{1,255}$',
        ConstraintDescription: 'lower-case letters, digits and underscores',
      },
      CrawlerName: {
        Type: 'String',
        Description: 'Name of the crawler; give it to each deployment as GlueCrawlerName',
        Default: DEFAULT_CRAWLER_NAME,
        AllowedPattern: CRAWLER_NAME_PATTERN.source,
      },
      CrawlerSchedule: {
        Type: 'String',
        Description: 'Safety-net schedule of the crawler (UTC cron); empty for none',
        Default: DEFAULT_CRAWLER_SCHEDULE,
      },
      KmsKeyArn: {
        Type: 'String',
        Description:
          'KMS key the deployments encrypt the metadata with (KmsKeyArn); empty when the bucket default is used',
        Default: '',
      },
    },
    Conditions: {
      HasPrefix: { 'Fn::Not': [{ 'Fn::Equals': [ref('Prefix'), ''] }] },
      CreateDatabase: { 'Fn::Not': [{ 'Fn::Equals': [ref('DatabaseName'), DEFAULT_DATABASE] }] },
      HasSchedule: { 'Fn::Not': [{ 'Fn::Equals': [ref('CrawlerSchedule'), ''] }] },
      HasKmsKey: { 'Fn::Not': [{ 'Fn::Equals': [ref('KmsKeyArn'), ''] }] },
    },
    Resources: {
      Database: {
        Type: 'AWS::Glue::Database',
        Condition: 'CreateDatabase',
        Properties: {
          CatalogId: ref('AWS::AccountId'),
          DatabaseInput: { Name: ref('DatabaseName'), Description: 'CloneSquad CMDB metadata' },
        },
      },
      ...tables,
      CrawlerRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: 'Lets the CloneSquad CMDB crawler read the metadata exports and add their partitions',
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'glue.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          Policies: [{ PolicyName: 'add-metadata-partitions', PolicyDocument: crawlerPolicy() }],
        },
      },
      ...newPartitionTriggerResources(),
      Crawler: {
        Type: 'AWS::Glue::Crawler',
        Properties: {
          Name: ref('CrawlerName'),
          Role: { 'Fn::GetAtt': ['CrawlerRole', 'Arn'] },
          Targets: crawlerTargets<Cfn>(
            databaseName,
            METADATA_TABLES.map((table) => ref(logicalId(table))),
          ),
          ...crawlerSettings(),
          Schedule: {
            'Fn::If': ['HasSchedule', { ScheduleExpression: ref('CrawlerSchedule') }, ref('AWS::NoValue')],
          },
        },
      },
    },
    Outputs: {
      NewPartitionTrigger: {
        Description: 'Starts the crawler when any account writes a new partition (EventBridge → this state machine)',
        Value: ref('NewPartitionTrigger'),
      },
      CrawlerName: {
        Description: 'GlueCrawlerName for the deployments in this account',
        Value: ref('Crawler'),
        Export: { Name: cfn(`${TOKEN.stackName}-CrawlerName`) },
      },
      DatabaseName: { Description: 'Glue database of the clonesquad_* tables', Value: ref('DatabaseName') },
      CrawlerRoleArn: { Value: { 'Fn::GetAtt': ['CrawlerRole', 'Arn'] } },
    },
  };
}

/**
 * What registers a new partition within minutes whichever account wrote it: a member account cannot
 * start this account's crawler, so every writer puts a marker beside the tables when it creates a
 * partition folder, and the bucket's EventBridge event of that marker starts a state machine that
 * starts the crawler (crawlerTriggerDefinition). No marker, no crawl: nothing runs in the steady state.
 * EventBridge delivers a bucket's events in the bucket's region: deploy this stack there.
 */
function newPartitionTriggerResources(): Record<string, Cfn> {
  const stateMachineArn = cfn(
    `arn:${TOKEN.partition}:states:${TOKEN.region}:${TOKEN.accountId}:stateMachine:${TOKEN.stackName}-new-partitions`,
  );
  return {
    NewPartitionTriggerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: 'Lets the new-partition trigger start the CMDB crawler, and nothing else',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'states.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'start-crawler',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 'glue:StartCrawler',
                  Resource: cfn(
                    `arn:${TOKEN.partition}:glue:${TOKEN.region}:${TOKEN.accountId}:crawler/${token('CrawlerName')}`,
                  ),
                },
              ],
            },
          },
        ],
      },
    },
    NewPartitionTrigger: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: cfn(`${TOKEN.stackName}-new-partitions`),
        StateMachineType: 'STANDARD',
        RoleArn: getAtt('NewPartitionTriggerRole', 'Arn'),
        DefinitionString: {
          'Fn::Sub': [JSON.stringify(crawlerTriggerDefinition('${Crawler}')), { Crawler: ref('Crawler') }],
        },
      },
    },
    NewPartitionEventsRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: 'Lets EventBridge start the new-partition trigger, and nothing else',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'start-trigger',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: stateMachineArn }],
            },
          },
        ],
      },
    },
    NewPartitionRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: 'A deployment created a CMDB partition: register it',
        EventPattern: newPartitionEventPattern(fromRoot((root) => `${newPartitionsFolder(root)}/`)),
        Targets: [
          { Id: 'startCrawler', Arn: ref('NewPartitionTrigger'), RoleArn: getAtt('NewPartitionEventsRole', 'Arn') },
        ],
      },
    },
  };
}

/** The EventBridge pattern of the bucket's Object Created events under the markers' folder. */
export function newPartitionEventPattern<Value>(markersPrefix: Value) {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: [ref('BucketName')] }, object: { key: [{ prefix: markersPrefix }] } },
  };
}

/**
 * JSON indented down to `depth` levels and compact below: one line per column, so diffs stay
 * readable while the template stays under the 51,200 bytes `aws cloudformation deploy` takes
 * without an S3 bucket.
 */
function layeredJson(value: unknown, depth: number, indent = ''): string {
  if (depth === 0 || value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  const entries = Array.isArray(value)
    ? value.map((item) => layeredJson(item, depth - 1, inner))
    : Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${layeredJson(item, depth - 1, inner)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return `${open}${close}`;
  return `${open}\n${entries.map((entry) => `${inner}${entry}`).join(',\n')}\n${indent}${close}`;
}

/** Largest template body CloudFormation accepts inline (larger ones must be uploaded to S3 first). */
export const INLINE_TEMPLATE_LIMIT = 51_200;

/** The text of glue/generated/catalog-stack.json (listed in .prettierignore: its layout is deliberate). */
export function catalogStackJson(): string {
  return `${layeredJson(catalogStackTemplate(), 7)}\n`;
}
