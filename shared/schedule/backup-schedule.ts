/**
 * The backup schedule (SPEC §8): an EventBridge Scheduler schedule, hourly by default, that the
 * Configuration-table key `backup.cron` changes without a redeploy (shared/backup-cron.ts). The key
 * is read strongly consistently and the schedule is updated only when it differs; an invalid value
 * keeps the current schedule and the result says why. Run by every execution and on every change of
 * the key (the table's stream, filtered to that key).
 */
import { GetItemCommand, ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetScheduleCommand,
  ResourceNotFoundException as ScheduleNotFoundException,
  UpdateScheduleCommand,
  type GetScheduleCommandOutput,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { describeError, quoteInput, UserInputError } from '#shared/aws/errors';
import { log } from '#shared/aws/log';
import {
  BACKUP_CRON_KEY,
  describeSetting,
  desiredSchedule,
  SCHEDULE_GROUP,
  SCHEDULE_PART,
  upcomingRuns,
  type DesiredSchedule,
  type ScheduleSetting,
} from '#shared/schedule/backup-cron';
import { failedPart, skippedPart, type PartResult } from '#shared/run/summary';

export interface ScheduleClients {
  dynamodb: DynamoDBClient;
  scheduler: SchedulerClient;
}

export interface ScheduleTarget {
  /** The schedule's name; empty when the deployment has none (MetadataAndBackupS3Path empty). */
  scheduleName?: string;
  configurationTable: string;
  /** The deployment's `TimeZone`, for `localcron()`. */
  timeZone: string;
}

function currentSetting(schedule: GetScheduleCommandOutput): ScheduleSetting {
  return {
    expression: schedule.ScheduleExpression ?? '',
    timeZone: schedule.ScheduleExpressionTimezone || 'UTC',
    state: schedule.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
  };
}

/** `backup.cron`'s value, or `undefined` when the row is absent or expired (TTL deletes lazily). */
async function readBackupCron(dynamodb: DynamoDBClient, table: string, now: Date): Promise<string | undefined> {
  let item;
  try {
    ({ Item: item } = await dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { Key: { S: BACKUP_CRON_KEY } }, ConsistentRead: true }),
    ));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) {
      throw new UserInputError(
        `ConfigurationTable ${quoteInput(table)}`,
        'no DynamoDB table of that name exists in this account and region',
        'check that the CloneSquad deployment exists here, or redeploy with ConfigurationTable set to its table name',
      );
    }
    throw error;
  }
  if (!item) return undefined;
  const expiration = Number(item.ExpirationTime?.N);
  if (Number.isFinite(expiration) && expiration < now.getTime() / 1000) return undefined;
  if (item.Value?.S === undefined) {
    throw new UserInputError(
      BACKUP_CRON_KEY,
      `its value is ${item.Value ? `a ${Object.keys(item.Value)[0]} value` : 'missing'}, not a string`,
      'write it again as a string (DynamoDB type S)',
    );
  }
  return item.Value.S;
}

function nextRunText(setting: ScheduleSetting, now: Date): string {
  const [next] = upcomingRuns(setting, now, 1);
  return next ? `; next run ${next.toISOString()}` : '';
}

/**
 * Makes the schedule say what `backup.cron` asks for, and answers the `schedule` part: `ok` (with
 * what it found or changed), `failed` (an invalid value or a missing table or schedule: the
 * schedule is left as it is, and the error says why), or `skipped` (no schedule is deployed).
 */
export async function reconcileSchedule(
  clients: ScheduleClients,
  target: ScheduleTarget,
  now = new Date(),
): Promise<PartResult> {
  if (!target.scheduleName) {
    return skippedPart(SCHEDULE_PART, 'no schedule is deployed (MetadataAndBackupS3Path is empty)');
  }
  let value: string | undefined;
  let schedule: GetScheduleCommandOutput;
  try {
    [value, schedule] = await Promise.all([
      readBackupCron(clients.dynamodb, target.configurationTable, now),
      getSchedule(clients.scheduler, target.scheduleName),
    ]);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    log('error', `${SCHEDULE_PART}: ${error.message}`, { part: SCHEDULE_PART });
    return failedPart(SCHEDULE_PART, error);
  }
  const current = currentSetting(schedule);
  const source = value === undefined ? `${BACKUP_CRON_KEY} not set` : `${BACKUP_CRON_KEY} ${quoteInput(value)}`;
  let desired: DesiredSchedule;
  try {
    desired = desiredSchedule(value, target.timeZone, now);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    const kept = `The schedule is kept as it is: ${describeSetting(current)}.`;
    const result = {
      ...failedPart(SCHEDULE_PART, error),
      error: { ...describeError(error), message: `${error.message}. ${kept}` },
    };
    log('error', result.error.message, { part: SCHEDULE_PART });
    return result;
  }
  const wanted: ScheduleSetting = desired.state === 'DISABLED' ? { ...current, state: 'DISABLED' } : desired;
  if (
    wanted.expression === current.expression &&
    wanted.timeZone === current.timeZone &&
    wanted.state === current.state
  ) {
    const reason = `${source}: the schedule is already ${describeSetting(current)}${nextRunText(current, now)}`;
    log('info', reason, { part: SCHEDULE_PART });
    return { part: SCHEDULE_PART, status: 'ok', reason };
  }
  await clients.scheduler.send(
    new UpdateScheduleCommand({
      // UpdateSchedule replaces the whole schedule: everything but the three settings is sent back as it is.
      Name: target.scheduleName,
      GroupName: SCHEDULE_GROUP,
      ScheduleExpression: wanted.expression,
      ScheduleExpressionTimezone: wanted.timeZone,
      State: wanted.state,
      FlexibleTimeWindow: schedule.FlexibleTimeWindow ?? { Mode: 'OFF' },
      Target: schedule.Target,
      Description: schedule.Description,
      StartDate: schedule.StartDate,
      EndDate: schedule.EndDate,
      KmsKeyArn: schedule.KmsKeyArn,
      ActionAfterCompletion: schedule.ActionAfterCompletion,
    }),
  );
  const reason =
    `${source}: the schedule is now ${describeSetting(wanted)} (was ${describeSetting(current)})` +
    nextRunText(wanted, now);
  log('info', reason, { part: SCHEDULE_PART });
  return { part: SCHEDULE_PART, status: 'ok', reason };
}

async function getSchedule(scheduler: SchedulerClient, name: string): Promise<GetScheduleCommandOutput> {
  try {
    return await scheduler.send(new GetScheduleCommand({ Name: name, GroupName: SCHEDULE_GROUP }));
  } catch (error) {
    if (error instanceof ScheduleNotFoundException) {
      throw new UserInputError(
        `schedule ${quoteInput(name)}`,
        `it does not exist in the ${SCHEDULE_GROUP} schedule group of this account and region`,
        'redeploy the service, which creates it',
      );
    }
    throw error;
  }
}
