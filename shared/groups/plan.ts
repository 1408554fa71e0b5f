/**
 * The first step of every execution: it checks the input, and either resolves the one group the
 * execution serves (its tables, stack, time zone, and whether CloneSquad's own export already writes
 * its keys), or — asked to run every group of an all-groups deployment — starts one execution per
 * group and ends. One execution per group keeps each group's workflow, summary and console history
 * exactly as a single-group deployment has them, and one group's failure away from the others.
 */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { describeError, quoteInput, UserInputError } from '#shared/aws/errors';
import { formatS3Path, parseS3Path, type S3Location } from '#shared/aws/s3-path';
import type { ServiceSettings } from '#shared/run/deployment';
import type { GroupPlan } from '#shared/run/group-plan';
import { groupRunName, startExecution, type StartedExecution } from '#shared/aws/executions';
import { findCloneSquadGroups, type CloneSquadStack } from '#shared/groups/find-groups';
import { parseRunRequest, RUN_PARTS, type RunPart } from '#shared/run/run-request';
import { groupTimeZone } from '#shared/schedule/region-time-zones';

/** One execution started for one group by an execution that runs every group. */
export type GroupRun = StartedExecution;

export interface RunPlan {
  requestedParts: RunPart[];
  /** The group this execution serves. */
  group?: GroupPlan;
  /** The executions started, one per group, when this one runs every group (it then ends). */
  groupRuns?: GroupRun[];
}

export interface PlanClients {
  cloudformation: CloudFormationClient;
  sfn: SFNClient;
}

/**
 * Plans one execution. Throws a {@link UserInputError} for an input it cannot serve (the execution
 * then fails before any work, naming the field and the fix).
 */
export async function planRun(
  clients: PlanClients,
  settings: ServiceSettings,
  execution: { input: unknown; executionArn: string },
): Promise<RunPlan> {
  const request = parseRunRequest(execution.input);
  const { requestedParts } = request;
  if (settings.groupName !== undefined) {
    if (request.groupName !== undefined && request.groupName !== settings.groupName) {
      throw new UserInputError(
        `execution input.groupName ${quoteInput(request.groupName)}`,
        `this deployment serves only group ${settings.groupName}`,
        `leave "groupName" out, or run the deployment of group ${request.groupName}`,
      );
    }
    return { requestedParts, group: await planGroup(clients.cloudformation, settings) };
  }
  if (request.groupName !== undefined) {
    const { groups } = await findCloneSquadGroups(clients.cloudformation, request.groupName);
    if (groups.length === 0) {
      throw new UserInputError(
        `execution input.groupName ${quoteInput(request.groupName)}`,
        `no CloneSquad group of that name exists in account ${settings.accountId}, region ${settings.region}`,
        'give the GroupName of a CloneSquad stack of this account and region, or leave "groupName" out to run every group',
      );
    }
    return { requestedParts, group: planOfStack(groups[0], settings) };
  }
  const { groups } = await findCloneSquadGroups(clients.cloudformation);
  const input = (groupName: string) =>
    JSON.stringify({ groupName, ...(requestedParts.length < RUN_PARTS.length ? { parts: requestedParts } : {}) });
  const groupRuns = await Promise.all(
    groups.map(({ groupName }) =>
      startExecution(clients.sfn, requireStateMachine(settings), groupRunName(execution.executionArn, groupName), {
        groupName,
        input: input(groupName),
      }),
    ),
  );
  return { requestedParts, groupRuns };
}

function requireStateMachine(settings: ServiceSettings): string {
  if (!settings.stateMachineArn) throw new TypeError('STATE_MACHINE_ARN is not set; the deployment sets it');
  return settings.stateMachineArn;
}

/** The plan of a stack found in CloudFormation (all-groups mode). */
export function planOfStack(stack: CloneSquadStack, settings: ServiceSettings): GroupPlan {
  const { skipReason, warning } = coexistence(stack.stackName, stack.parameters.MetadataAndBackupS3Path, settings);
  return {
    groupName: stack.groupName,
    stackName: stack.stackName,
    tables: stack.tables,
    timeZone: groupTimeZone({
      region: settings.region,
      stackTimeZone: stack.parameters.TimeZone,
      override: settings.timeZone,
    }),
    ...(skipReason ? { skipReason } : {}),
    ...(warning ? { warnings: [warning] } : {}),
  };
}

/**
 * The plan of a single-group deployment's group: the stack and tables its parameters name. A missing stack is
 * a warning, not a failure (the backups and the other exports still run; discovery says the same).
 */
export async function planGroup(cloudformation: CloudFormationClient, settings: ServiceSettings): Promise<GroupPlan> {
  const stackName = settings.cloneSquadStackName!;
  const plan: GroupPlan = {
    groupName: settings.groupName!,
    stackName,
    tables: settings.tables!,
    timeZone: groupTimeZone({ region: settings.region, override: settings.timeZone }),
  };
  let parameters: Record<string, string | undefined>;
  try {
    const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    parameters = Object.fromEntries((stack?.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
  } catch (error) {
    const { name, message } = describeError(error);
    if (name !== 'ValidationError' || !/does not exist/i.test(message)) throw error;
    return {
      ...plan,
      warnings: [
        `CloneSquad stack ${quoteInput(stackName)} does not exist in ${settings.region}: localcron() values are read ` +
          `in ${plan.timeZone}. Fix: deploy with CloneSquadStackName set to the stack of group ${plan.groupName}`,
      ],
    };
  }
  const { skipReason, warning } = coexistence(stackName, parameters.MetadataAndBackupS3Path, settings);
  return {
    ...plan,
    timeZone: groupTimeZone({
      region: settings.region,
      stackTimeZone: parameters.TimeZone,
      override: settings.timeZone,
    }),
    ...(skipReason ? { skipReason } : {}),
    ...(warning ? { warnings: [warning] } : {}),
  };
}

/**
 * Whether CloneSquad's own export (its stack's `MetadataAndBackupS3Path`) writes where this service
 * does: then it already writes these very keys, and two writers would undo each other's sweeps, so
 * the group is left to it. Elsewhere, both export (a warning: usually a migration half done).
 */
export function coexistence(
  stackName: string,
  stackPath: string | undefined,
  settings: Pick<ServiceSettings, 'destination'>,
): { skipReason?: string; warning?: string } {
  const raw = stackPath?.trim() ?? '';
  // CloneSquad's own default is "None": the feature is off.
  if (raw === '' || raw === 'None' || !settings.destination) return {};
  let theirs: S3Location | null;
  try {
    theirs = parseS3Path(raw);
  } catch {
    return {};
  }
  if (!theirs) return {};
  const ours = settings.destination;
  const parameter = `stack ${stackName}'s MetadataAndBackupS3Path`;
  if (theirs.bucket === ours.bucket && theirs.prefix === ours.prefix) {
    return {
      skipReason:
        `CloneSquad's own export writes these keys (${parameter} is ${formatS3Path(theirs)}, this service's location). ` +
        'Fix: to hand the group over to this service, set that parameter to None (or empty)',
    };
  }
  return {
    warning:
      `CloneSquad's own export also runs, to ${formatS3Path(theirs)} (${parameter}). ` +
      'Fix: once this service serves the group, set that parameter to None to stop the second copy',
  };
}
