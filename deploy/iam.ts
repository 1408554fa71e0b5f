/**
 * Least-privilege policy statements of each function's role: exactly the calls it makes, on exactly
 * the tables and keys it touches. S3 resources are derived from the shared key layout, so a change
 * of layout changes the grants with it.
 */
import { archiveBackupKey, BACKUP_TABLES, latestBackupKey, type PartitionIdentity } from '../shared/s3-layout.ts';
import type { S3Location } from '../shared/s3-path.ts';
import { iamResource, TOKEN, type Cfn } from './cloudformation.ts';
import { FUNCTIONS, type DeploymentParameters, type FunctionName } from './deployment-config.ts';

export interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: Cfn[];
  Condition?: Record<string, Record<string, string | string[]>>;
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

export function functionStatements(parameters: DeploymentParameters): Record<FunctionName, Statement[]> {
  const root = parameters.destination;
  const id: PartitionIdentity = { accountId: TOKEN.accountId, region: TOKEN.region, groupName: parameters.groupName };
  const archives = root
    ? BACKUP_TABLES.map((table) => s3Object(root, archiveBackupKey(root, id, table, TOKEN.wildcard)))
    : [];
  const latest = root ? BACKUP_TABLES.map((table) => s3Object(root, latestBackupKey(root, id, table))) : [];
  const s3 = (statements: Statement[]) => (root ? [...statements, ...useKmsKey(parameters.kmsKeyArn)] : []);

  const statements: Record<FunctionName, Statement[]> = {
    backupTable: [
      {
        Sid: 'ScanCloneSquadTables',
        Effect: 'Allow',
        Action: ['dynamodb:Scan'],
        Resource: [parameters.configurationTable, parameters.schedulerTable].map((table) =>
          iamResource(`arn:${TOKEN.partition}:dynamodb:${TOKEN.region}:${TOKEN.accountId}:table/${table}`),
        ),
      },
      ...s3([
        {
          Sid: 'WriteArchiveBackups',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:PutObjectAcl'],
          Resource: archives,
          Condition: BUCKET_OWNER_FULL_CONTROL,
        },
      ]),
    ],
    archiveBackups: s3([
      { Sid: 'ReadArchiveBackups', Effect: 'Allow', Action: ['s3:GetObject'], Resource: archives },
      {
        Sid: 'WriteLatestBackups',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:PutObjectAcl'],
        Resource: latest,
        Condition: BUCKET_OWNER_FULL_CONTROL,
      },
    ]),
    summarize: [],
  };
  return Object.fromEntries(FUNCTIONS.map((name) => [name, [writeLogs(name), ...statements[name]]])) as Record<
    FunctionName,
    Statement[]
  >;
}
