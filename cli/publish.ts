/**
 * Publishes what a StackSet rolls out to the whole Organization, from the central account: the
 * service packaged once (`osls package`) with the central stack's outputs as its parameters (the
 * bucket path, the KMS key), its function code copied to the artifact bucket of every target region
 * (infra/artifacts.ts names them), and the regional template that reads its code from there. Answers
 * the template's URL, for the StackSet (infra/generated/stackset.json).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni } from '@aws-sdk/credential-providers';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { resolveRegion } from '#shared/aws/region';
import { artifactBucketName, artifactKey, REGIONAL_TEMPLATE_FILE, regionalTemplate } from '#infra/artifacts';
import { packageService } from '#local/package';
import { UsageError } from '#cli/errors';
import type { CliIo } from '#cli/io';
import { PROJECT_ROOT } from '#local/python-env';

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const PACKAGED = join(PROJECT_ROOT, '.serverless');

export interface PublishOptions {
  regions: string[];
  centralStack?: string;
  /** `name=value` deployment parameters. */
  params: string[];
  region?: string;
  profile?: string;
  env?: NodeJS.ProcessEnv;
  /** Progress lines, on stderr for the command. */
  progress?: (line: string) => void;
}

export interface Published {
  account: string;
  version: string;
  templateUrl: string;
  /** Every object written or found already there, as `s3://bucket/key`. */
  objects: string[];
}

export async function publishService(options: PublishOptions): Promise<Published> {
  const progress = options.progress ?? (() => undefined);
  if (options.regions.length === 0) throw new UsageError('--regions is required: the regions the StackSet deploys to');
  for (const region of options.regions) {
    if (!REGION_NAME.test(region)) {
      throw new UserInputError(
        `--regions ${quoteInput(region)}`,
        'it is not an AWS region name',
        'write them like eu-west-1,eu-west-3',
      );
    }
  }
  const env = options.env ?? process.env;
  const region = await resolveRegion({ region: options.region, profile: options.profile }, env);
  const credentials = options.profile ? fromIni({ profile: options.profile }) : undefined;
  const settings = { ...clientSettings(env), region, ...(credentials ? { credentials } : {}) };
  const { Account: account } = await new STSClient(settings).send(new GetCallerIdentityCommand({}));
  if (!account) throw new Error('STS GetCallerIdentity answered no account');
  const params = [
    ...(await centralOutputs(new CloudFormationClient(settings), options.centralStack)),
    ...options.params,
  ];
  progress(`packaging for ${options.regions.join(', ')} with ${params.length} parameter(s)…`);
  const packaged = await packageService(
    ['--region', options.regions[0], ...params.map((param) => `--param=${param}`)],
    {
      env,
    },
  );
  if (packaged.status !== 0) throw new Error(`osls package failed:\n${packaged.output.trim()}`);
  const template = JSON.parse(await readFile(join(PACKAGED, 'cloudformation-template-update-stack.json'), 'utf8'));
  const zips = Object.values(
    template.Resources as Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>,
  )
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => resource.Properties.Code!.S3Key!.split('/').pop()!);
  const files = new Map<string, Buffer>();
  for (const zip of zips) files.set(zip, await readFile(join(PACKAGED, zip)));
  const version = contentVersion(files, template);
  const regional = Buffer.from(`${JSON.stringify(regionalTemplate(template, account, version), null, 1)}\n`);
  files.set(REGIONAL_TEMPLATE_FILE, regional);
  const objects: string[] = [];
  for (const target of options.regions) {
    const s3 = new S3Client({ ...s3ClientSettings(env), region: target, ...(credentials ? { credentials } : {}) });
    const bucket = artifactBucketName(account, target);
    await requireBucket(s3, bucket, target);
    for (const [file, body] of files) {
      const key = artifactKey(version, file);
      if (!(await exists(s3, bucket, key))) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        progress(`  s3://${bucket}/${key}`);
      }
      objects.push(`s3://${bucket}/${key}`);
    }
  }
  const home = artifactBucketName(account, options.regions[0]);
  const templateUrl = `https://${home}.s3.${options.regions[0]}.amazonaws.com/${artifactKey(version, REGIONAL_TEMPLATE_FILE)}`;
  return { account, version, templateUrl, objects };
}

/** The central stack's outputs as deployment parameters. */
async function centralOutputs(cloudformation: CloudFormationClient, stackName: string | undefined): Promise<string[]> {
  if (!stackName) return [];
  let outputs;
  try {
    outputs =
      (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    if ((error as Error).name === 'ValidationError') {
      throw new UserInputError(
        `--central-stack ${quoteInput(stackName)}`,
        'no stack of that name exists in this account and region',
        'give the name of the central bucket stack, and its region with --region',
      );
    }
    throw error;
  }
  const parameters = parametersFromCentralOutputs(outputs);
  if (!parameters) {
    throw new UserInputError(
      `--central-stack ${quoteInput(stackName)}`,
      'it has no MetadataAndBackupS3Path output: it is not the central bucket stack',
      'give the name of the stack created from infra/generated/central-bucket-stack.json',
    );
  }
  return parameters;
}

/**
 * The deployment parameters the central bucket stack's outputs give (`name=value`): its path and,
 * since the bucket encrypts with its own key by default, that key, without which every write of the
 * deployment's roles is denied. `undefined` for a stack without the path output.
 */
export function parametersFromCentralOutputs(
  outputs: { OutputKey?: string; OutputValue?: string }[],
): string[] | undefined {
  const value = (name: string) => outputs.find((output) => output.OutputKey === name)?.OutputValue;
  const path = value('MetadataAndBackupS3Path');
  if (!path) return undefined;
  const key = value('KmsKeyArn');
  return [`metadataAndBackupS3Path=${path}`, ...(key ? [`kmsKeyArn=${key}`] : [])];
}

/** A hash of what is published: the same code and template publish to the same keys. */
function contentVersion(files: Map<string, Buffer>, template: unknown): string {
  const hash = createHash('sha256');
  for (const [file, body] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(file).update(body);
  // The packaged template names its own upload time; everything else in it counts.
  hash.update(JSON.stringify(template).replace(/serverless\/[^"]*\/([A-Za-z]+\.zip)/g, '$1'));
  return hash.digest('hex').slice(0, 16);
}

async function requireBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    throw new UserInputError(
      `artifact bucket ${bucket}`,
      `it does not exist (or this account cannot reach it) in ${region}`,
      `add ${region} to the central bucket stack's ArtifactRegions parameter and update that stack`,
    );
  }
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

export interface PublishCliOptions {
  regions: string;
  centralStack?: string;
  param?: string[];
  region?: string;
  profile?: string;
}

export async function publishCommand(options: PublishCliOptions, io: CliIo): Promise<number> {
  const published = await publishService({
    regions: options.regions
      .split(',')
      .map((region) => region.trim())
      .filter((region) => region !== ''),
    centralStack: options.centralStack,
    params: options.param ?? [],
    region: options.region,
    profile: options.profile,
    progress: io.stderr,
  });
  io.print(JSON.stringify(published, null, 2));
  return 0;
}
