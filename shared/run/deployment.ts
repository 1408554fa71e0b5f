/**
 * The deployment a function serves, read once from its environment (set by serverless.yml from the
 * documented deployment parameters, and by the local runner).
 */
import { quoteInput, UserInputError } from '#shared/aws/errors';
import type { BackupTable, PartitionIdentity } from '#shared/aws/s3-layout';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { groupNameProblem } from '#shared/run/group-name';

/**
 * What the exporters of one group need: where to write, the group's tables and stack, and the zone
 * its `localcron()` values are read in. Built per execution from the service's settings and the
 * group the execution serves ({@link groupDeployment}).
 */
export interface Deployment extends PartitionIdentity {
  /** `null` when `MetadataAndBackupS3Path` is empty: the feature is off. */
  destination: S3Location | null;
  tables: Record<BackupTable, string>;
  kmsKeyArn?: string;
  /** The group's zone: this service's TimeZone when set, else its CloneSquad stack's, else its region's. */
  timeZone: string;
  cloneSquadStackName: string;
  userSuppliedJsonMetadata: string;
  glueCrawlerName?: string;
}

/** The service's own settings, the same for every group it serves (one per deployment). */
export interface ServiceSettings {
  /** The one group served; `undefined`: every CloneSquad group of the account and region. */
  groupName?: string;
  accountId: string;
  region: string;
  destination: S3Location | null;
  kmsKeyArn?: string;
  /** The TimeZone parameter: when set, every group's `localcron()` is read in it. */
  timeZone?: string;
  /** Single-group mode: the stack and tables the parameters name. */
  cloneSquadStackName?: string;
  tables?: Record<BackupTable, string>;
  userSuppliedJsonMetadata: string;
  glueCrawlerName?: string;
  /** EventBridge Scheduler group holding one schedule per group; `undefined` when the feature is off. */
  scheduleGroup?: string;
  /** What each group's schedule starts: the function that names the slot's execution, and the role. */
  scheduledRunFunctionArn?: string;
  scheduleRoleArn?: string;
  /** The workflow's state machine, which scheduled runs and the fan-out start. */
  stateMachineArn?: string;
}

/** Names of the environment variables, one per setting. */
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
  scheduleGroup: 'BACKUP_SCHEDULE_GROUP',
  scheduledRunFunctionArn: 'SCHEDULED_RUN_FUNCTION_ARN',
  scheduleRoleArn: 'BACKUP_SCHEDULE_ROLE_ARN',
  stateMachineArn: 'STATE_MACHINE_ARN',
} as const;

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

export const KMS_KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** `KmsKeyArn`: a key ARN, not an alias: IAM grants on a key are evaluated against the key's ARN. */
export function validateKmsKeyArn(arn: string): string {
  if (arn === '' || KMS_KEY_ARN_PATTERN.test(arn)) return arn;
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

export function settingsFromEnvironment(env: Environment = process.env): ServiceSettings {
  const groupName = optional(env, ENVIRONMENT.groupName);
  const timeZone = optional(env, ENVIRONMENT.timeZone);
  const kmsKeyArn = optional(env, ENVIRONMENT.kmsKeyArn);
  const single = groupName === undefined ? undefined : validateGroupName(groupName);
  const defaults = single === undefined ? undefined : defaultTableNames(single);
  return {
    groupName: single,
    accountId: required(env, ENVIRONMENT.accountId),
    region: required(env, ENVIRONMENT.region),
    destination: parseS3Path(env[ENVIRONMENT.destination]),
    kmsKeyArn: kmsKeyArn && validateKmsKeyArn(kmsKeyArn),
    timeZone: timeZone && validateTimeZone(timeZone),
    ...(single !== undefined && defaults
      ? {
          cloneSquadStackName: optional(env, ENVIRONMENT.cloneSquadStackName) ?? defaultStackName(single),
          tables: {
            configuration: optional(env, ENVIRONMENT.configurationTable) ?? defaults.configuration,
            scheduler: optional(env, ENVIRONMENT.schedulerTable) ?? defaults.scheduler,
          },
        }
      : {}),
    userSuppliedJsonMetadata: env[ENVIRONMENT.userSuppliedJsonMetadata] ?? '',
    glueCrawlerName: optional(env, ENVIRONMENT.glueCrawlerName),
    scheduleGroup: optional(env, ENVIRONMENT.scheduleGroup),
    scheduledRunFunctionArn: optional(env, ENVIRONMENT.scheduledRunFunctionArn),
    scheduleRoleArn: optional(env, ENVIRONMENT.scheduleRoleArn),
    stateMachineArn: optional(env, ENVIRONMENT.stateMachineArn),
  };
}

/** The stack name a single-group deployment reads when CloneSquadStackName is not given. */
export function defaultStackName(groupName: string): string {
  return `CloneSquad-${groupName}`;
}

/** What the exporters of one group need, from the service's settings and the group's own facts. */
export function groupDeployment(
  settings: ServiceSettings,
  group: { groupName: string; tables: Record<BackupTable, string>; stackName: string; timeZone: string },
): Deployment {
  return {
    groupName: group.groupName,
    accountId: settings.accountId,
    region: settings.region,
    destination: settings.destination,
    tables: group.tables,
    kmsKeyArn: settings.kmsKeyArn,
    timeZone: group.timeZone,
    cloneSquadStackName: group.stackName,
    userSuppliedJsonMetadata: settings.userSuppliedJsonMetadata,
    glueCrawlerName: settings.glueCrawlerName,
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
