/**
 * One local run on the embedded default: a fresh emulator, the mirror and the seed loaded into it,
 * the real workflow definition executed with the real handlers, and the bucket written back.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GlueClient } from '@aws-sdk/client-glue';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CreateBucketCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientSettings, s3ClientSettings } from '#shared/aws-clients';
import { defaultTableNames, ENVIRONMENT } from '#shared/deployment';
import { parseS3Path } from '#shared/s3-path';
import { createCatalog } from './catalog.ts';
import { EMULATOR_CREDENTIALS, startEmulator } from './emulator.ts';
import { loadMirror, mirrorFolder, saveMirror } from './mirror.ts';
import { applySeed, loadSeed } from './seed.ts';
import { CRAWLER_NAME_VARIABLE, runWorkflow, type WorkflowRun } from './workflow.ts';

export const DEFAULT_S3_PATH = 's3://clonesquad-cmdb-local/clonesquad';

export interface LocalRunOptions {
  out: string;
  seedFile: string;
  s3Path?: string;
  input?: unknown;
  kmsKeyArn?: string;
}

export interface LocalRunResult {
  run: WorkflowRun;
  bucket: string;
  mirror: string;
  keys: string[];
}

/** Runs in this process: the handlers read the deployment from `process.env`, which this sets. */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const seed = loadSeed(options.seedFile);
  const s3Path = options.s3Path ?? DEFAULT_S3_PATH;
  const destination = parseS3Path(s3Path);
  if (!destination) throw new Error('the local run needs an S3 path');
  process.env.LOG_LEVEL ??= 'warn';
  const emulator = await startEmulator();
  try {
    Object.assign(process.env, EMULATOR_CREDENTIALS, { AWS_ENDPOINT_URL: emulator.endpoint, AWS_REGION: seed.region });
    const settings = clientSettings();
    const s3 = new S3Client(s3ClientSettings());
    const { Account: callerAccount } = await new STSClient(settings).send(new GetCallerIdentityCommand({}));
    await s3.send(
      new CreateBucketCommand({
        Bucket: destination.bucket,
        ...(seed.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: seed.region as BucketLocationConstraint } }),
      }),
    );
    await loadMirror(s3, options.out, destination.bucket);
    const tables = defaultTableNames(seed.groupName);
    await applySeed(
      {
        dynamodb: new DynamoDBClient(settings),
        ec2: new EC2Client(settings),
        ssm: new SSMClient(settings),
        cloudformation: new CloudFormationClient(settings),
        organizations: new OrganizationsClient(settings),
      },
      seed,
      tables,
    );
    const catalog = await createCatalog(new GlueClient(settings), destination);
    Object.assign(process.env, {
      [ENVIRONMENT.groupName]: seed.groupName,
      [ENVIRONMENT.accountId]: callerAccount,
      [ENVIRONMENT.destination]: s3Path,
      [ENVIRONMENT.configurationTable]: tables.configuration,
      [ENVIRONMENT.schedulerTable]: tables.scheduler,
      [ENVIRONMENT.kmsKeyArn]: options.kmsKeyArn ?? '',
      [ENVIRONMENT.glueCrawlerName]: catalog.crawlerName,
    });
    const run = await runWorkflow(options.input ?? {}, { [CRAWLER_NAME_VARIABLE]: catalog.crawlerName });
    const keys = await saveMirror(s3, options.out, destination.bucket);
    return { run, bucket: destination.bucket, mirror: mirrorFolder(options.out, destination.bucket), keys };
  } finally {
    await emulator.stop();
  }
}
