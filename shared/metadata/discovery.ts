/**
 * The `discovery` CMDB table (docs/cmdb.md): one line describing the CloneSquad deployment — its stack's
 * parameters and outputs, the fields of the original implementation's record, the account as
 * Organizations knows it, the subfleets in use and `UserSuppliedJSONMetadata`.
 *
 * Decisions:
 * - A `NoEcho` parameter (per GetTemplateSummary, or masked as `****` by DescribeStacks) is left
 *   out entirely, name and value.
 * - Stack fields whose lower-cased name is a partition column (`GroupName`, …) are left out: the
 *   partition carries them. A differing value is reported (the stack belongs to another group).
 * - Stack parameters and outputs that are not columns of the table are left out and reported, so
 *   every line matches the explicit schema.
 * - A missing stack is a warning, not a failure: the line is still written with what is known, so
 *   the deployment stays visible (and joinable) in the CMDB, and the summary says what to fix.
 * - Organizations is best effort: when DescribeAccount is refused or the account is in no
 *   organization, the `Account…` fields are absent and one warning says why.
 * - The fields of the original record that the stack does not show come from CloneSquad's
 *   Discovery function (./discovery-function.ts), best effort with one warning. Its `InstallTime`
 *   (CloneSquad's install or last upgrade) is preferred to the stack's last update.
 * - `TimeZone` is the zone CloneSquad reads its own schedules in: the stack's `TimeZone` parameter,
 *   else CloneSquad's zone for the region, else UTC (the original writes UTC for an empty
 *   parameter, which is not the zone CloneSquad uses). An explicit override of this deployment wins.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  GetTemplateSummaryCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import type { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { discoveryTable } from '#shared/catalog/tables/discovery';
import { requireDestination, type Deployment } from '#shared/run/deployment';
import { describeError, quoteInput } from '#shared/aws/errors';
import { log } from '#shared/aws/log';
import { formatS3Path } from '#shared/aws/s3-path';
import { readDiscoveryFunction, type FunctionOnlyField } from '#shared/metadata/discovery-function';
import { metadataPartName, writeMetadataTable, type MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { isPartitionColumnName, naiveUtc } from '#shared/metadata/records';
import { listSubfleets } from '#shared/metadata/subfleets';
import { groupTimeZone } from '#shared/schedule/region-time-zones';

export interface DiscoveryClients {
  cloudformation: CloudFormationClient;
  organizations: OrganizationsClient;
  ec2: EC2Client;
  s3: S3Client;
  lambda: LambdaClient;
}

/** What the CloneSquad stack tells, NoEcho parameters already removed. */
export interface StackFacts {
  name: string;
  status: string;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
  /** CloneSquad's own install time when its Discovery function tells, else the last update, else creation. */
  installTime: Date;
  version?: string;
  /** What its Discovery function (or its resources) tells and its parameters and outputs do not. */
  functionFields?: Partial<Record<FunctionOnlyField, string>>;
}

export interface DiscoveryFacts {
  deployment: Deployment;
  stack?: StackFacts;
  /** `Account…` fields, empty when Organizations did not answer. */
  account: Record<string, string>;
  subfleets: string[];
  executionStartTime: string;
  /** This deployment's own `TimeZone`, only when set explicitly. */
  timeZoneOverride?: string;
}

const PART = metadataPartName('discovery');
const MASKED = '****';
const DYNAMIC_PREFIX = discoveryTable.dynamicFieldPrefix!;
const COLUMN_NAMES = new Set(discoveryTable.columns.map((column) => column.name));

/** Outputs written under another name, to keep the original record's meaning of that name. */
const RENAMED_OUTPUTS: Record<string, string> = { LongTermEventTable: 'LongTermEventTableArn' };

/** Original record field ← stack output holding the same value. */
const ORIGINAL_NAMES_OF_OUTPUTS: Record<string, string> = {
  InteractAPIGWUrl: 'InteractAPIUrl',
  MainLambdaIamRoleArn: 'MainFunctionIamRole',
  InternalERRORMainAlarmArn: 'InternalERRORMainAlarm',
  InternalWARNINGMainAlarmArn: 'InternalWARNINGMainAlarm',
  InternalERRORInteractAlarmArn: 'InternalERRORInteractAlarm',
  InternalWARNINGInteractAlarmArn: 'InternalWARNINGInteractAlarm',
  LackOfCPUCreditAlarmArn: 'LackOfCPUCreditAlarm',
};

/** Tables the CloneSquad template names `{prefix}-{suffix}`, with the prefix of its `-Configuration` table. */
const CONVENTIONAL_TABLES: Record<string, string> = {
  StateTable: 'State',
  EventTable: 'EventLog',
  LongTermEventTable: 'EventLog-LongTerm',
  AlarmStateEC2Table: 'AlarmState-EC2',
};

/**
 * Exports the deployment's discovery line to `P/metadata/discovery/{part}/…json.gz`.
 *
 * @example
 * const result = await exportDiscovery(clients, currentDeployment(), { executionStartTime: '2024-05-01T10:00:00Z' });
 * // result.warnings lists what could not be known (missing stack, Organizations refused, …)
 */
export async function exportDiscovery(
  clients: DiscoveryClients,
  deployment: Deployment,
  request: { executionStartTime: string; timeZoneOverride?: string },
): Promise<MetadataPartResult> {
  requireDestination(deployment);
  const warnings: string[] = [];
  const stack = await readStack(clients, deployment, warnings);
  if (!stack) {
    warnings.push(
      `CloneSquad stack ${quoteInput(deployment.cloneSquadStackName)} does not exist in ${deployment.region}: the discovery ` +
        'line carries no stack parameters, outputs or version. Fix: deploy with CloneSquadStackName set to the ' +
        `stack of group ${deployment.groupName}`,
    );
  }
  const account = await readAccount(clients.organizations, deployment.accountId);
  if (account.warning) warnings.push(account.warning);
  const subfleets = await listSubfleets(clients.ec2, deployment.groupName);
  const built = buildDiscoveryRecord({
    deployment,
    stack,
    account: account.fields,
    subfleets,
    executionStartTime: request.executionStartTime,
    ...(request.timeZoneOverride ? { timeZoneOverride: request.timeZoneOverride } : {}),
  });
  warnings.push(...built.warnings);
  for (const warning of warnings) log('warn', warning, { part: PART, stack: deployment.cloneSquadStackName });
  const result = await writeMetadataTable(clients.s3, deployment, 'discovery', [built.record]);
  const all = [...warnings, ...(result.warnings ?? [])];
  return all.length > 0 ? { ...result, warnings: all } : result;
}

function isMissingStack(error: unknown): boolean {
  const { name, message } = describeError(error);
  return name === 'ValidationError' && /does not exist/i.test(message);
}

async function readStack(
  clients: DiscoveryClients,
  deployment: Deployment,
  warnings: string[],
): Promise<StackFacts | undefined> {
  const { cloudformation } = clients;
  const stackName = deployment.cloneSquadStackName;
  let stack: Stack | undefined;
  try {
    stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
  if (!stack) return undefined;
  // DescribeStacks masks NoEcho values as `****`; the template's own declaration is checked as
  // well, so a secret never depends on the masking alone.
  const summary = await cloudformation.send(new GetTemplateSummaryCommand({ StackName: stack.StackId }));
  const noEcho = new Set((summary.Parameters ?? []).filter((p) => p.NoEcho).map((p) => p.ParameterKey));
  const parameters: Record<string, string> = {};
  for (const { ParameterKey: key, ParameterValue: value } of stack.Parameters ?? []) {
    if (key && !noEcho.has(key) && value !== MASKED) parameters[key] = value ?? '';
  }
  const outputs: Record<string, string> = {};
  for (const { OutputKey: key, OutputValue: value } of stack.Outputs ?? []) if (key) outputs[key] = value ?? '';
  const template = await cloudformation.send(new GetTemplateCommand({ StackName: stack.StackId }));
  const version = templateVersion(template.TemplateBody ?? '');
  if (version instanceof Error) {
    warnings.push(
      `the template of stack ${quoteInput(stackName)} could not be read (${version.message}): CloneSquadVersion is left out`,
    );
  }
  const discoveryFunction = await readDiscoveryFunction(clients, {
    stackId: stack.StackId ?? stackName,
    groupName: deployment.groupName,
    accountId: deployment.accountId,
  });
  if (discoveryFunction.warning) warnings.push(discoveryFunction.warning);
  return {
    name: stack.StackName ?? stackName,
    status: stack.StackStatus ?? 'UNKNOWN',
    parameters,
    outputs,
    installTime: discoveryFunction.installTime ?? stack.LastUpdatedTime ?? stack.CreationTime ?? new Date(0),
    ...(typeof version === 'string' ? { version } : {}),
    functionFields: discoveryFunction.fields,
  };
}

/**
 * The `CloneSquadVersion` a CloneSquad template carries in its resources (custom resource
 * properties, function environments); `undefined` when none, an Error when the body does not parse.
 * JSON and YAML bodies are both read; CloudFormation's short tags (`!Ref`, …) are kept as plain values.
 */
export function templateVersion(body: string): string | undefined | Error {
  let template: unknown;
  try {
    template = parse(body, { logLevel: 'error', uniqueKeys: false });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const resources = (template as { Resources?: unknown } | null)?.Resources;
  const pending: unknown[] = [resources];
  while (pending.length > 0) {
    const node = pending.shift();
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'CloneSquadVersion' && typeof value === 'string' && value.trim() !== '') return value.trim();
      pending.push(value);
    }
  }
  return undefined;
}

async function readAccount(
  organizations: OrganizationsClient,
  accountId: string,
): Promise<{ fields: Record<string, string>; warning?: string }> {
  try {
    const { Account: account } = await organizations.send(new DescribeAccountCommand({ AccountId: accountId }));
    const known = {
      AccountArn: account?.Arn,
      AccountEmail: account?.Email,
      AccountName: account?.Name,
      AccountStatus: account?.Status,
      AccountState: account?.State,
      AccountJoinedMethod: account?.JoinedMethod,
    };
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(known)) if (value !== undefined) fields[name] = value;
    if (account?.JoinedTimestamp) fields.AccountJoinedTimestamp = naiveUtc(account.JoinedTimestamp);
    return { fields };
  } catch (error) {
    return { fields: {}, warning: accountWarning(error, accountId) };
  }
}

function accountWarning(error: unknown, accountId: string): string {
  const { name, message } = describeError(error);
  const lead = `Organizations DescribeAccount for account ${accountId}`;
  const tail = 'AccountName, AccountEmail and the other Account fields are left out';
  if (name === 'AccessDeniedException') {
    return (
      `${lead} was refused (${message}); ${tail}. Only the organization's management account or a delegated ` +
      'administrator may call it: nothing to fix unless this deployment runs in one'
    );
  }
  if (name === 'AWSOrganizationsNotInUseException' || name === 'AccountNotFoundException') {
    return `${lead}: the account is not in an AWS Organization visible from here (${name}); ${tail}`;
  }
  return `${lead} failed (${name}: ${message}); ${tail}. The next run tries again`;
}

/**
 * `X-{key}` fields of `UserSuppliedJSONMetadata` when it is a JSON object: strings as they are,
 * other values as their JSON text, so that every such field is text. Keys equal but for case are
 * kept once (Athena's JSON reader does not tell them apart).
 */
export function userMetadataFields(raw: string): { fields: Record<string, string>; warning?: string } {
  if (raw.trim() === '') return { fields: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return {
      fields: {},
      warning:
        `UserSuppliedJSONMetadata is not valid JSON (${(error as Error).message}): only its raw text is written, ` +
        'without X- fields. Fix: redeploy with a JSON object, for example {"Owner": "team-a"}',
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    return {
      fields: {},
      warning:
        `UserSuppliedJSONMetadata is JSON but ${kind}, not an object: only its raw text is written, without ` +
        'X- fields. Fix: redeploy with a JSON object, for example {"Owner": "team-a"}',
    };
  }
  const fields: Record<string, string> = {};
  const seen = new Set<string>();
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    const name = `${DYNAMIC_PREFIX}${key}`;
    if (seen.has(name.toLowerCase())) {
      dropped.push(key);
      continue;
    }
    seen.add(name.toLowerCase());
    fields[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  if (dropped.length === 0) return { fields };
  return {
    fields,
    warning: `UserSuppliedJSONMetadata keys ${dropped.map((key) => quoteInput(key)).join(', ')} differ from an earlier key only by case: left out`,
  };
}

/** The discovery line from what was read; pure, so every rule above is testable on its own. */
export function buildDiscoveryRecord(facts: DiscoveryFacts): { record: Record<string, unknown>; warnings: string[] } {
  const { deployment, stack } = facts;
  const warnings: string[] = [];
  const fields: Record<string, unknown> = {};

  if (stack) {
    const partitionValues: Record<string, string> = {
      accountid: deployment.accountId,
      region: deployment.region,
      groupname: deployment.groupName,
    };
    const unknown: string[] = [];
    const stackFields: [string, string][] = [
      ...Object.entries(stack.parameters),
      ...Object.entries(stack.outputs).map(([key, value]): [string, string] => [RENAMED_OUTPUTS[key] ?? key, value]),
    ];
    for (const [name, value] of stackFields) {
      if (isPartitionColumnName(name)) {
        if (value !== partitionValues[name.toLowerCase()]) {
          warnings.push(
            `stack ${quoteInput(stack.name)} has ${name} ${quoteInput(value)}, not "${partitionValues[name.toLowerCase()]}" as this ` +
              'deployment: check CloneSquadStackName',
          );
        }
      } else if (COLUMN_NAMES.has(name)) {
        fields[name] = value;
      } else if (!unknown.includes(name)) {
        unknown.push(name);
      }
    }
    if (unknown.length > 0) {
      warnings.push(
        `stack ${quoteInput(stack.name)} parameters/outputs ${unknown.join(', ')} are not columns of ${discoveryTable.name}: ` +
          'left out. Fix: add them to glue/tables/discovery.ts',
      );
    }
    for (const [original, output] of Object.entries(ORIGINAL_NAMES_OF_OUTPUTS)) {
      if (stack.outputs[output] !== undefined) fields[original] = stack.outputs[output];
    }
    const apiId = /^https:\/\/([^./]+)\.execute-api\./.exec(stack.outputs.InteractAPIUrl ?? '')?.[1];
    if (apiId) fields.InteractApi = apiId;
    const tablePrefix = /:table\/(.+)-Configuration$/.exec(stack.outputs.ConfigTable ?? '')?.[1];
    if (tablePrefix) {
      for (const [field, suffix] of Object.entries(CONVENTIONAL_TABLES)) fields[field] = `${tablePrefix}-${suffix}`;
    }
    Object.assign(fields, stack.functionFields);
    if (stack.version) fields.CloneSquadVersion = stack.version;
    fields.InstallTime = naiveUtc(stack.installTime);
    fields.CloneSquadStackStatus = stack.status;
  }

  fields.CloneSquadStackName = deployment.cloneSquadStackName;
  fields.MetadataAndBackupS3Path = formatS3Path(requireDestination(deployment));
  fields.TimeZone = groupTimeZone({
    region: deployment.region,
    stackTimeZone: stack?.parameters.TimeZone,
    override: facts.timeZoneOverride,
  });
  fields.ConfigurationTable = deployment.tables.configuration;
  fields.SchedulerTable = deployment.tables.scheduler;
  // The deployment's own value wins; an existing CloneSquad user's stack parameter is the fallback.
  const userMetadata = deployment.userSuppliedJsonMetadata || stack?.parameters.UserSuppliedJSONMetadata || '';
  fields.UserSuppliedJSONMetadata = userMetadata;
  const user = userMetadataFields(userMetadata);
  if (user.warning) warnings.push(user.warning);
  Object.assign(fields, facts.account, user.fields);
  fields.Subfleets = facts.subfleets;
  fields.MetadataRecordLastUpdatedAt = naiveUtc(facts.executionStartTime);

  const record = Object.fromEntries(
    Object.keys(fields)
      .sort()
      .map((name) => [name, fields[name]]),
  );
  return { record, warnings };
}
