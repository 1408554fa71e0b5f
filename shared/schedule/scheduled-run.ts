/**
 * Starts the execution of one group's schedule slot. EventBridge Scheduler delivers at least once
 * (and retries), so the execution is named after the slot and the group: Step Functions refuses a
 * second execution of the same name, and a slot never runs twice. The name cannot be built by
 * Scheduler itself: its `<aws.scheduler.scheduled-time>` holds colons, which execution names refuse.
 */
import { createHash } from 'node:crypto';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { quoteInput } from '#shared/aws/errors';
import { log } from '#shared/aws/log';
import { executionNameSafe, startExecution, type StartedExecution } from '#shared/aws/executions';

/** Longest execution name Step Functions takes. */
const MAX_EXECUTION_NAME = 80;

/**
 * `scheduled-YYYYMMDDTHHMMSSZ-GROUP` for the slot's UTC time (letters, digits, `-` and `_` only, as
 * CloudWatch Logs wants execution names). A group name too long to fit is cut and followed by a hash
 * of it, so two groups never share a name.
 *
 * @example
 * scheduledExecutionName('2024-03-31T00:00:00Z', 'web'); // 'scheduled-20240331T000000Z-web'
 */
export function scheduledExecutionName(scheduledTime: string, groupName: string): string {
  const time = new Date(scheduledTime);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(scheduledTime) || Number.isNaN(time.getTime())) {
    throw new TypeError(
      `scheduledTime must be an ISO-8601 time such as 2024-03-31T00:00:00Z; got ${quoteInput(scheduledTime)}. ` +
        'The schedule target passes <aws.scheduler.scheduled-time>.',
    );
  }
  const slot = `scheduled-${time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-`;
  const room = MAX_EXECUTION_NAME - slot.length;
  const group = executionNameSafe(groupName, Number.MAX_SAFE_INTEGER);
  if (group.length <= room && group === groupName) return `${slot}${group}`;
  const hash = createHash('sha256').update(groupName).digest('hex').slice(0, 8);
  return `${slot}${group.slice(0, room - hash.length - 1)}-${hash}`;
}

export type ScheduledStart = StartedExecution;

/** Starts the slot's execution for the group, or finds it started already (a repeated delivery). */
export async function startScheduledRun(
  sfn: SFNClient,
  stateMachineArn: string,
  slot: { scheduledTime: string; groupName: string },
): Promise<ScheduledStart> {
  const executionName = scheduledExecutionName(slot.scheduledTime, slot.groupName);
  const started = await startExecution(sfn, stateMachineArn, executionName, {
    groupName: slot.groupName,
    input: JSON.stringify({ groupName: slot.groupName }),
  });
  log(
    'info',
    started.alreadyStarted
      ? `the slot ${slot.scheduledTime} of group ${slot.groupName} was started already (${executionName}); not started again`
      : `started ${executionName} for group ${slot.groupName}, slot ${slot.scheduledTime}`,
    { executionArn: started.executionArn },
  );
  return started;
}
