/**
 * The catalog stack (SPEC §7), deployed once in the central account: the Glue database (unless it
 * is `default`), one explicit table per metadata folder, and a crawler over those tables that only
 * adds partitions. The table and crawler settings are built here once and used both for the
 * CloudFormation template (`npm run generate` → glue/generated/catalog-stack.json) and for the
 * emulator's catalog (local/catalog.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { METADATA_TABLES, metadataTableFolder, type MetadataTable } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import {
  INPUT_FORMAT,
  JSON_SERDE,
  OUTPUT_FORMAT,
  TABLES,
  glueColumns,
  gluePartitionKeys,
} from '#shared/catalog/schema';

/** Athena's default database; the SPEC §6 view reads `default.clonesquad_*`. */
export const DEFAULT_DATABASE = 'default';
export const DEFAULT_CRAWLER_NAME = 'clonesquad-cmdb-metadata';
/**
 * The crawler names this catalog stack creates, and so the only ones a deployment may name: Glue's API
 * would take spaces and `*` too, but such a name is a typo far more often than a crawler.
 */
export const CRAWLER_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,255}$/;
/** Daily safety net; the workflow starts the crawler right after an export that created a partition. */
export const DEFAULT_CRAWLER_SCHEDULE = 'cron(17 3 * * ? *)';
export const GENERATED_STACK = join(__dirname, 'generated', 'catalog-stack.json');

/** `s3://bucket/P/metadata/{folder}/`: the LOCATION of a table. */
export function tableLocation(root: S3Location, table: MetadataTable): string {
  return `s3://${root.bucket}/${metadataTableFolder(root, table)}/`;
}

/**
 * The Glue `TableInput` of a metadata table. `location` is a string for the SDK, or a
 * CloudFormation expression for the template.
 */
export function tableInput<Location>(table: MetadataTable, location: Location) {
  const schema = TABLES[table];
  return {
    Name: schema.name,
    Description: schema.description,
    TableType: 'EXTERNAL_TABLE',
    Parameters: { EXTERNAL: 'TRUE', classification: 'json', compressionType: 'gzip', typeOfData: 'file' },
    PartitionKeys: gluePartitionKeys(),
    StorageDescriptor: {
      Columns: glueColumns(schema),
      Location: location,
      InputFormat: INPUT_FORMAT,
      OutputFormat: OUTPUT_FORMAT,
      Compressed: true,
      SerdeInfo: { SerializationLibrary: JSON_SERDE, Parameters: { 'serialization.format': '1' } },
      StoredAsSubDirectories: false,
    },
  };
}

/**
 * Crawler settings that keep the explicit schemas: catalog targets never create tables; `LOG`
 * never updates or deletes them (AWS requires `LOG` deletion for catalog targets);
 * `InheritFromTable` gives every new partition the table's columns and SerDe instead of a schema
 * inferred from one file. Catalog targets always group compatible schemas and refuse
 * `CRAWL_NEW_FOLDERS_ONLY` (S3 targets only), so the recrawl policy is `CRAWL_EVERYTHING`.
 */
export function crawlerSettings() {
  const configuration = {
    CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
    Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
  };
  return {
    Description: 'Adds the new partitions of the CloneSquad CMDB metadata tables; never changes their schemas',
    SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' } as const,
    RecrawlPolicy: { RecrawlBehavior: 'CRAWL_EVERYTHING' } as const,
    // Glue documents `"Version": 1.0`; JSON.stringify would print 1.
    Configuration: `{"Version":1.0,${JSON.stringify(configuration).slice(1)}`,
  };
}

/** The crawler's targets: every metadata table of `databaseName`, as catalog targets. */
export function crawlerTargets<Name>(databaseName: Name, tableNames: Name[]) {
  return { CatalogTargets: [{ DatabaseName: databaseName, Tables: tableNames }] };
}

type Cfn = string | number | boolean | null | Cfn[] | { [key: string]: Cfn };

const ref = (name: string) => ({ Ref: name });
const sub = (text: string): Cfn => (text.includes('${') ? { 'Fn::Sub': text } : text);
const ifPrefix = (withPrefix: Cfn, withoutPrefix: Cfn) => ({ 'Fn::If': ['HasPrefix', withPrefix, withoutPrefix] });

/** A text built by `build` from the bucket root, with the `BucketName`/`Prefix` parameters in it. */
function fromRoot(build: (root: S3Location) => string): Cfn {
  return ifPrefix(
    sub(build({ bucket: '${BucketName}', prefix: '${Prefix}' })),
    sub(build({ bucket: '${BucketName}', prefix: '' })),
  );
}

function logicalId(table: MetadataTable): string {
  return `Table${table.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) => letter.toUpperCase())}`;
}

function crawlerPolicy(): Cfn {
  const folder = (table: MetadataTable) => (root: S3Location) => metadataTableFolder(root, table);
  const glueArn = (resource: string) =>
    sub(`arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:${resource}`);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ListMetadataFolders',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: sub('arn:${AWS::Partition}:s3:::${BucketName}'),
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
          fromRoot((root) => `arn:\${AWS::Partition}:s3:::${root.bucket}/${folder(table)(root)}/*`),
        ),
      },
      {
        Sid: 'BucketLocation',
        Effect: 'Allow',
        Action: 's3:GetBucketLocation',
        Resource: sub('arn:${AWS::Partition}:s3:::${BucketName}'),
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
          glueArn('database/${DatabaseName}'),
          ...METADATA_TABLES.map((table) => glueArn(`table/\${DatabaseName}/${TABLES[table].name}`)),
        ],
      },
      {
        Sid: 'CrawlerLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: sub('arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws-glue/crawlers:*'),
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
      CrawlerName: {
        Description: 'GlueCrawlerName for the deployments in this account',
        Value: ref('Crawler'),
        Export: { Name: sub('${AWS::StackName}-CrawlerName') },
      },
      DatabaseName: { Description: 'Glue database of the clonesquad_* tables', Value: ref('DatabaseName') },
      CrawlerRoleArn: { Value: { 'Fn::GetAtt': ['CrawlerRole', 'Arn'] } },
    },
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

async function main(): Promise<void> {
  await mkdir(dirname(GENERATED_STACK), { recursive: true });
  await writeFile(GENERATED_STACK, catalogStackJson());
  console.log(`wrote ${GENERATED_STACK}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
