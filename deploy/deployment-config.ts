/**
 * The deployment parameters of SPEC §2, as given to `osls package|deploy --param="name=value"`,
 * checked and completed with their defaults at package time, with the same validators (and so the
 * same messages) the functions use at run time.
 */
import { createHash } from 'node:crypto';
import {
  defaultTableNames,
  ENVIRONMENT,
  validateGroupName,
  validateKmsKeyArn,
  validateTimeZone,
} from '../shared/deployment.ts';
import { UserInputError } from '../shared/errors.ts';
import { formatS3Path, parseS3Path, type S3Location } from '../shared/s3-path.ts';
import { DEFAULT_CRAWLER_NAME } from '../glue/catalog-stack.ts';
import { iamResource, TOKEN, type Cfn } from './cloudformation.ts';

/** Serverless parameter name → SPEC §2 name, for messages. */
export const PARAMETERS = {
  groupName: 'GroupName',
  metadataAndBackupS3Path: 'MetadataAndBackupS3Path',
  userSuppliedJSONMetadata: 'UserSuppliedJSONMetadata',
  timeZone: 'TimeZone',
  cloneSquadStackName: 'CloneSquadStackName',
  configurationTable: 'ConfigurationTable',
  schedulerTable: 'SchedulerTable',
  glueCrawlerName: 'GlueCrawlerName',
  kmsKeyArn: 'KmsKeyArn',
  configurationTableStreamArn: 'ConfigurationTableStreamArn',
} as const;
export type ParameterName = keyof typeof PARAMETERS;
export type RawParameters = Partial<Record<ParameterName, string | null>>;

/** The functions of serverless.yml. */
export const FUNCTIONS = [
  'backupTable',
  'archiveBackups',
  'exportDiscovery',
  'exportInstances',
  'exportMaintenanceWindows',
  'summarize',
  'planRun',
  'reconcileSchedule',
  'startScheduledRun',
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];
/** The functions the workflow calls (the others are started by the schedule or the table's stream). */
export const WORKFLOW_FUNCTIONS: readonly FunctionName[] = FUNCTIONS.filter((name) => name !== 'startScheduledRun');

export interface DeploymentParameters {
  groupName: string;
  /** `null` when the feature is off (empty `MetadataAndBackupS3Path`). */
  destination: S3Location | null;
  userSuppliedJSONMetadata: string;
  timeZone: string;
  cloneSquadStackName: string;
  configurationTable: string;
  schedulerTable: string;
  glueCrawlerName: string;
  kmsKeyArn: string;
  /** The Configuration table's stream, whose `backup.cron` changes reconcile the schedule; "" = none. */
  configurationTableStreamArn: string;
}

/** Refuses parameter names it does not know, so a typo is an error and not a silent default. */
export function checkParameterNames(names: Iterable<string>): void {
  const known = Object.keys(PARAMETERS);
  for (const name of names) {
    if (!known.includes(name)) {
      throw new UserInputError(
        `deployment parameter "${name}"`,
        'no such parameter',
        `use one of ${known.join(', ')} (names are case-sensitive), as --param="name=value"`,
      );
    }
  }
}

export function resolveParameters(raw: RawParameters): DeploymentParameters {
  const value = (name: ParameterName) => (raw[name] ?? '').trim();
  const groupName = validateGroupName(value('groupName'));
  const tables = defaultTableNames(groupName);
  const configurationTable = validateTableName(
    'configurationTable',
    value('configurationTable') || tables.configuration,
  );
  return {
    groupName,
    destination: parseS3Path(value('metadataAndBackupS3Path')),
    userSuppliedJSONMetadata: validateJson(value('userSuppliedJSONMetadata')),
    timeZone: validateTimeZone(value('timeZone') || 'UTC'),
    cloneSquadStackName: validateStackName(value('cloneSquadStackName') || `CloneSquad-${groupName}`),
    configurationTable,
    schedulerTable: validateTableName('schedulerTable', value('schedulerTable') || tables.scheduler),
    // Not given: the catalog stack's crawler (in the central account it exists; elsewhere the workflow
    // reports the catalog part skipped). Given empty: no crawler.
    glueCrawlerName: raw.glueCrawlerName == null ? DEFAULT_CRAWLER_NAME : value('glueCrawlerName'),
    kmsKeyArn: validateKmsKeyArn(value('kmsKeyArn')),
    configurationTableStreamArn: validateStreamArn(value('configurationTableStreamArn'), configurationTable),
  };
}

/** The stream of the Configuration table itself: a stream of another table would never carry `backup.cron`. */
function validateStreamArn(arn: string, configurationTable: string): string {
  if (arn === '') return arn;
  const match = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/([A-Za-z0-9_.-]+)\/stream\/[0-9A-Za-z:._-]+$/.exec(
    arn,
  );
  if (match && match[1] === configurationTable) return arn;
  throw new UserInputError(
    `${PARAMETERS.configurationTableStreamArn} "${arn}"`,
    match
      ? `it is the stream of table "${match[1]}", not of the Configuration table "${configurationTable}"`
      : 'it is not the ARN of a DynamoDB stream',
    `give the table's LatestStreamArn (aws dynamodb describe-table --table-name ${configurationTable} ` +
      '--query Table.LatestStreamArn), or leave it empty: each execution still reconciles the schedule',
  );
}

/** A JSON object (its keys become the discovery record's `X-` fields), or empty. */
function validateJson(text: string): string {
  if (text === '') return text;
  const fix = 'give a JSON object, for example {"team":"web"}, or leave it empty';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserInputError(
      PARAMETERS.userSuppliedJSONMetadata,
      `it is not valid JSON (${(error as Error).message})`,
      fix,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw new UserInputError(PARAMETERS.userSuppliedJSONMetadata, `it is JSON but ${kind}, not an object`, fix);
  }
  return text;
}

function validateStackName(name: string): string {
  if (/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(name)) return name;
  throw new UserInputError(
    `${PARAMETERS.cloneSquadStackName} "${name}"`,
    'it is not a valid CloudFormation stack name',
    'give the name of the CloneSquad stack (letters, digits and "-", starting with a letter)',
  );
}

function validateTableName(parameter: 'configurationTable' | 'schedulerTable', name: string): string {
  if (/^[A-Za-z0-9_.-]{3,255}$/.test(name)) return name;
  throw new UserInputError(
    `${PARAMETERS[parameter]} "${name}"`,
    'it is not a valid DynamoDB table name (3 to 255 letters, digits, "_", "-" or ".")',
    'give the name of the CloneSquad table, or leave it empty for the default',
  );
}

/**
 * Lambda function environment: every variable the functions read (shared/deployment.ts), with
 * defaults already applied. `AWS_REGION` is set by Lambda itself.
 */
export function functionEnvironment(
  parameters: DeploymentParameters,
  names: ReturnType<typeof resourceNames>,
): Record<string, Cfn> {
  return {
    [ENVIRONMENT.groupName]: parameters.groupName,
    [ENVIRONMENT.accountId]: { Ref: 'AWS::AccountId' },
    [ENVIRONMENT.destination]: parameters.destination ? formatS3Path(parameters.destination) : '',
    [ENVIRONMENT.configurationTable]: parameters.configurationTable,
    [ENVIRONMENT.schedulerTable]: parameters.schedulerTable,
    [ENVIRONMENT.kmsKeyArn]: parameters.kmsKeyArn,
    [ENVIRONMENT.timeZone]: parameters.timeZone,
    [ENVIRONMENT.cloneSquadStackName]: parameters.cloneSquadStackName,
    [ENVIRONMENT.userSuppliedJsonMetadata]: parameters.userSuppliedJSONMetadata,
    [ENVIRONMENT.glueCrawlerName]: parameters.glueCrawlerName,
    [ENVIRONMENT.scheduleName]: parameters.destination ? names.schedule : '',
    // Built from its name, not a Ref: the state machine refers to the functions, which cannot refer back.
    [ENVIRONMENT.stateMachineArn]: iamResource(
      `arn:${TOKEN.partition}:states:${TOKEN.region}:${TOKEN.accountId}:stateMachine:${names.stateMachine}`,
    ),
  };
}

/**
 * Names of the deployed resources. One service is deployed per CloneSquad group (and stage), so
 * every name carries both; the group name may hold characters (`.`, `_`) or a length that Lambda
 * and CloudFormation refuse, in which case it is shortened and made unique with a hash.
 */
export function resourceNames(groupName: string, stage: string) {
  const base = `CloneSquad-${groupName}-${stage}`;
  const fitted = (suffix: string, max: number) => {
    const name = `${base}-${suffix}`;
    if (name.length <= max && /^[A-Za-z0-9-]+$/.test(name)) return name;
    const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
    const head = base.replace(/[^A-Za-z0-9-]/g, '-').slice(0, max - suffix.length - hash.length - 2);
    return `${head}-${hash}-${suffix}`;
  };
  return {
    stack: fitted('BackupCmdb', 128),
    stateMachine: fitted('BackupCmdb', 80),
    schedule: fitted('BackupCmdb', 64),
    api: fitted('backup', 1024),
    functions: Object.fromEntries(FUNCTIONS.map((name) => [name, fitted(name, 64)])) as Record<FunctionName, string>,
  };
}
