import { withLambdaContext } from '#shared/aws/log';
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientSettings, clientsPerRegion } from '#shared/aws/clients';
import { isString, requireField } from '#shared/aws/handler-input';
import { currentSettings } from '#shared/run/deployment-cache';
import { startScheduledRun, type ScheduledStart } from '#shared/schedule/scheduled-run';

const sfn = clientsPerRegion(() => new SFNClient(clientSettings()));

/** Event: `{ scheduledTime, groupName }`, the slot (`<aws.scheduler.scheduled-time>`) of a group's schedule. */
export const handler = withLambdaContext(async (event: unknown): Promise<ScheduledStart> => {
  const scheduledTime = requireField(event, 'scheduledTime', isString, 'an ISO-8601 time');
  const groupName = requireField(event, 'groupName', isString, "the group's name");
  const stateMachineArn = currentSettings().stateMachineArn;
  if (!stateMachineArn) throw new TypeError('STATE_MACHINE_ARN is not set; the deployment sets it');
  return startScheduledRun(sfn(), stateMachineArn, { scheduledTime, groupName });
});
