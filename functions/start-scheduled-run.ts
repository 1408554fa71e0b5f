import { SFNClient } from '@aws-sdk/client-sfn';
import { clientSettings } from '#shared/aws/clients';
import { currentDeployment } from '#shared/run/deployment-cache';
import { isString, requireField } from '#shared/aws/handler-input';
import { startScheduledRun, type ScheduledStart } from '#shared/schedule/scheduled-run';

const sfn = new SFNClient(clientSettings());

/** Event: `{ scheduledTime }`, the schedule slot (`<aws.scheduler.scheduled-time>`). */
export async function handler(event: unknown): Promise<ScheduledStart> {
  const scheduledTime = requireField(event, 'scheduledTime', isString, 'an ISO-8601 time');
  const stateMachineArn = currentDeployment().stateMachineArn;
  if (!stateMachineArn) throw new TypeError('STATE_MACHINE_ARN is not set; serverless.yml sets it');
  return startScheduledRun(sfn, stateMachineArn, scheduledTime);
}
