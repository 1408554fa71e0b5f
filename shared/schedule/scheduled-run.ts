/**
 * Starts the execution of one schedule slot. EventBridge Scheduler delivers at least once (and
 * retries), so the execution is named after the slot: Step Functions refuses a second execution of
 * the same name, and a slot never runs twice. The name cannot be built by Scheduler itself: its
 * `<aws.scheduler.scheduled-time>` holds colons, which execution names do not allow.
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { log } from '#shared/aws/log';
import { quoteInput } from '#shared/aws/errors';

/** The execution input of a scheduled run: everything (see run-request.ts). */
export const SCHEDULED_INPUT = '{}';

/**
 * `scheduled-YYYYMMDDTHHMMSSZ` for the slot's UTC time (letters, digits and `-` only, as
 * CloudWatch Logs wants execution names).
 *
 * @example
 * scheduledExecutionName('2024-03-31T00:00:00Z'); // 'scheduled-20240331T000000Z'
 */
export function scheduledExecutionName(scheduledTime: string): string {
  const time = new Date(scheduledTime);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(scheduledTime) || Number.isNaN(time.getTime())) {
    throw new TypeError(
      `scheduledTime must be an ISO-8601 time such as 2024-03-31T00:00:00Z; got ${quoteInput(scheduledTime)}. ` +
        'The schedule target passes <aws.scheduler.scheduled-time>.',
    );
  }
  return `scheduled-${time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;
}

export interface ScheduledStart {
  executionName: string;
  executionArn: string;
  /** The slot had been started already (a repeated delivery); nothing new was started. */
  alreadyStarted: boolean;
}

export async function startScheduledRun(
  sfn: SFNClient,
  stateMachineArn: string,
  scheduledTime: string,
): Promise<ScheduledStart> {
  const executionName = scheduledExecutionName(scheduledTime);
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
  try {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: executionName, input: SCHEDULED_INPUT }),
    );
    log('info', `started ${executionName} for the slot ${scheduledTime}`, { executionArn: started.executionArn });
    return { executionName, executionArn: started.executionArn ?? executionArn, alreadyStarted: false };
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    log('info', `the slot ${scheduledTime} was started already (${executionName}); not started again`, {
      executionArn,
    });
    return { executionName, executionArn, alreadyStarted: true };
  }
}
