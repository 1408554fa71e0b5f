import { withLambdaContext } from '#shared/aws/log';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { clientSettings, clientsPerRegion, s3ClientSettings } from '#shared/aws/clients';
import { isOneOf, requireField } from '#shared/aws/handler-input';
import { BACKUP_TABLES } from '#shared/aws/s3-layout';
import { exportTable } from '#shared/backup/table-export';
import { currentSettings } from '#shared/run/deployment-cache';
import { groupTask, skippedParts } from '#shared/run/group-plan';
import { boundedParts, type PartResult } from '#shared/run/summary';
import { SCHEDULE_PART } from '#shared/schedule/backup-cron';
import { reconcileGroupSchedule, scheduleTargetOf } from '#shared/schedule/backup-schedule';

const clients = clientsPerRegion(() => ({
  dynamodb: new DynamoDBClient(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
  scheduler: new SchedulerClient(clientSettings()),
}));

/**
 * Event: `{ table: "configuration" | "scheduler", group, executionStartTime, requestedParts? }`.
 * Answers the table's backup and metadata parts; the Configuration table's branch also answers the
 * `schedule` part, the group's schedule made to follow the `backup.cron` it has just read.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<PartResult[]> => {
  const table = requireField(event, 'table', isOneOf(BACKUP_TABLES), 'one of ' + BACKUP_TABLES.join(', '));
  const settings = currentSettings();
  const task = groupTask(event, settings);
  const parts = [`backup/${table}`, `metadata/${table}`];
  const withSchedule = table === 'configuration';
  const skipped = skippedParts(task, withSchedule ? [...parts, SCHEDULE_PART] : parts);
  if (skipped) return skipped;
  const target = scheduleTargetOf(settings);
  const result = await exportTable(clients(), task.deployment, {
    table,
    executionStartTime: task.executionStartTime,
    write: { backup: task.requested(parts[0]), metadata: task.requested(parts[1]) },
    ...(withSchedule
      ? {
          fromRows: {
            part: SCHEDULE_PART,
            run: (rows) => reconcileGroupSchedule(clients().scheduler, target, task.group, rows),
          },
        }
      : {}),
  });
  return boundedParts(result);
});
