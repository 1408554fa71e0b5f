/**
 * The backup schedule (SPEC §8): `backup.cron` values checked with EventBridge's rules, and the
 * reconciliation against the emulator's EventBridge Scheduler and DynamoDB: create, update,
 * disable, invalid (kept, with the reason), localcron in Europe/Paris across both DST changes.
 */
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateScheduleCommand,
  GetScheduleCommand,
  SchedulerClient,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { expect } from 'chai';
import { BACKUP_CRON_FILTER, SCHEDULE_TARGET_INPUT } from '#infra/triggers';
import {
  BACKUP_CRON_KEY,
  DEFAULT_SCHEDULE_EXPRESSION,
  desiredSchedule,
  SCHEDULE_GROUP,
  upcomingRuns,
} from '#shared/schedule/backup-cron';
import { reconcileSchedule, type ScheduleTarget } from '#shared/schedule/backup-schedule';
import { clientSettings } from '#shared/aws/clients';
import { UserInputError } from '#shared/aws/errors';
import { emulatorClients, uniqueName } from '#test/support/aws';
import { createTable } from '#test/support/backup-fixtures';

const NOW = new Date('2024-03-20T10:17:00Z');

function refusal(value: string, timeZone = 'UTC'): string {
  try {
    desiredSchedule(value, timeZone, NOW);
  } catch (error) {
    expect(error).to.be.instanceOf(UserInputError);
    return (error as Error).message;
  }
  throw new Error(`${value} was accepted`);
}

/** Local wall-clock time of `instant` in `timeZone`, as `YYYY-MM-DD HH:MM`. */
function localTime(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(instant);
}

describe('backup.cron values (shared/backup-cron.ts)', () => {
  it('reads absent, empty and blank as the hourly default in UTC', () => {
    for (const value of [undefined, '', '  ']) {
      expect(desiredSchedule(value, 'Europe/Paris', NOW)).to.deep.equal({
        expression: 'cron(0 * * * ? *)',
        timeZone: 'UTC',
        state: 'ENABLED',
      });
    }
    expect(DEFAULT_SCHEDULE_EXPRESSION).to.equal('cron(0 * * * ? *)');
  });

  it('reads cron() in UTC and localcron() in the deployment time zone, white space normalised', () => {
    expect(desiredSchedule(' cron(15  3 ? * MON-FRI *) ', 'Europe/Paris', NOW)).to.deep.equal({
      expression: 'cron(15 3 ? * MON-FRI *)',
      timeZone: 'UTC',
      state: 'ENABLED',
    });
    expect(desiredSchedule('localcron(0 2 * * ? *)', 'Europe/Paris', NOW)).to.deep.equal({
      expression: 'cron(0 2 * * ? *)',
      timeZone: 'Europe/Paris',
      state: 'ENABLED',
    });
    expect(desiredSchedule('disabled', 'UTC', NOW)).to.deep.equal({ state: 'DISABLED' });
    expect(desiredSchedule('Disabled', 'UTC', NOW)).to.deep.equal({ state: 'DISABLED' });
  });

  it('refuses what EventBridge Scheduler would refuse, naming the value, the problem and the fix', () => {
    expect(refusal('cron(0 * * * *)')).to.match(/^backup\.cron "cron\(0 \* \* \* \*\)": it has 5 fields; EventBridge/);
    expect(refusal('cron(0 0 * * * * *)')).to.match(/it has 7 fields/);
    expect(refusal('cron(0 * * * * *)')).to.match(/exactly one of day-of-month .* must be "\?"/);
    expect(refusal('cron(0 * ? * ? *)')).to.match(/exactly one of day-of-month/);
    expect(refusal('cron(0 25 * * ? *)')).to.match(/^backup\.cron "cron\(0 25 \* \* \? \*\)": cron-parser refuses it/);
    expect(refusal('cron(0 2 ? * FUNDAY *)')).to.match(/day-of-week "FUNDAY" is not 1–7 or SUN–SAT/);
    expect(refusal('every hour')).to.match(/it is not cron\(…\), localcron\(…\), rate\(…\) or disabled/);
    expect(refusal('0 * * * ? *')).to.match(/it is not cron\(…\)/);
    expect(refusal('cron(0 0 1 1 ? 2020)')).to.match(/it never runs after 2024-03-20T10:17:00\.000Z/);
    for (const value of ['cron(0 * * * *)', 'rate(1 hours)']) {
      expect(refusal(value)).to.match(/Fix: set backup\.cron to cron\(…\) in UTC or localcron\(…\) .* or disabled/);
    }
  });

  it('keeps 02:00 local for localcron(0 2 * * ? *) in Europe/Paris across both DST changes', () => {
    // Prepare: the setting localcron() gives; spring forward is 2024-03-31 02:00 → 03:00, fall back 2024-10-27 03:00 → 02:00
    const setting = desiredSchedule('localcron(0 2 * * ? *)', 'Europe/Paris', NOW);
    expect(setting).to.deep.equal({ expression: 'cron(0 2 * * ? *)', timeZone: 'Europe/Paris', state: 'ENABLED' });

    // Act
    const spring = upcomingRuns(setting as never, new Date('2024-03-29T12:00:00Z'), 4);
    const autumn = upcomingRuns(setting as never, new Date('2024-10-25T12:00:00Z'), 4);

    // Assess: the UTC instants move by an hour, the local time does not; 02:00 does not exist on the
    // 31st of March (EventBridge Scheduler skips it) and exists twice on the 27th of October (it runs once)
    expect(spring.map((run) => run.toISOString())).to.deep.equal([
      '2024-03-30T01:00:00.000Z',
      '2024-04-01T00:00:00.000Z',
      '2024-04-02T00:00:00.000Z',
      '2024-04-03T00:00:00.000Z',
    ]);
    expect(autumn.map((run) => run.toISOString())).to.deep.equal([
      '2024-10-26T00:00:00.000Z',
      '2024-10-27T00:00:00.000Z',
      '2024-10-28T01:00:00.000Z',
      '2024-10-29T01:00:00.000Z',
    ]);
    for (const run of [...spring, ...autumn]) expect(localTime(run, 'Europe/Paris')).to.match(/ 02:00$/);
  });
});

describe('the backup.cron stream filter', () => {
  /** Lambda event filtering for this pattern's shape: every leaf array lists the accepted values. */
  function matches(pattern: unknown, event: unknown): boolean {
    if (Array.isArray(pattern)) return pattern.includes(event);
    if (typeof pattern !== 'object' || pattern === null || typeof event !== 'object' || event === null) return false;
    return Object.entries(pattern).every(([key, value]) => matches(value, (event as Record<string, unknown>)[key]));
  }
  const record = (key: string) => ({
    eventName: 'MODIFY',
    dynamodb: { Keys: { Key: { S: key } }, NewImage: { Key: { S: key }, Value: { S: 'disabled' } } },
  });

  it('lets only records of the backup.cron row through', () => {
    const pattern = JSON.parse(BACKUP_CRON_FILTER);
    expect(pattern).to.deep.equal({ dynamodb: { Keys: { Key: { S: ['backup.cron'] } } } });
    expect(matches(pattern, record('backup.cron'))).to.equal(true);
    expect(matches(pattern, record('ec2.schedule.min_instance_count'))).to.equal(false);
    expect(matches(pattern, record('[nightly]backup.cron'))).to.equal(false);
  });
});

describe('reconcileSchedule against the emulator (EventBridge Scheduler, DynamoDB)', () => {
  const { dynamodb } = emulatorClients();
  const scheduler = new SchedulerClient(clientSettings());
  const clients = { dynamodb, scheduler };
  const TARGET = {
    Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:CloneSquad-test-startScheduledRun',
    RoleArn: 'arn:aws:iam::123456789012:role/test-schedule-role',
    Input: SCHEDULE_TARGET_INPUT,
    RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
  };
  let target: ScheduleTarget;

  async function setBackupCron(value: string | undefined, expirationTime?: number): Promise<void> {
    if (value === undefined) {
      await dynamodb.send(
        new DeleteItemCommand({ TableName: target.configurationTable, Key: { Key: { S: BACKUP_CRON_KEY } } }),
      );
      return;
    }
    await dynamodb.send(
      new PutItemCommand({
        TableName: target.configurationTable,
        Item: {
          Key: { S: BACKUP_CRON_KEY },
          Value: { S: value },
          ...(expirationTime !== undefined ? { ExpirationTime: { N: String(expirationTime) } } : {}),
        },
      }),
    );
  }

  async function schedule() {
    const found = await scheduler.send(
      new GetScheduleCommand({ Name: target.scheduleName, GroupName: SCHEDULE_GROUP }),
    );
    return {
      expression: found.ScheduleExpression,
      timeZone: found.ScheduleExpressionTimezone,
      state: found.State,
      target: found.Target,
      flexibleTimeWindow: found.FlexibleTimeWindow,
      description: found.Description,
      modified: found.LastModificationDate?.getTime(),
    };
  }

  beforeEach(async () => {
    // Prepare: a Configuration table with other keys, and the schedule as the stack creates it
    const configurationTable = await createTable(dynamodb, [
      { Key: { S: 'ec2.schedule.min_instance_count' }, Value: { S: '2' } },
    ]);
    const scheduleName = uniqueName('CloneSquad-test-BackupCmdb');
    const created: CreateScheduleCommandInput = {
      Name: scheduleName,
      GroupName: SCHEDULE_GROUP,
      Description: 'the stack default',
      ScheduleExpression: DEFAULT_SCHEDULE_EXPRESSION,
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: TARGET,
    };
    await scheduler.send(new CreateScheduleCommand(created));
    target = { scheduleName, configurationTable, timeZone: 'Europe/Paris' };
  });

  it('leaves the hourly default alone while backup.cron is absent', async () => {
    const before = await schedule();
    const part = await reconcileSchedule(clients, target, NOW);
    expect(part).to.deep.equal({
      part: 'schedule',
      status: 'ok',
      reason:
        'backup.cron not set: the schedule is already cron(0 * * * ? *) in UTC, enabled; next run 2024-03-20T11:00:00.000Z',
    });
    expect(await schedule()).to.deep.equal(before);
  });

  it('applies a cron() value, then a changed one, keeping the target and the rest of the schedule', async () => {
    // Act
    await setBackupCron('cron(30 3 * * ? *)');
    const created = await reconcileSchedule(clients, target, NOW);
    const first = await schedule();
    await setBackupCron('cron(0 */6 * * ? *)');
    const updated = await reconcileSchedule(clients, target, NOW);
    const second = await schedule();

    // Assess
    expect(created.status).to.equal('ok');
    expect(created.reason).to.equal(
      'backup.cron "cron(30 3 * * ? *)": the schedule is now cron(30 3 * * ? *) in UTC, enabled ' +
        '(was cron(0 * * * ? *) in UTC, enabled); next run 2024-03-21T03:30:00.000Z',
    );
    expect(first).to.include({ expression: 'cron(30 3 * * ? *)', timeZone: 'UTC', state: 'ENABLED' });
    expect(updated.reason).to.match(/now cron\(0 \*\/6 \* \* \? \*\) in UTC, enabled \(was cron\(30 3/);
    expect(second).to.include({ expression: 'cron(0 */6 * * ? *)', timeZone: 'UTC', state: 'ENABLED' });
    expect(second.target).to.deep.equal(TARGET);
    expect(second.flexibleTimeWindow).to.deep.equal({ Mode: 'OFF' });
    expect(second.description).to.equal('the stack default');
  });

  it('does not update a schedule that already says what backup.cron asks', async () => {
    await setBackupCron('cron(30 3 * * ? *)');
    await reconcileSchedule(clients, target, NOW);
    const applied = await schedule();
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const again = await reconcileSchedule(clients, target, NOW);

    expect(again.reason).to.match(/: the schedule is already cron\(30 3 \* \* \? \*\) in UTC, enabled/);
    expect((await schedule()).modified).to.equal(applied.modified);
  });

  it('disables the schedule for "disabled", keeping its expression, and enables it again', async () => {
    await setBackupCron('localcron(0 2 * * ? *)');
    await reconcileSchedule(clients, target, NOW);

    await setBackupCron('disabled');
    const disabled = await reconcileSchedule(clients, target, NOW);
    const off = await schedule();
    await setBackupCron(undefined);
    const back = await reconcileSchedule(clients, target, NOW);

    expect(disabled.reason).to.equal(
      'backup.cron "disabled": the schedule is now cron(0 2 * * ? *) in Europe/Paris, disabled ' +
        '(was cron(0 2 * * ? *) in Europe/Paris, enabled)',
    );
    expect(off).to.include({ expression: 'cron(0 2 * * ? *)', timeZone: 'Europe/Paris', state: 'DISABLED' });
    expect(back.reason).to.match(/^backup\.cron not set: the schedule is now cron\(0 \* \* \* \? \*\) in UTC, enabled/);
    expect(await schedule()).to.include({ expression: DEFAULT_SCHEDULE_EXPRESSION, timeZone: 'UTC', state: 'ENABLED' });
  });

  it('keeps the current schedule for an invalid value and says why', async () => {
    await setBackupCron('cron(0 6 * * ? *)');
    await reconcileSchedule(clients, target, NOW);
    const before = await schedule();

    await setBackupCron('cron(0 6 * * *)');
    const part = await reconcileSchedule(clients, target, NOW);

    expect(part.status).to.equal('failed');
    expect(part.error?.name).to.equal('UserInputError');
    expect(part.error?.message).to.match(/^backup\.cron "cron\(0 6 \* \* \*\)": it has 5 fields; EventBridge/);
    expect(part.error?.message).to.match(/The schedule is kept as it is: cron\(0 6 \* \* \? \*\) in UTC, enabled\.$/);
    expect(await schedule()).to.deep.equal(before);
  });

  it('sets localcron() as the expression with the deployment time zone, not as a converted UTC time', async () => {
    await setBackupCron('localcron(0 2 * * ? *)');

    const part = await reconcileSchedule(clients, target, NOW);

    expect(await schedule()).to.include({
      expression: 'cron(0 2 * * ? *)',
      timeZone: 'Europe/Paris',
      state: 'ENABLED',
    });
    // The next run is 02:00 in Paris (UTC+1 before the 31st of March).
    expect(part.reason).to.match(
      /now cron\(0 2 \* \* \? \*\) in Europe\/Paris, enabled .*; next run 2024-03-21T01:00:00\.000Z$/,
    );
    const stored = await schedule();
    const runs = upcomingRuns(
      { expression: stored.expression!, timeZone: stored.timeZone!, state: 'ENABLED' },
      new Date('2024-03-29T12:00:00Z'),
      3,
    );
    expect(runs.map((run) => localTime(run, 'Europe/Paris'))).to.deep.equal([
      '2024-03-30 02:00',
      '2024-04-01 02:00',
      '2024-04-02 02:00',
    ]);
  });

  it('reads an expired backup.cron row (TTL not yet applied) as absent', async () => {
    await setBackupCron('cron(30 3 * * ? *)');
    await reconcileSchedule(clients, target, NOW);
    await setBackupCron('disabled', NOW.getTime() / 1000 - 60);

    const part = await reconcileSchedule(clients, target, NOW);

    expect(part.reason).to.match(/^backup\.cron not set: the schedule is now cron\(0 \* \* \* \? \*\) in UTC, enabled/);
  });

  it('reports a missing Configuration table or schedule as a failed part, and no schedule as skipped', async () => {
    const noTable = await reconcileSchedule(clients, { ...target, configurationTable: uniqueName('missing') }, NOW);
    const noSchedule = await reconcileSchedule(clients, { ...target, scheduleName: uniqueName('missing') }, NOW);
    const featureOff = await reconcileSchedule(clients, { ...target, scheduleName: undefined }, NOW);

    expect(noTable.status).to.equal('failed');
    expect(noTable.error?.message).to.match(/^ConfigurationTable "missing-.*": no DynamoDB table of that name exists/);
    expect(noSchedule.status).to.equal('failed');
    expect(noSchedule.error?.message).to.match(/^schedule "missing-.*": it does not exist .*Fix: redeploy the service/);
    expect(featureOff).to.deep.equal({
      part: 'schedule',
      status: 'skipped',
      reason: 'no schedule is deployed (MetadataAndBackupS3Path is empty)',
    });
  });
});
