/**
 * The CloneSquad groups of an account and region, found in CloudFormation: a group is a stack of
 * CloneSquad's template, recognised by what that template always has — a `GroupName` parameter and
 * its two DynamoDB tables under the logical ids `ConfigTable` and `SchedulerTable`. The stack's name
 * is free (CloneSquad's own docs name theirs `MyFirstCloneSquad-…`), so it proves nothing: a stack
 * named `CloneSquad-x` of another template is ignored, and the tables are taken from the stack's
 * resources rather than from a naming rule.
 */
import {
  CloudFormationClient,
  paginateDescribeStacks,
  paginateListStackResources,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import type { BackupTable } from '#shared/aws/s3-layout';

/** The parameters of a CloneSquad stack this service reads; never any other (some may be secrets). */
export const READ_STACK_PARAMETERS = ['GroupName', 'TimeZone', 'MetadataAndBackupS3Path'] as const;
type ReadParameter = (typeof READ_STACK_PARAMETERS)[number];

/** The logical ids of the two tables in CloneSquad's template. */
export const TABLE_LOGICAL_IDS: Record<BackupTable, string> = {
  configuration: 'ConfigTable',
  scheduler: 'SchedulerTable',
};

export interface CloneSquadStack {
  groupName: string;
  stackName: string;
  stackId: string;
  tables: Record<BackupTable, string>;
  /** The stack's `TimeZone` and `MetadataAndBackupS3Path`, as given (absent when the stack has none). */
  parameters: Partial<Record<Exclude<ReadParameter, 'GroupName'>, string>>;
}

export interface IgnoredStack {
  stackName: string;
  /** Why it is not (or not taken as) a CloneSquad group. */
  reason: string;
}

export interface FoundGroups {
  groups: CloneSquadStack[];
  ignored: IgnoredStack[];
}

/**
 * Stack states in which the stack and its tables exist. A stack being created or deleted, or one
 * whose creation failed, is not a group (yet, or any more).
 */
const LIVE_STATES = new Set([
  'CREATE_COMPLETE',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_IN_PROGRESS',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED',
  'IMPORT_ROLLBACK_COMPLETE',
]);

function parameterOf(stack: Stack, name: ReadParameter): string | undefined {
  return stack.Parameters?.find((parameter) => parameter.ParameterKey === name)?.ParameterValue;
}

/**
 * Every CloneSquad group of the account and region the client is in, and the stacks with a
 * `GroupName` parameter that are not one (with why). Groups come sorted by name; should two stacks
 * claim one group name (CloneSquad's table names make that impossible, but a decoy could), the one
 * with the tables wins and the other is ignored.
 *
 * @param onlyGroup when given, only stacks of that group are examined (fewer calls).
 */
export async function findCloneSquadGroups(
  cloudformation: CloudFormationClient,
  onlyGroup?: string,
): Promise<FoundGroups> {
  const candidates: Stack[] = [];
  for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) {
    for (const stack of page.Stacks ?? []) {
      const groupName = parameterOf(stack, 'GroupName');
      if (groupName === undefined || !LIVE_STATES.has(stack.StackStatus ?? '')) continue;
      if (onlyGroup === undefined || groupName === onlyGroup) candidates.push(stack);
    }
  }
  const groups = new Map<string, CloneSquadStack>();
  const ignored: IgnoredStack[] = [];
  for (const stack of candidates) {
    const stackName = stack.StackName ?? '';
    const groupName = parameterOf(stack, 'GroupName')!;
    const tables = await cloneSquadTables(cloudformation, stack.StackId ?? stackName);
    if (typeof tables === 'string') {
      ignored.push({ stackName, reason: tables });
      continue;
    }
    const taken = groups.get(groupName);
    if (taken) {
      ignored.push({ stackName, reason: `group ${groupName} is already the stack ${taken.stackName}'s` });
      continue;
    }
    const parameters: CloneSquadStack['parameters'] = {};
    for (const name of ['TimeZone', 'MetadataAndBackupS3Path'] as const) {
      const value = parameterOf(stack, name);
      if (value !== undefined) parameters[name] = value;
    }
    groups.set(groupName, { groupName, stackName, stackId: stack.StackId ?? stackName, tables, parameters });
  }
  return {
    groups: [...groups.values()].sort((a, b) => (a.groupName < b.groupName ? -1 : a.groupName > b.groupName ? 1 : 0)),
    ignored,
  };
}

/** The stack's two CloneSquad tables, or why it has not both. */
async function cloneSquadTables(
  cloudformation: CloudFormationClient,
  stack: string,
): Promise<Record<BackupTable, string> | string> {
  const found: Partial<Record<BackupTable, string>> = {};
  const wanted = Object.entries(TABLE_LOGICAL_IDS) as [BackupTable, string][];
  for await (const page of paginateListStackResources({ client: cloudformation }, { StackName: stack })) {
    for (const resource of page.StackResourceSummaries ?? []) {
      const table = wanted.find(([, logicalId]) => logicalId === resource.LogicalResourceId)?.[0];
      if (table && resource.ResourceType === 'AWS::DynamoDB::Table' && resource.PhysicalResourceId) {
        found[table] = resource.PhysicalResourceId;
      }
    }
  }
  const missing = wanted.filter(([table]) => found[table] === undefined).map(([, logicalId]) => logicalId);
  if (missing.length > 0) {
    return `it has a GroupName parameter but no DynamoDB table ${missing.join(' or ')}: not a stack of CloneSquad's template`;
  }
  return found as Record<BackupTable, string>;
}
