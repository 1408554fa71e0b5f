/**
 * The central account's side of a multi-account setup (docs/security.md): the org-wide bucket's policy and
 * the policy of the KMS key that encrypts it. Every deployment of the Organization may write, list
 * and delete only under its own `accountid=` partitions of `P/backups/` and `P/metadata/{table}/`,
 * with `bucket-owner-full-control` and over TLS; nobody outside the Organization gets in.
 *
 * The prefixes are derived from the key layout (shared/s3-layout.ts) with the account given as the
 * IAM policy variable `${aws:PrincipalAccount}`, so a change of layout changes the grants with it.
 * One builder serves both outputs: plain JSON documents for an existing bucket
 * (`npm run policies -- --s3-path … --org-id …`) and the CloudFormation template
 * infra/generated/central-bucket-stack.json, which creates the bucket, the key and the policy.
 */
import { join } from 'node:path';
import {
  cfnDeep,
  iamLiteral,
  policyDocument,
  pseudoParameters,
  ref,
  renderTokens,
  token,
  TOKEN,
  type Cfn,
  type PolicyDocument,
  type PolicyStatement,
} from '#infra/cloudformation';
import { UserInputError } from '#shared/aws/errors';
import { ARTIFACT_BUCKET_PREFIX, artifactsStackTemplate } from '#infra/artifacts';
import { S3_PATH_PARAMETERS } from '#infra/catalog-stack';
import {
  archiveBackupKey,
  BACKUP_TABLES,
  ARCHIVE_TAG,
  backupFolder,
  backupsFolder,
  METADATA_TABLES,
  metadataPartitionFolder,
  metadataTableFolder,
  newPartitionsFolder,
  partitionPath,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';

export const GENERATED_CENTRAL_STACK = join(__dirname, 'generated', 'central-bucket-stack.json');

/** The IAM policy variable S3 replaces with the calling principal's account. */
export const PRINCIPAL_ACCOUNT = '${aws:PrincipalAccount}';

/**
 * Values only known when the policy is rendered: a literal (JSON documents for an existing bucket) or
 * a template parameter or pseudo parameter (CloudFormation).
 */
const VALUE = {
  partition: TOKEN.partition,
  region: TOKEN.region,
  account: TOKEN.accountId,
  urlSuffix: TOKEN.urlSuffix,
  bucket: token('BucketName'),
  prefix: token('Prefix'),
  organizationId: token('OrganizationId'),
} as const;

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A statement of the bucket's or the key's policy (they always name a principal). */
export type Statement = PolicyStatement & { Principal: '*' | { AWS: Json } };

/** A policy whose statements all name a principal. */
export type BucketPolicyDocument = PolicyDocument<Statement>;

/** A deployment's partitions, for any region and group of the calling account. */
const OWN_PARTITIONS: PartitionIdentity = { accountId: PRINCIPAL_ACCOUNT, region: '*', groupName: '*' };
const EVERY_PARTITION: PartitionIdentity = { accountId: '*', region: '*', groupName: '*' };

function root(withPrefix: boolean): S3Location {
  return { bucket: VALUE.bucket, prefix: withPrefix ? VALUE.prefix : '' };
}

const bucketArn = `arn:${VALUE.partition}:s3:::${VALUE.bucket}`;
const objectArn = (key: string) => `${bucketArn}/${key}`;

/** Key prefixes (with a trailing `*`) a deployment of the calling account writes under. */
export function ownBackupPrefix(withPrefix: boolean): string {
  return `${backupFolder(root(withPrefix), OWN_PARTITIONS)}/*`;
}

/** Every archive of every account, as key patterns. */
/** The archives of the calling account's deployments. */
export function ownArchives(withPrefix: boolean): string[] {
  return BACKUP_TABLES.map((table) => archiveBackupKey(root(withPrefix), OWN_PARTITIONS, table, '*'));
}

export function everyArchive(withPrefix: boolean): string[] {
  return BACKUP_TABLES.map((table) => archiveBackupKey(root(withPrefix), EVERY_PARTITION, table, '*'));
}

export function ownMetadataPrefixes(withPrefix: boolean): string[] {
  return METADATA_TABLES.map((table) => `${metadataPartitionFolder(root(withPrefix), OWN_PARTITIONS, table)}/*`);
}

/** The markers by which a deployment of the calling account says it created partitions. */
export function ownNewPartitionMarkers(withPrefix: boolean): string {
  return `${newPartitionsFolder(root(withPrefix))}/${partitionPath(OWN_PARTITIONS)}/*`;
}

const IN_ORGANIZATION = { 'aws:PrincipalOrgID': VALUE.organizationId };
const ORG_PRINCIPALS = '*';

/**
 * The bucket policy. `readers` (IAM role or user ARNs of the central account, for example the
 * catalog stack's crawler role and the Athena users' roles) may read the metadata tables.
 */
export function bucketPolicyStatements(withPrefix: boolean): Statement[] {
  const backups = ownBackupPrefix(withPrefix);
  const metadata = ownMetadataPrefixes(withPrefix);
  return [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [bucketArn, objectArn('*')],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    {
      // AWS services acting on their own (not on behalf of a principal) carry no PrincipalOrgID.
      Sid: 'DenyPrincipalsOutsideOrganization',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [bucketArn, objectArn('*')],
      Condition: {
        StringNotEqualsIfExists: IN_ORGANIZATION,
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
      },
    },
    {
      // Archives are write-once, whoever writes: only a create (If-None-Match: *) may put
      // one, never a replacement. They are single PutObjects, never multipart uploads or copy targets.
      Sid: 'DenyArchiveReplacement',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: everyArchive(withPrefix).map(objectArn),
      Condition: { StringNotEquals: { 's3:if-none-match': '*' } },
    },
    {
      Sid: 'OrgAccountsWriteOwnBackups',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: ['s3:PutObject', 's3:PutObjectAcl'],
      Resource: objectArn(backups),
      Condition: { StringEquals: { ...IN_ORGANIZATION, 's3:x-amz-acl': 'bucket-owner-full-control' } },
    },
    {
      // Archives are written with the tag the retention rule selects them by.
      Sid: 'OrgAccountsTagOwnArchives',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: 's3:PutObjectTagging',
      Resource: ownArchives(withPrefix).map(objectArn),
      Condition: { StringEquals: IN_ORGANIZATION },
    },
    {
      // Large metadata objects are uploaded in parts; UploadPart (s3:PutObject) carries no ACL header,
      // the ACL travels on CreateMultipartUpload. Any ACL sent must still be bucket-owner-full-control.
      Sid: 'OrgAccountsWriteOwnMetadata',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: ['s3:PutObject', 's3:PutObjectAcl'],
      Resource: metadata.map(objectArn),
      Condition: {
        StringEquals: IN_ORGANIZATION,
        StringEqualsIfExists: { 's3:x-amz-acl': 'bucket-owner-full-control' },
      },
    },
    {
      // The catalog's account starts its crawler on these (a member account cannot start it).
      Sid: 'OrgAccountsMarkOwnNewPartitions',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: 's3:PutObject',
      Resource: objectArn(ownNewPartitionMarkers(withPrefix)),
      Condition: { StringEquals: { ...IN_ORGANIZATION, 's3:x-amz-acl': 'bucket-owner-full-control' } },
    },
    {
      // A metadata write first checks (HEAD) whether its object is there.
      Sid: 'OrgAccountsReadOwnMetadata',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: 's3:GetObject',
      Resource: metadata.map(objectArn),
      Condition: { StringEquals: IN_ORGANIZATION },
    },
    {
      // The archive step reads an archive and writes latest-; a retried backup compares; restore reads.
      Sid: 'OrgAccountsReadOwnBackups',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: 's3:GetObject',
      Resource: objectArn(backups),
      Condition: { StringEquals: IN_ORGANIZATION },
    },
    {
      // A metadata export replaces the other objects of its partition folder (docs/reference/s3-layout.md). Backups
      // are never deleted: archives are write-once, and retention is the central account's lifecycle.
      Sid: 'OrgAccountsReplaceOwnMetadata',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: ['s3:DeleteObject', 's3:AbortMultipartUpload'],
      Resource: metadata.map(objectArn),
      Condition: { StringEquals: IN_ORGANIZATION },
    },
    {
      Sid: 'OrgAccountsListOwnPartitions',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: 's3:ListBucket',
      Resource: bucketArn,
      Condition: { StringEquals: IN_ORGANIZATION, StringLike: { 's3:prefix': [backups, ...metadata] } },
    },
  ];
}

/** Read access to the metadata tables for principals of the central account (crawler, Athena). */
export function readerStatements(withPrefix: boolean, readers: Json): Statement[] {
  const folders = METADATA_TABLES.map((table) => metadataTableFolder(root(withPrefix), table));
  return [
    {
      Sid: 'CentralReadersReadMetadata',
      Effect: 'Allow',
      Principal: { AWS: readers },
      Action: 's3:GetObject',
      Resource: folders.map((folder) => objectArn(`${folder}/*`)),
    },
    {
      Sid: 'CentralReadersListMetadata',
      Effect: 'Allow',
      Principal: { AWS: readers },
      Action: 's3:ListBucket',
      Resource: bucketArn,
      Condition: { StringLike: { 's3:prefix': folders.flatMap((folder) => [folder, `${folder}/*`]) } },
    },
    {
      Sid: 'CentralReadersLocateBucket',
      Effect: 'Allow',
      Principal: { AWS: readers },
      Action: 's3:GetBucketLocation',
      Resource: bucketArn,
    },
  ];
}

/**
 * The KMS key policy: the central account administers the key (and may grant its own roles, such
 * as the crawler's, through IAM); principals of the Organization may only have S3 encrypt and
 * decrypt with it, for objects of this bucket.
 */
export function kmsKeyPolicyStatements(withPrefix: boolean): Statement[] {
  const objects = withPrefix ? objectArn(`${VALUE.prefix}/*`) : objectArn('*');
  return [
    {
      Sid: 'CentralAccountAdministersKey',
      Effect: 'Allow',
      Principal: { AWS: `arn:${VALUE.partition}:iam::${VALUE.account}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
    {
      // With S3 Bucket Keys the encryption context is the bucket's ARN, else the object's.
      Sid: 'OrgAccountsEncryptThroughS3Only',
      Effect: 'Allow',
      Principal: ORG_PRINCIPALS,
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '*',
      Condition: {
        StringEquals: { ...IN_ORGANIZATION, 'kms:ViaService': `s3.${VALUE.region}.${VALUE.urlSuffix}` },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucketArn, objects] },
      },
    },
  ];
}

/**
 * The bucket's object ownership. The metadata grants accept a write without an ACL (a multipart
 * part), so no policy can make every member-written object readable by the central account: this
 * setting does, by making the bucket owner own every object, whoever wrote it.
 */
export const OBJECT_OWNERSHIP = 'BucketOwnerEnforced';

/** What `npm run policies` prints about {@link OBJECT_OWNERSHIP}: for one bucket, or for the stack. */
export function objectOwnershipAdvice(bucket: { bucket: string; region: string } | null): string[] {
  const why =
    'so that the central account owns every object a member account writes (ACLs are then disabled; ' +
    'writes that send bucket-owner-full-control are still accepted)';
  const command = (name: string, region: string) =>
    `  aws s3api put-bucket-ownership-controls --bucket ${name} --region ${region} ` +
    `--ownership-controls 'Rules=[{ObjectOwnership=${OBJECT_OWNERSHIP}}]'`;
  if (bucket) {
    return [
      `Object ownership: the bucket must have ${OBJECT_OWNERSHIP}, ${why}. Set it with:`,
      command(bucket.bucket, bucket.region),
    ];
  }
  return [
    `Object ownership: the stack creates its bucket with ${OBJECT_OWNERSHIP}, ${why}. With CreateBucket=false, ` +
      'set it on the existing bucket with:',
    command('BUCKET', 'REGION'),
  ];
}

function document(statements: Statement[]): BucketPolicyDocument {
  return policyDocument(statements);
}

// ---------------------------------------------------------------------------------------------
// JSON documents for an existing bucket

export interface PolicyValues {
  /** `MetadataAndBackupS3Path` of the deployments. */
  root: S3Location;
  organizationId: string;
  /** The central account, which owns the bucket and the key. */
  account: string;
  /** The bucket's (and the key's) region. */
  region: string;
  /** Central-account role or user ARNs allowed to read the metadata tables. */
  readers?: string[];
}

function renderLiteral<T>(value: T, values: PolicyValues): T {
  return renderTokens(value, {
    ...pseudoParameters(values.account, values.region),
    BucketName: iamLiteral(values.root.bucket),
    Prefix: iamLiteral(values.root.prefix),
    OrganizationId: values.organizationId,
  });
}

export function bucketPolicy(values: PolicyValues): BucketPolicyDocument {
  const withPrefix = values.root.prefix !== '';
  const readers = values.readers ?? [];
  return renderLiteral(
    document([
      ...bucketPolicyStatements(withPrefix),
      ...(readers.length > 0 ? readerStatements(withPrefix, readers) : []),
    ]),
    values,
  );
}

export function kmsKeyPolicy(values: PolicyValues): BucketPolicyDocument {
  return renderLiteral(document(kmsKeyPolicyStatements(values.root.prefix !== '')), values);
}

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const READER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;

/** Checks the values of the generator's options; every problem is a {@link UserInputError}. */
export function checkPolicyValues(values: PolicyValues): PolicyValues {
  if (!ORGANIZATION_ID.test(values.organizationId)) {
    throw new UserInputError(
      `--org-id "${values.organizationId}"`,
      'it is not an AWS Organizations id',
      'give the id of the Organization (o- and 10 to 32 lower-case letters or digits), as shown by aws organizations describe-organization',
    );
  }
  if (!ACCOUNT_ID.test(values.account)) {
    throw new UserInputError(
      `--account "${values.account}"`,
      'it is not a 12-digit AWS account id',
      'give the id of the central account that owns the bucket',
    );
  }
  if (!REGION.test(values.region)) {
    throw new UserInputError(
      `--region "${values.region}"`,
      'it is not an AWS region name',
      "give the bucket's region, for example eu-west-1",
    );
  }
  for (const reader of values.readers ?? []) {
    if (!READER_ARN.test(reader) || !reader.includes(`::${values.account}:`)) {
      throw new UserInputError(
        `--reader-arn "${reader}"`,
        `it is not the ARN of an IAM role or user of the central account ${values.account}`,
        "give a role ARN such as the catalog stack's CrawlerRoleArn output, or leave --reader-arn out",
      );
    }
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// CloudFormation: the central bucket stack

const toCfn = (value: Statement | Json): Cfn => cfnDeep(value);

function cfnDocument(
  statements: (withPrefix: boolean) => Statement[],
  extra: (withPrefix: boolean) => Cfn[] = () => [],
) {
  const variant = (withPrefix: boolean): Cfn => ({
    Version: '2012-10-17',
    Statement: [
      ...statements(withPrefix).map((statement) => toCfn(statement as unknown as Json)),
      ...extra(withPrefix),
    ],
  });
  return { 'Fn::If': ['HasPrefix', variant(true), variant(false)] };
}

/** The central bucket stack: the bucket (optional), its policy and the KMS key that encrypts it. */
export function centralBucketStackTemplate(): Record<string, Cfn> {
  const readers = (withPrefix: boolean): Cfn[] =>
    readerStatements(withPrefix, ref('ReaderArns')).map((statement) => ({
      'Fn::If': ['HasReaders', toCfn(statement as unknown as Json), ref('AWS::NoValue')],
    }));
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'CloneSquad backups and CMDB central bucket: org-wide bucket, its policy (each account writes only its own accountid= partitions) and its KMS key',
    Parameters: {
      ...S3_PATH_PARAMETERS,
      OrganizationId: {
        Type: 'String',
        Description: 'The AWS Organization whose accounts run deployments (o-…)',
        AllowedPattern: '^o-[a-z0-9]{10,32}$',
        ConstraintDescription: 'an AWS Organizations id, o-…',
      },
      ReaderArns: {
        Type: 'CommaDelimitedList',
        Description:
          "Roles of this account that read the metadata tables (the catalog stack's CrawlerRoleArn, Athena users); empty for none beyond IAM",
        Default: '',
      },
      ArtifactRegions: {
        Type: 'CommaDelimitedList',
        Description:
          'Regions the regional service is rolled out to (StackSet): each gets an artifact bucket the Organization ' +
          `reads, named ${ARTIFACT_BUCKET_PREFIX}-ACCOUNT-REGION; empty for none (a single-account deployment)`,
        Default: '',
      },
      ArchiveRetentionDays: {
        Type: 'Number',
        Description:
          'Days after which a backup archive expires (its noncurrent version is then removed by ExpireReplacedVersions); ' +
          '0 keeps archives forever. latest- copies never expire.',
        Default: 0,
        MinValue: 0,
        ConstraintDescription: 'a whole number of days, 0 for no expiry',
      },
      CreateBucket: {
        Type: 'String',
        Description: `true to create the bucket; false when it exists already (the policy then replaces its policy, and its object ownership must be set to ${OBJECT_OWNERSHIP}: npm run policies prints how)`,
        AllowedValues: ['true', 'false'],
        Default: 'true',
      },
    },
    Conditions: {
      HasPrefix: { 'Fn::Not': [{ 'Fn::Equals': [ref('Prefix'), ''] }] },
      HasReaders: { 'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', ref('ReaderArns')] }, ''] }] },
      CreateBucket: { 'Fn::Equals': [ref('CreateBucket'), 'true'] },
      HasArchiveRetention: { 'Fn::Not': [{ 'Fn::Equals': [ref('ArchiveRetentionDays'), '0'] }] },
      HasArtifactRegions: { 'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', ref('ArtifactRegions')] }, ''] }] },
    },
    Resources: {
      Key: {
        Type: 'AWS::KMS::Key',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          Description: 'Encrypts the CloneSquad backups and CMDB metadata of the Organization',
          EnableKeyRotation: true,
          KeyPolicy: cfnDocument(kmsKeyPolicyStatements),
        },
      },
      Bucket: {
        Type: 'AWS::S3::Bucket',
        Condition: 'CreateBucket',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketName: ref('BucketName'),
          OwnershipControls: { Rules: [{ ObjectOwnership: OBJECT_OWNERSHIP }] },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              {
                ServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: { 'Fn::GetAtt': ['Key', 'Arn'] },
                },
                BucketKeyEnabled: true,
              },
            ],
          },
          // latest- and metadata objects are replaced on every run: keep what they replaced for a while.
          VersioningConfiguration: { Status: 'Enabled' },
          LifecycleConfiguration: {
            Rules: [
              {
                Id: 'ExpireReplacedVersions',
                Status: 'Enabled',
                NoncurrentVersionExpiration: { NoncurrentDays: 30 },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              },
              {
                // A marker has done its work once the catalog stack's trigger saw it.
                Id: 'ExpireNewPartitionMarkers',
                Status: 'Enabled',
                Prefix: {
                  'Fn::If': [
                    'HasPrefix',
                    toCfn(`${newPartitionsFolder(root(true))}/`),
                    toCfn(`${newPartitionsFolder(root(false))}/`),
                  ],
                },
                ExpirationInDays: 1,
              },
              {
                'Fn::If': [
                  'HasArchiveRetention',
                  {
                    // Archives are told from latest- copies by their tag: no key prefix parts them.
                    Id: 'ExpireArchives',
                    Status: 'Enabled',
                    Prefix: {
                      'Fn::If': [
                        'HasPrefix',
                        toCfn(`${backupsFolder(root(true))}/`),
                        toCfn(`${backupsFolder(root(false))}/`),
                      ],
                    },
                    TagFilters: [{ Key: ARCHIVE_TAG.key, Value: ARCHIVE_TAG.value }],
                    ExpirationInDays: ref('ArchiveRetentionDays'),
                  },
                  ref('AWS::NoValue'),
                ],
              },
            ],
          },
          // The catalog stack starts its crawler on the new-partition markers, through EventBridge.
          NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
        },
      },
      BucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: ref('BucketName'),
          PolicyDocument: cfnDocument(bucketPolicyStatements, readers),
        },
      },
      ...artifactsResources(),
    },
    Outputs: {
      MetadataAndBackupS3Path: {
        Description: 'MetadataAndBackupS3Path for every deployment',
        Value: {
          'Fn::If': ['HasPrefix', { 'Fn::Sub': 's3://${BucketName}/${Prefix}' }, { 'Fn::Sub': 's3://${BucketName}' }],
        },
      },
      KmsKeyArn: {
        Description: 'KmsKeyArn for every deployment (and for the catalog stack)',
        Value: { 'Fn::GetAtt': ['Key', 'Arn'] },
      },
      ArtifactBuckets: {
        Condition: 'HasArtifactRegions',
        Description: 'The artifact bucket of each rollout region (publish writes there)',
        Value: { 'Fn::Sub': `${ARTIFACT_BUCKET_PREFIX}-\${AWS::AccountId}-REGION` },
      },
    },
  };
}

/** The role names of the artifacts StackSet, which deploys one artifact bucket per region in this account. */
export const ARTIFACTS_ADMINISTRATION_ROLE = 'CloneSquadBackupCmdb-ArtifactsStackSetAdministration';
export const ARTIFACTS_EXECUTION_ROLE = 'CloneSquadBackupCmdb-ArtifactsStackSetExecution';

/**
 * The artifact buckets, one per rollout region, created by a self-managed StackSet targeting this
 * account only (a stack creates resources in its own region only), with the two roles such a StackSet
 * needs, each allowed no more than that.
 */
function artifactsResources(): Record<string, Cfn> {
  const executionRoleArn = {
    'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${ARTIFACTS_EXECUTION_ROLE}`,
  };
  return {
    ArtifactsAdministrationRole: {
      Type: 'AWS::IAM::Role',
      Condition: 'HasArtifactRegions',
      Properties: {
        RoleName: ARTIFACTS_ADMINISTRATION_ROLE,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'cloudformation.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'assumeExecutionRole',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: executionRoleArn }],
            },
          },
        ],
      },
    },
    ArtifactsExecutionRole: {
      Type: 'AWS::IAM::Role',
      Condition: 'HasArtifactRegions',
      Properties: {
        RoleName: ARTIFACTS_EXECUTION_ROLE,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::GetAtt': ['ArtifactsAdministrationRole', 'Arn'] } },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'artifactBuckets',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'ArtifactStacks',
                  Effect: 'Allow',
                  Action: ['cloudformation:*'],
                  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/StackSet-*' },
                },
                {
                  Sid: 'ArtifactBuckets',
                  Effect: 'Allow',
                  Action: [
                    's3:CreateBucket',
                    's3:PutBucketPolicy',
                    's3:GetBucketPolicy',
                    's3:DeleteBucketPolicy',
                    's3:PutBucketOwnershipControls',
                    's3:PutBucketPublicAccessBlock',
                    's3:PutEncryptionConfiguration',
                    's3:PutBucketVersioning',
                    's3:GetBucketLocation',
                  ],
                  Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${ARTIFACT_BUCKET_PREFIX}-\${AWS::AccountId}-*` },
                },
              ],
            },
          },
        ],
      },
    },
    ArtifactsStackSet: {
      Type: 'AWS::CloudFormation::StackSet',
      Condition: 'HasArtifactRegions',
      DependsOn: ['ArtifactsExecutionRole'],
      Properties: {
        StackSetName: { 'Fn::Sub': '${AWS::StackName}-artifacts' },
        Description: 'The artifact bucket of each rollout region of the CloneSquad backups and CMDB service',
        PermissionModel: 'SELF_MANAGED',
        AdministrationRoleARN: { 'Fn::GetAtt': ['ArtifactsAdministrationRole', 'Arn'] },
        ExecutionRoleName: ARTIFACTS_EXECUTION_ROLE,
        Parameters: [{ ParameterKey: 'OrganizationId', ParameterValue: ref('OrganizationId') }],
        StackInstancesGroup: [
          { DeploymentTargets: { Accounts: [ref('AWS::AccountId')] }, Regions: ref('ArtifactRegions') },
        ],
        OperationPreferences: { RegionConcurrencyType: 'PARALLEL', MaxConcurrentPercentage: 100 },
        TemplateBody: JSON.stringify(artifactsStackTemplate()),
      },
    },
  };
}
