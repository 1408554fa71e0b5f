/**
 * Each group's backup schedule: one EventBridge Scheduler schedule per group, named after the group,
 * in the deployment's own schedule group (deleting the stack deletes them all). Its expression
 * follows the group's effective `backup.cron` (shared/schedule/backup-cron.ts) without a redeploy:
 * the configuration branch of every run applies the value it has just read, and the groups'
 * reconciliation (shared/groups/reconcile.ts) creates the schedule of a new group, applies
 * changes that no run sees (a disabled schedule runs nothing) and deletes the schedule of a group
 * that is gone. An invalid value keeps the current schedule, and the part says why.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  paginateListSchedules,
  ResourceNotFoundException,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type GetScheduleCommandOutput,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { describeError, UserInputError } from '#shared/aws/errors';
import { log } from '#shared/aws/log';
import type { ServiceSettings } from '#shared/run/deployment';
import { failedPart, type PartResult } from '#shared/run/summary';
import {
  BACKUP_CRON_KEY,
  DEFAULT_SCHEDULE_EXPRESSION,
  describeEffectiveBackupCron,
  describeSetting,
  desiredSchedule,
  effectiveBackupCron,
  SCHEDULE_PART,
  upcomingRuns,
  type DesiredSchedule,
  type ScheduleSetting,
} from '#shared/schedule/backup-cron';

/** Where the deployment keeps its groups' schedules, and what they start. */
export interface ScheduleTarget {
  scheduleGroup: string;
  /** The function that starts a slot's execution (shared/schedule/scheduled-run.ts). */
  functionArn: string;
  /** The role Scheduler assumes to invoke it. */
  roleArn: string;
}

/** Where the groups' schedules are, or `undefined` when the feature is off (no schedule group). */
export function scheduleTargetOf(settings: ServiceSettings): ScheduleTarget | undefined {
  if (!settings.scheduleGroup || !settings.scheduledRunFunctionArn || !settings.scheduleRoleArn) return undefined;
  return {
    scheduleGroup: settings.scheduleGroup,
    functionArn: settings.scheduledRunFunctionArn,
    roleArn: settings.scheduleRoleArn,
  };
}

/** The input a group's schedule hands the starting function: the slot, and the group. */
export function scheduleInput(groupName: string): string {
  // <aws.scheduler.scheduled-time> is Scheduler's own placeholder, replaced at each slot.
  return JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>', groupName });
}

/** A Configuration table row, as far as the schedule is concerned. */
export interface ConfigurationRow {
  key: string;
  value: string;
}

function currentSetting(schedule: GetScheduleCommandOutput): ScheduleSetting {
  return {
    expression: schedule.ScheduleExpression ?? '',
    timeZone: schedule.ScheduleExpressionTimezone || 'UTC',
    state: schedule.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
  };
}

async function getSchedule(
  scheduler: SchedulerClient,
  target: ScheduleTarget,
  groupName: string,
): Promise<GetScheduleCommandOutput | undefined> {
  try {
    return await scheduler.send(new GetScheduleCommand({ Name: groupName, GroupName: target.scheduleGroup }));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

function nextRunText(setting: ScheduleSetting, now: Date): string {
  const [next] = upcomingRuns(setting, now, 1);
  return next ? `; next run ${next.toISOString()}` : '';
}

export interface AppliedSchedule {
  /** What the schedule says now. */
  setting: ScheduleSetting;
  /** What it said before, when it changed or was created (`undefined` before creation). */
  before?: ScheduleSetting;
  changed: boolean;
}

/**
 * Makes the group's schedule say what `desired` asks, creating it when it does not exist yet (a
 * disabled value creates it disabled, at the default expression, so that re-enabling it is an
 * update like any other).
 */
export async function applyGroupSchedule(
  scheduler: SchedulerClient,
  target: ScheduleTarget,
  groupName: string,
  desired: DesiredSchedule,
  group: { stackId?: string } = {},
): Promise<AppliedSchedule> {
  const existing = await getSchedule(scheduler, target, groupName);
  const stackId = group.stackId ?? stackIdIn(existing?.Description);
  const description = scheduleDescription(groupName, stackId);
  const current = existing ? currentSetting(existing) : undefined;
  const wanted: ScheduleSetting =
    desired.state === 'DISABLED'
      ? { expression: DEFAULT_SCHEDULE_EXPRESSION, timeZone: 'UTC', ...current, state: 'DISABLED' }
      : desired;
  if (
    current &&
    current.expression === wanted.expression &&
    current.timeZone === wanted.timeZone &&
    current.state === wanted.state &&
    existing?.Description === description
  ) {
    return { setting: current, changed: false };
  }
  const schedule: CreateScheduleCommandInput = {
    Name: groupName,
    GroupName: target.scheduleGroup,
    Description: description,
    ScheduleExpression: wanted.expression,
    ScheduleExpressionTimezone: wanted.timeZone,
    State: wanted.state,
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: target.functionArn,
      RoleArn: target.roleArn,
      Input: scheduleInput(groupName),
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
    },
  };
  if (!existing) {
    try {
      await scheduler.send(new CreateScheduleCommand(schedule));
      return { setting: wanted, changed: true };
    } catch (error) {
      // Another run created it meanwhile: bring it to this value as an update.
      if (!(error instanceof ConflictException)) throw error;
    }
  }
  // UpdateSchedule replaces the whole schedule: what this service does not manage is sent back as it is.
  await scheduler.send(
    new UpdateScheduleCommand({
      ...schedule,
      StartDate: existing?.StartDate,
      EndDate: existing?.EndDate,
      KmsKeyArn: existing?.KmsKeyArn,
      ActionAfterCompletion: existing?.ActionAfterCompletion,
    }),
  );
  return { setting: wanted, before: current, changed: true };
}

/**
 * The `schedule` part of a run: the group's schedule made to follow its effective `backup.cron`,
 * read from the rows the configuration branch has just read. An invalid value keeps the schedule as
 * it is and fails the part, saying why.
 */
export async function reconcileGroupSchedule(
  scheduler: SchedulerClient,
  target: ScheduleTarget | undefined,
  group: { groupName: string; timeZone: string },
  rows: readonly ConfigurationRow[],
  now = new Date(),
): Promise<PartResult> {
  if (!target) {
    return {
      part: SCHEDULE_PART,
      status: 'skipped',
      reason: 'no schedule is deployed (MetadataAndBackupS3Path is empty)',
    };
  }
  const effective = effectiveBackupCron(rows);
  const source = describeEffectiveBackupCron(effective);
  let desired: DesiredSchedule;
  try {
    desired = desiredSchedule(effective.value, group.timeZone, now, effective.key ?? BACKUP_CRON_KEY);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    const existing = await getSchedule(scheduler, target, group.groupName);
    const kept = existing
      ? `The schedule is kept as it is: ${describeSetting(currentSetting(existing))}.`
      : 'The group has no schedule yet; it gets one once the value is valid.';
    const result = {
      ...failedPart(SCHEDULE_PART, error),
      error: { ...describeError(error), message: `${error.message}. ${kept}` },
    };
    log('error', result.error.message, { part: SCHEDULE_PART, groupName: group.groupName });
    return result;
  }
  const applied = await applyGroupSchedule(scheduler, target, group.groupName, desired);
  const reason = applied.changed
    ? `${source}: the schedule is now ${describeSetting(applied.setting)}` +
      (applied.before ? ` (was ${describeSetting(applied.before)})` : ' (created)') +
      nextRunText(applied.setting, now)
    : `${source}: the schedule is already ${describeSetting(applied.setting)}${nextRunText(applied.setting, now)}`;
  log('info', reason, { part: SCHEDULE_PART, groupName: group.groupName });
  return { part: SCHEDULE_PART, status: 'ok', reason };
}

/**
 * A schedule's description, which also records the group's stack id: the groups' reconciliation
 * tells a deleted group's schedule by it (stack ids are never reused, names are).
 */
function scheduleDescription(groupName: string, stackId: string | undefined): string {
  const stack = stackId ? ` (stack ${stackId})` : '';
  return `Backups and CMDB export of CloneSquad group ${groupName}${stack}; follows its ${BACKUP_CRON_KEY}`;
}

function stackIdIn(description: string | undefined): string | undefined {
  return /\(stack (arn:[^)\s]+)\)/.exec(description ?? '')?.[1];
}

/** The stack id a group's schedule recorded, if it has a schedule that recorded one. */
export async function recordedStackId(
  scheduler: SchedulerClient,
  target: ScheduleTarget,
  groupName: string,
): Promise<string | undefined> {
  return stackIdIn((await getSchedule(scheduler, target, groupName))?.Description);
}

/** The names of the groups that have a schedule in the deployment's schedule group. */
export async function scheduledGroups(scheduler: SchedulerClient, target: ScheduleTarget): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListSchedules({ client: scheduler }, { GroupName: target.scheduleGroup })) {
    for (const schedule of page.Schedules ?? []) if (schedule.Name) names.push(schedule.Name);
  }
  return names.sort();
}

/** Deletes a group's schedule; one already gone is fine. */
export async function deleteGroupSchedule(
  scheduler: SchedulerClient,
  target: ScheduleTarget,
  groupName: string,
): Promise<void> {
  try {
    await scheduler.send(new DeleteScheduleCommand({ Name: groupName, GroupName: target.scheduleGroup }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}
