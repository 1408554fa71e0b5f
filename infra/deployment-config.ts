/**
 * The deployment parameters, as given to `osls package|deploy --param="name=value"`, checked and
 * completed with their defaults at package time, with the same validators (and so the same messages)
 * the functions use at run time; and the names, ARNs and environment derived from them.
 */
import { createHash } from 'node:crypto';
import {
  defaultStackName,
  defaultTableNames,
  ENVIRONMENT,
  validateGroupName,
  KMS_KEY_ARN_PATTERN,
  validateKmsKeyArn,
  validateTimeZone,
} from '#shared/run/deployment';
import { GROUP_NAME_PATTERN, MAX_GROUP_NAME_CHARS } from '#shared/run/group-name';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import {
  archiveBackupKey,
  archiveStamp,
  BACKUP_TABLES,
  latestBackupKey,
  METADATA_TABLES,
  metadataKey,
} from '#shared/aws/s3-layout';
import { formatS3Path, parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { CRAWLER_NAME_PATTERN, DEFAULT_CRAWLER_NAME } from '#glue/catalog';
import { TOKEN } from '#infra/cloudformation';

/** Serverless parameter name → the CloudFormation parameter name users know, for messages. */
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

/** The functions of the service (infra/functions.ts describes each). */
export const FUNCTIONS = [
  'planRun',
  'backupTable',
  'exportDiscovery',
  'exportInstances',
  'exportMaintenanceWindows',
  'archiveBackups',
  'summarize',
  'reconcileGroups',
  'startScheduledRun',
  'backupStatus',
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/** Parameters that only a single-group deployment takes: an all-groups one finds them per group. */
const SINGLE_GROUP_PARAMETERS = [
  'cloneSquadStackName',
  'configurationTable',
  'schedulerTable',
  'configurationTableStreamArn',
] as const;

export interface DeploymentParameters {
  /** The one group served; `undefined`: every CloneSquad group of the account and region. */
  groupName?: string;
  /** `null` when the feature is off (empty `MetadataAndBackupS3Path`). */
  destination: S3Location | null;
  userSuppliedJSONMetadata: string;
  /** Empty: each group's own zone (its stack's TimeZone, else its region's). */
  timeZone: string;
  /** Single-group mode only (empty otherwise). */
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
        `deployment parameter ${quoteInput(name)}`,
        'no such parameter',
        `use one of ${known.join(', ')} (names are case-sensitive), as --param="name=value"`,
      );
    }
  }
}

export function resolveParameters(raw: RawParameters): DeploymentParameters {
  const value = (name: ParameterName) => (raw[name] ?? '').trim();
  const destination = parseS3Path(value('metadataAndBackupS3Path'));
  const shared = {
    destination,
    userSuppliedJSONMetadata: validateJson(value('userSuppliedJSONMetadata')),
    timeZone: value('timeZone') && validateTimeZone(value('timeZone')),
    // Not given: the catalog stack's crawler (in the central account it exists; elsewhere the workflow
    // reports the catalog part skipped). Given empty: no crawler.
    glueCrawlerName: raw.glueCrawlerName == null ? DEFAULT_CRAWLER_NAME : validateCrawlerName(value('glueCrawlerName')),
    kmsKeyArn: validateKmsKeyArn(value('kmsKeyArn')),
  };
  if (value('groupName') === '') {
    const given = SINGLE_GROUP_PARAMETERS.filter((name) => value(name) !== '');
    if (given.length > 0) {
      throw new UserInputError(
        given.map((name) => PARAMETERS[name]).join(', '),
        'only a single-group deployment takes it: with GroupName empty, the deployment serves every CloneSquad ' +
          "group of its account and region and reads each group's stack and tables from CloudFormation",
        'set GroupName to serve one group, or leave these parameters out',
      );
    }
    if (destination) checkKeyLength(destination, 'g'.repeat(MAX_GROUP_NAME_CHARS));
    return {
      ...shared,
      cloneSquadStackName: '',
      configurationTable: '',
      schedulerTable: '',
      configurationTableStreamArn: '',
    };
  }
  const groupName = validateGroupName(value('groupName'));
  const tables = defaultTableNames(groupName);
  const named = (parameter: DerivedParameter, derived: string) =>
    checkDerivableName(parameter, value(parameter), groupName, derived);
  const configurationTable = named('configurationTable', tables.configuration);
  if (destination) checkKeyLength(destination, groupName);
  return {
    groupName,
    ...shared,
    cloneSquadStackName: named('cloneSquadStackName', defaultStackName(groupName)),
    configurationTable,
    schedulerTable: named('schedulerTable', tables.scheduler),
    configurationTableStreamArn: validateStreamArn(value('configurationTableStreamArn'), configurationTable),
  };
}

/** Parameters whose default is derived from GroupName. */
type DerivedParameter = 'cloneSquadStackName' | 'configurationTable' | 'schedulerTable';

interface NameRule {
  valid: RegExp;
  /** A derived name `valid` refuses "is not {kind} ({rule})". */
  kind: string;
  rule: string;
  /** The message for a name the operator gave. */
  refused: { problem: string; fix: string };
  /** What the name names: the group's CloneSquad stack or table. */
  names: string;
}

const STACK_NAME: NameRule = {
  valid: /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
  kind: 'a valid CloudFormation stack name',
  rule: 'letters, digits and "-", starting with a letter',
  refused: {
    problem: 'it is not a valid CloudFormation stack name',
    fix: 'give the name of the CloneSquad stack (letters, digits and "-", starting with a letter)',
  },
  names: 'stack',
};
const TABLE_NAME: NameRule = {
  valid: /^[A-Za-z0-9_.-]{3,255}$/,
  kind: 'a valid DynamoDB table name',
  rule: '3 to 255 letters, digits, "_", "-" or "."',
  refused: {
    problem: 'it is not a valid DynamoDB table name (3 to 255 letters, digits, "_", "-" or ".")',
    fix: 'give the name of the CloneSquad table, or leave it empty for the default',
  },
  names: 'table',
};
const NAME_RULES: Record<DerivedParameter, NameRule> = {
  cloneSquadStackName: STACK_NAME,
  configurationTable: TABLE_NAME,
  schedulerTable: TABLE_NAME,
};

/**
 * The name given for `parameter`, else the one derived from GroupName. A derived name its service
 * refuses is GroupName's doing, the parameter was never set: the message names GroupName.
 */
function checkDerivableName(parameter: DerivedParameter, given: string, groupName: string, derived: string): string {
  const { valid, kind, rule, refused, names } = NAME_RULES[parameter];
  if (given) {
    if (valid.test(given)) return given;
    throw new UserInputError(`${PARAMETERS[parameter]} ${quoteInput(given)}`, refused.problem, refused.fix);
  }
  if (valid.test(derived)) return derived;
  throw new UserInputError(
    `${PARAMETERS.groupName} ${quoteInput(groupName)}`,
    `the ${PARAMETERS[parameter]} derived from it, ${quoteInput(derived)}, is not ${kind} (${rule})`,
    `set ${PARAMETERS[parameter]} to the name of the group's CloneSquad ${names}, or use a GroupName of letters, ` +
      'digits and "-", the names CloneSquad documents ([A-Za-z0-9][-A-Za-z0-9]+, 2 to 40 characters)',
  );
}

const STREAM_ARN_PATTERN =
  /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/([A-Za-z0-9_.-]+)\/stream\/[0-9A-Za-z:._-]+$/;

/** The stream of the Configuration table itself: a stream of another table would never carry `backup.cron`. */
function validateStreamArn(arn: string, configurationTable: string): string {
  if (arn === '') return arn;
  const match = STREAM_ARN_PATTERN.exec(arn);
  if (match && match[1] === configurationTable) return arn;
  throw new UserInputError(
    `${PARAMETERS.configurationTableStreamArn} ${quoteInput(arn)}`,
    match
      ? `it is the stream of table ${quoteInput(match[1])}, not of the Configuration table ${quoteInput(configurationTable)}`
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

/** A crawler the catalog stack can have created (its own naming rule), or empty for none. */
function validateCrawlerName(name: string): string {
  if (name === '' || CRAWLER_NAME_PATTERN.test(name)) return name;
  throw new UserInputError(
    `${PARAMETERS.glueCrawlerName} ${quoteInput(name)}`,
    'it is not a crawler name of the catalog stack (1 to 255 letters, digits, "_", "." or "-")',
    "give the name of the crawler (the catalog stack's CrawlerName output), or leave it empty to start none",
  );
}

/** S3's limit on a key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
/** The longest name of the regions of every AWS partition today. */
const LONGEST_REGION_NAME = 'us-isof-south-1';

/**
 * Every key this deployment writes (shared/s3-layout.ts) must fit S3's limit in any account and
 * region it may be deployed to (a StackSet deploys one package everywhere); only the prefix can
 * make one too long.
 */
function checkKeyLength(root: S3Location, groupName: string): void {
  const id = { accountId: '0'.repeat(12), region: LONGEST_REGION_NAME, groupName };
  const stamp = archiveStamp(new Date(0));
  const keys = [
    ...BACKUP_TABLES.flatMap((table) => [latestBackupKey(root, id, table), archiveBackupKey(root, id, table, stamp)]),
    ...METADATA_TABLES.map((table) => metadataKey(root, id, table)),
  ];
  const longest = Math.max(...keys.map((key) => Buffer.byteLength(key, 'utf8')));
  if (longest <= MAX_KEY_BYTES) return;
  throw new UserInputError(
    `${PARAMETERS.metadataAndBackupS3Path} ${quoteInput(formatS3Path(root))}`,
    `the longest key this deployment writes would be ${longest} bytes long in UTF-8 (with a 12-digit account id ` +
      `and the longest region name), more than the ${MAX_KEY_BYTES} S3 allows`,
    `shorten the prefix by at least ${longest - MAX_KEY_BYTES} byte${longest - MAX_KEY_BYTES === 1 ? '' : 's'}`,
  );
}

/**
 * The ARNs the functions are told about, built from names (not `Ref`s: the state machine refers to
 * the functions, which cannot refer back), with {@link TOKEN}s for the account, region and partition.
 */
export function resourceArns(names: ResourceNames) {
  const arn = (service: string, resource: string) =>
    `arn:${TOKEN.partition}:${service}:${TOKEN.region}:${TOKEN.accountId}:${resource}`;
  return {
    stateMachine: arn('states', `stateMachine:${names.stateMachine}`),
    executions: arn('states', `execution:${names.stateMachine}:${TOKEN.wildcard}`),
    scheduledRunFunction: arn('lambda', `function:${names.functions.startScheduledRun}`),
    scheduleRole: `arn:${TOKEN.partition}:iam::${TOKEN.accountId}:role/${names.scheduleRole}`,
    scheduleGroup: arn('scheduler', `schedule-group/${names.scheduleGroup}`),
    schedules: arn('scheduler', `schedule/${names.scheduleGroup}/${TOKEN.wildcard}`),
  };
}

/**
 * The functions' environment: every setting they read (shared/run/deployment.ts), defaults applied,
 * as text with {@link TOKEN}s: `cfn()` of it for the template, `renderTokens()` of it for a local
 * run, so both run the same functions with the same settings. `AWS_REGION` is set by Lambda itself.
 */
export function functionEnvironment(parameters: DeploymentParameters, names: ResourceNames): Record<string, string> {
  const arns = resourceArns(names);
  const enabled = parameters.destination !== null;
  return {
    [ENVIRONMENT.groupName]: parameters.groupName ?? '',
    [ENVIRONMENT.accountId]: TOKEN.accountId,
    [ENVIRONMENT.destination]: parameters.destination ? formatS3Path(parameters.destination) : '',
    [ENVIRONMENT.configurationTable]: parameters.configurationTable,
    [ENVIRONMENT.schedulerTable]: parameters.schedulerTable,
    [ENVIRONMENT.kmsKeyArn]: parameters.kmsKeyArn,
    [ENVIRONMENT.timeZone]: parameters.timeZone,
    [ENVIRONMENT.cloneSquadStackName]: parameters.cloneSquadStackName,
    [ENVIRONMENT.userSuppliedJsonMetadata]: parameters.userSuppliedJSONMetadata,
    [ENVIRONMENT.glueCrawlerName]: parameters.glueCrawlerName,
    [ENVIRONMENT.scheduleGroup]: enabled ? names.scheduleGroup : '',
    [ENVIRONMENT.scheduledRunFunctionArn]: enabled ? arns.scheduledRunFunction : '',
    [ENVIRONMENT.scheduleRoleArn]: enabled ? arns.scheduleRole : '',
    [ENVIRONMENT.stateMachineArn]: arns.stateMachine,
  };
}

export type ResourceNames = ReturnType<typeof resourceNames>;

/**
 * Names of the deployed resources, per stage: a single-group deployment's carry its group (one may
 * serve each group), an all-groups deployment's do not (one serves them all). A group name may hold
 * characters (`.`, `_`) or a length that Lambda and CloudFormation refuse, in which case it is
 * shortened and made unique with a hash.
 */
export function resourceNames(groupName: string | undefined, stage: string) {
  // No "-" after CloneSquad: an all-groups name never equals a group's.
  const base = groupName === undefined ? `CloneSquadBackupCmdb-${stage}` : `CloneSquad-${groupName}-${stage}`;
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
    scheduleGroup: fitted('BackupCmdb', 64),
    // IAM names are global to the account, and a StackSet deploys one stack per region of each account.
    scheduleRole: `${fitted('BackupSchedules', 64 - 1 - LONGEST_REGION_NAME.length)}-${TOKEN.region}`,
    groupsSchedule: fitted('BackupCmdb-groups', 64),
    api: fitted('backup', 1024),
    functions: Object.fromEntries(FUNCTIONS.map((name) => [name, fitted(name, 64)])) as Record<FunctionName, string>,
  };
}

/** What an operator reads about one deployment parameter (the docs' parameters page is made of these). */
export interface ParameterReference {
  description: string;
  /** The value taken when the parameter is not given. */
  default: string;
  /** What the parameter accepts, as checked at package time and at run time. */
  accepts: string;
}

const pattern = (rule: RegExp) => `\`${rule.source}\``;

export const PARAMETER_REFERENCE: Record<ParameterName, ParameterReference> = {
  groupName: {
    description:
      'The one CloneSquad group this deployment serves. Empty: it serves every CloneSquad group it finds in its ' +
      'account and region, and finds new ones as they are deployed.',
    default: 'empty (every group)',
    accepts: `${pattern(GROUP_NAME_PATTERN)}, at most ${MAX_GROUP_NAME_CHARS} characters, no ".."`,
  },
  metadataAndBackupS3Path: {
    description:
      'Where every backup and metadata export is written, `s3://bucket[/prefix]`. Empty turns the feature off: no ' +
      'schedule, and the API answers that it is off.',
    default: 'empty (off)',
    accepts: `\`s3://bucket\` or \`s3://bucket/prefix\` (empty segments dropped); every key must fit S3's ${MAX_KEY_BYTES} bytes`,
  },
  userSuppliedJSONMetadata: {
    description:
      'A JSON object carried into the discovery record as it is, and as one `X-{key}` field per top-level key.',
    default: 'empty',
    accepts: 'a JSON object, or empty',
  },
  timeZone: {
    description:
      "The IANA zone `localcron()` schedules are read in. Empty: each group's own, its stack's TimeZone parameter, " +
      'else the zone CloneSquad assumes for the region.',
    default: "empty (each group's zone)",
    accepts: 'an IANA time zone, such as `UTC` or `Europe/Paris`',
  },
  cloneSquadStackName: {
    description: 'Single-group deployments only: the CloneSquad stack that discovery reads.',
    default: '`CloneSquad-{GroupName}`',
    accepts: `${pattern(STACK_NAME.valid)} (${STACK_NAME.rule})`,
  },
  configurationTable: {
    description: "Single-group deployments only: the group's Configuration table, backed up and exported.",
    default: '`CloneSquad-{GroupName}-Configuration`',
    accepts: `${pattern(TABLE_NAME.valid)} (${TABLE_NAME.rule})`,
  },
  schedulerTable: {
    description: "Single-group deployments only: the group's Scheduler table, backed up and exported.",
    default: '`CloneSquad-{GroupName}-Scheduler`',
    accepts: `${pattern(TABLE_NAME.valid)} (${TABLE_NAME.rule})`,
  },
  glueCrawlerName: {
    description:
      'The crawler started after an export that created a new partition. Given empty: no crawler is started.',
    default: `\`${DEFAULT_CRAWLER_NAME}\` (the catalog stack's crawler)`,
    accepts: `${pattern(CRAWLER_NAME_PATTERN)}, or empty`,
  },
  kmsKeyArn: {
    description: "The KMS key every object is written with (SSE-KMS). Empty: the bucket's default encryption.",
    default: 'empty (bucket default)',
    accepts: `${pattern(KMS_KEY_ARN_PATTERN)} (a key ARN, not an alias), or empty`,
  },
  configurationTableStreamArn: {
    description:
      "Single-group deployments only: the Configuration table's stream, so that a change of `backup.cron` " +
      'reconciles the schedule at once. Empty: each execution still reconciles it.',
    default: 'empty (no stream)',
    accepts: `${pattern(STREAM_ARN_PATTERN)} (the stream of ConfigurationTable), or empty`,
  },
};
