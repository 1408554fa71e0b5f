/**
 * What an Organization-wide rollout deploys from: the function code and the regional template,
 * published by the central account into one artifact bucket per target region (Lambda reads code only
 * from a bucket of the function's own region), readable by every account of the Organization.
 *
 * Convention: the bucket of region R is `clonesquad-backup-cmdb-artifacts-{CENTRAL_ACCOUNT}-{R}`; under
 * it, `{VERSION}/{function}.zip` and `{VERSION}/regional-template.json`, where VERSION is the content
 * hash of what was published (publishing the same code twice writes the same keys).
 */
import { cfnDeep, policyDocument, ref, token, TOKEN, type Cfn, type PolicyStatement } from '#infra/cloudformation';

export const ARTIFACT_BUCKET_PREFIX = 'clonesquad-backup-cmdb-artifacts';

/** The artifact bucket of `region` in the central account. */
export function artifactBucketName(centralAccount: string, region: string): string {
  return `${ARTIFACT_BUCKET_PREFIX}-${centralAccount}-${region}`;
}

export function artifactKey(version: string, file: string): string {
  return `${version}/${file}`;
}

export const REGIONAL_TEMPLATE_FILE = 'regional-template.json';

/**
 * The regional template as a StackSet deploys it: osls's package with its own deployment bucket
 * removed, and each function's code read from the artifact bucket of the region the stack instance
 * is created in (one template for every region).
 */
export function regionalTemplate(
  packaged: {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    Outputs?: Record<string, unknown>;
  },
  centralAccount: string,
  version: string,
): { Resources: Record<string, unknown>; Outputs: Record<string, unknown> } & Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  for (const [id, resource] of Object.entries(packaged.Resources)) {
    if (id === 'ServerlessDeploymentBucket' || id === 'ServerlessDeploymentBucketPolicy') continue;
    if (resource.Type !== 'AWS::Lambda::Function') {
      resources[id] = resource;
      continue;
    }
    const code = resource.Properties?.Code as { S3Key?: string } | undefined;
    const file = code?.S3Key?.split('/').pop();
    if (!file) throw new Error(`the packaged function ${id} has no code key`);
    // osls also lists the role in DependsOn, which its Fn::GetAtt already implies (cfn-lint W3005).
    const role = (resource.Properties?.Role as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0];
    const dependsOn = (resource as { DependsOn?: string[] }).DependsOn?.filter((logicalId) => logicalId !== role);
    resources[id] = {
      ...resource,
      ...(dependsOn ? { DependsOn: dependsOn } : {}),
      Properties: {
        ...resource.Properties,
        Code: {
          S3Bucket: { 'Fn::Sub': `${ARTIFACT_BUCKET_PREFIX}-${centralAccount}-\${AWS::Region}` },
          S3Key: artifactKey(version, file),
        },
      },
    };
  }
  const outputs = Object.fromEntries(
    Object.entries(packaged.Outputs ?? {}).filter(([name]) => name !== 'ServerlessDeploymentBucketName'),
  );
  return {
    ...packaged,
    Description: 'CloneSquad backups and CMDB metadata: every CloneSquad group of this account and region',
    Resources: resources,
    Outputs: outputs,
  };
}

/**
 * One region's artifact bucket: private, encrypted, versioned, readable (GetObject only) by the
 * principals of the Organization, over TLS.
 */
export function artifactsStackTemplate(): Record<string, Cfn> {
  const bucketArn = `arn:${TOKEN.partition}:s3:::${ARTIFACT_BUCKET_PREFIX}-${TOKEN.accountId}-${TOKEN.region}`;
  const statements: PolicyStatement[] = [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    {
      Sid: 'OrganizationReadsArtifacts',
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: `${bucketArn}/*`,
      Condition: { StringEquals: { 'aws:PrincipalOrgID': token('OrganizationId') } },
    },
  ];
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'CloneSquad backups and CMDB: the artifact bucket of one region, readable by the Organization',
    Parameters: {
      OrganizationId: {
        Type: 'String',
        AllowedPattern: '^o-[a-z0-9]{10,32}$',
        Description: 'The AWS Organization whose accounts deploy from this bucket (o-…)',
      },
    },
    Resources: {
      ArtifactBucket: {
        Type: 'AWS::S3::Bucket',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketName: { 'Fn::Sub': `${ARTIFACT_BUCKET_PREFIX}-\${AWS::AccountId}-\${AWS::Region}` },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
          VersioningConfiguration: { Status: 'Enabled' },
        },
      },
      ArtifactBucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: { Bucket: ref('ArtifactBucket'), PolicyDocument: cfnDeep(policyDocument(statements)) },
      },
    },
    Outputs: { ArtifactBucket: { Value: ref('ArtifactBucket') } },
  };
}
