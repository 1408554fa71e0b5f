/**
 * What `npm run restore` and `npm run backups` share: the options that name a deployment's backup
 * partition, and how they are resolved (account from STS unless given, region from AWS_REGION unless
 * given, path from METADATA_AND_BACKUP_S3_PATH unless given).
 */
import { createInterface } from 'node:readline/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { ENVIRONMENT } from '#shared/run/deployment';
import { groupNameProblem } from '#shared/run/group-name';
import { UserInputError } from '#shared/aws/errors';
import { BACKUP_TABLES, type BackupTable, type PartitionIdentity } from '#shared/aws/s3-layout';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';

type Environment = Record<string, string | undefined>;

export const PARTITION_OPTIONS = {
  group: { type: 'string' },
  's3-path': { type: 'string' },
  account: { type: 'string' },
  region: { type: 'string' },
} as const;

export const PARTITION_USAGE = `  --s3-path PATH     MetadataAndBackupS3Path, s3://bucket[/prefix] (default $${ENVIRONMENT.destination})
  --account ID       the partition's account id (default: the caller's, from STS GetCallerIdentity)
  --region REGION    the partition's region, and the table's (default $AWS_REGION)`;

export interface PartitionArgs {
  group?: string;
  's3-path'?: string;
  account?: string;
  region?: string;
}

/** What a command reads and writes besides its arguments; tests inject all three. */
export interface CliIo {
  /** Results, on stdout. */
  print: (line: string) => void;
  /** Progress and notes about the input, on stderr (console.error unless given). */
  stderr?: (line: string) => void;
  /** Asks the operator a question and answers the reply; absent when stdin is not a terminal. */
  ask?: (question: string) => Promise<string>;
  env?: Environment;
  clients?: { dynamodb: DynamoDBClient; s3: S3Client; sts: STSClient };
}

/** The {@link CliIo} of a command run from a shell: a question is asked only of a terminal. */
export function processIo(): CliIo {
  return {
    print: (line) => console.log(line),
    ...(process.stdin.isTTY ? { ask: askOnTerminal } : {}),
  };
}

async function askOnTerminal(question: string): Promise<string> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

/** A usage error: the CLI prints it with the usage text and exits 2. */
export class UsageError extends Error {}

export function requireGroup(group: string | undefined): string {
  if (group === undefined) throw new UsageError('--group is required');
  const problem = groupNameProblem(group);
  if (problem) {
    throw new UserInputError(
      `--group "${group}"`,
      `the name ${problem}`,
      'give the GroupName of the CloneSquad deployment',
    );
  }
  return group;
}

export function parseTable(table: string | undefined): BackupTable {
  if (table === undefined) throw new UsageError('--table is required');
  if (!(BACKUP_TABLES as readonly string[]).includes(table)) {
    throw new UserInputError(`--table "${table}"`, 'it is not a backed-up table', `use ${BACKUP_TABLES.join(' or ')}`);
  }
  return table as BackupTable;
}

export function regionOf(args: PartitionArgs, env: Environment = process.env): string {
  const region = args.region ?? env.AWS_REGION;
  if (!region) {
    throw new UserInputError('--region', 'it is not given and AWS_REGION is not set', 'pass --region, e.g. eu-west-1');
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new UserInputError(`--region "${region}"`, 'it is not an AWS region name', 'write it like eu-west-1');
  }
  return region;
}

export function awsClients(region: string) {
  return {
    dynamodb: new DynamoDBClient({ ...clientSettings(), region }),
    s3: new S3Client({ ...s3ClientSettings(), region }),
    sts: new STSClient({ ...clientSettings(), region }),
  };
}

/** The root path and partition of the group's backups. */
export async function resolvePartition(
  sts: STSClient,
  args: PartitionArgs,
  env: Environment = process.env,
): Promise<{ root: S3Location; identity: PartitionIdentity }> {
  const groupName = requireGroup(args.group);
  const region = regionOf(args, env);
  const root = parseS3Path(args['s3-path'] ?? env[ENVIRONMENT.destination]);
  if (!root) {
    throw new UserInputError(
      '--s3-path',
      `it is not given and ${ENVIRONMENT.destination} is not set`,
      'pass the MetadataAndBackupS3Path of the deployment, e.g. --s3-path s3://my-bucket/clonesquad',
    );
  }
  return { root, identity: { accountId: await accountIdOf(sts, args), region, groupName } };
}

/** `--account`, or else the caller's account (STS GetCallerIdentity). */
export async function accountIdOf(sts: STSClient, args: PartitionArgs): Promise<string> {
  if (args.account === undefined) {
    const accountId = (await sts.send(new GetCallerIdentityCommand({}))).Account;
    if (!accountId) throw new Error('STS GetCallerIdentity answered no account id; pass --account');
    return accountId;
  }
  if (!/^\d{12}$/.test(args.account)) {
    throw new UserInputError(
      `--account "${args.account}"`,
      'it is not a 12-digit AWS account id',
      'pass --account 123456789012',
    );
  }
  return args.account;
}

/** Runs a CLI's main: exit 0 or `main`'s code; 2 for bad input (with the usage on usage errors); 1 otherwise. */
export function runCli(main: () => Promise<number>, usage: string): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`error: ${(error as Error).message}\n\n${usage}`);
        process.exit(2);
      }
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(error instanceof UserInputError ? 2 : 1);
    },
  );
}
