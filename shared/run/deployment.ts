/**
 * The deployment a function serves, read once from its environment (set by serverless.yml from the
 * deployment parameters of SPEC §2, and by the local runner).
 */
import { quoteInput, UserInputError } from '#shared/aws/errors';
import type { BackupTable, PartitionIdentity } from '#shared/aws/s3-layout';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';

export interface Deployment extends PartitionIdentity {
  /** `null` when `MetadataAndBackupS3Path` is empty: the feature is off. */
  destination: S3Location | null;
  tables: Record<BackupTable, string>;
  kmsKeyArn?: string;
  timeZone: string;
  cloneSquadStackName: string;
  userSuppliedJsonMetadata: string;
  glueCrawlerName?: string;
  /** The backup schedule's name; `undefined` when none is deployed (the feature is off). */
  scheduleName?: string;
  /** The workflow's state machine, which scheduled runs start. */
  stateMachineArn?: string;
}

/** Names of the environment variables, one per deployment parameter. */
export const ENVIRONMENT = {
  groupName: 'GROUP_NAME',
  accountId: 'ACCOUNT_ID',
  region: 'AWS_REGION',
  destination: 'METADATA_AND_BACKUP_S3_PATH',
  configurationTable: 'CONFIGURATION_TABLE',
  schedulerTable: 'SCHEDULER_TABLE',
  kmsKeyArn: 'KMS_KEY_ARN',
  timeZone: 'TIME_ZONE',
  cloneSquadStackName: 'CLONESQUAD_STACK_NAME',
  userSuppliedJsonMetadata: 'USER_SUPPLIED_JSON_METADATA',
  glueCrawlerName: 'GLUE_CRAWLER_NAME',
  scheduleName: 'BACKUP_SCHEDULE_NAME',
  stateMachineArn: 'STATE_MACHINE_ARN',
} as const;

/**
 * Why `name` cannot be a CloneSquad group name, or `undefined` when it can. The name is part of
 * DynamoDB table names and of S3 keys, so it is held to the characters both accept safely.
 */
export function groupNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > 64) return `is ${name.length} characters long, more than 64`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    return 'may hold only letters, digits, "_", "." and "-", and must begin with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain ".."';
  return undefined;
}

export function validateGroupName(name: string): string {
  const problem = groupNameProblem(name);
  if (problem) {
    throw new UserInputError(
      `GroupName ${quoteInput(name)}`,
      `the name ${problem}`,
      'deploy with the GroupName of the CloneSquad deployment this service runs beside',
    );
  }
  return name;
}

/** `TimeZone`: an IANA zone that `localcron()` schedules are read in. */
export function validateTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    throw new UserInputError(
      `TimeZone ${quoteInput(zone)}`,
      'it is not an IANA time zone',
      'give a zone such as UTC or Europe/Paris',
    );
  }
}

/** `KmsKeyArn`: a key ARN, not an alias: IAM grants on a key are evaluated against the key's ARN. */
export function validateKmsKeyArn(arn: string): string {
  if (arn === '' || /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(arn)) return arn;
  throw new UserInputError(
    `KmsKeyArn ${quoteInput(arn)}`,
    'it is not the ARN of a KMS key',
    'give the key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias, or leave it empty for the bucket default',
  );
}

/** Table names as CloneSquad names them when no override is given. */
export function defaultTableNames(groupName: string): Record<BackupTable, string> {
  return {
    configuration: `CloneSquad-${groupName}-Configuration`,
    scheduler: `CloneSquad-${groupName}-Scheduler`,
  };
}

type Environment = Record<string, string | undefined>;

function required(env: Environment, name: string): string {
  const value = env[name]?.trim();
  if (!value) {
    throw new UserInputError(
      `environment variable ${name}`,
      'it is not set',
      'deploy with serverless.yml, which sets it from the deployment parameters',
    );
  }
  return value;
}

function optional(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function deploymentFromEnvironment(env: Environment = process.env): Deployment {
  const groupName = validateGroupName(required(env, ENVIRONMENT.groupName));
  const defaults = defaultTableNames(groupName);
  return {
    groupName,
    accountId: required(env, ENVIRONMENT.accountId),
    region: required(env, ENVIRONMENT.region),
    destination: parseS3Path(env[ENVIRONMENT.destination]),
    tables: {
      configuration: optional(env, ENVIRONMENT.configurationTable) ?? defaults.configuration,
      scheduler: optional(env, ENVIRONMENT.schedulerTable) ?? defaults.scheduler,
    },
    kmsKeyArn: optional(env, ENVIRONMENT.kmsKeyArn) && validateKmsKeyArn(env[ENVIRONMENT.kmsKeyArn]!.trim()),
    timeZone: validateTimeZone(optional(env, ENVIRONMENT.timeZone) ?? 'UTC'),
    cloneSquadStackName: optional(env, ENVIRONMENT.cloneSquadStackName) ?? `CloneSquad-${groupName}`,
    userSuppliedJsonMetadata: env[ENVIRONMENT.userSuppliedJsonMetadata] ?? '',
    glueCrawlerName: optional(env, ENVIRONMENT.glueCrawlerName),
    scheduleName: optional(env, ENVIRONMENT.scheduleName),
    stateMachineArn: optional(env, ENVIRONMENT.stateMachineArn),
  };
}

/** The destination, or a clear error when the feature is off. */
export function requireDestination(deployment: Deployment): S3Location {
  if (!deployment.destination) throw featureOffError();
  return deployment.destination;
}

/** What every part, and the `backup` API, answer when `MetadataAndBackupS3Path` is empty. */
export function featureOffError(): UserInputError {
  return new UserInputError(
    'MetadataAndBackupS3Path',
    'it is empty, so backups and metadata export are turned off',
    'redeploy with MetadataAndBackupS3Path=s3://bucket[/prefix] to turn them on',
  );
}
