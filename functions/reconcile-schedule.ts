import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { clientSettings } from '#shared/aws/clients';
import { reconcileSchedule } from '#shared/schedule/backup-schedule';
import { currentDeployment } from '#shared/run/deployment-cache';
import { boundedPart, type PartResult } from '#shared/run/summary';

const clients = { dynamodb: new DynamoDBClient(clientSettings()), scheduler: new SchedulerClient(clientSettings()) };

/**
 * Event: the workflow's `{}`, or a batch of the Configuration table's stream records (filtered to the
 * `backup.cron` row; the row is read again, so only the latest value counts). Answers the `schedule`
 * part; an invalid value is a failed part, never an exception, so the stream does not retry it.
 */
export async function handler(_event: unknown): Promise<PartResult> {
  const deployment = currentDeployment();
  return boundedPart(
    await reconcileSchedule(clients, {
      scheduleName: deployment.scheduleName,
      configurationTable: deployment.tables.configuration,
      timeZone: deployment.timeZone,
    }),
  );
}
