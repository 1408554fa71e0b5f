/**
 * Each group's schedule against the emulator's EventBridge Scheduler and DynamoDB: created for a new
 * group, brought to the group's effective backup.cron (override:, the active parameter set, the key,
 * the default) as the configuration branch and the groups' reconciliation read it, disabled and
 * enabled again, kept when the value is invalid, set in the group's zone for localcron().
 */
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateScheduleGroupCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { expect } from 'chai';
import { clientSettings } from '#shared/aws/clients';
import { readScheduleRows } from '#shared/groups/reconcile';
import { DEFAULT_SCHEDULE_EXPRESSION, upcomingRuns } from '#shared/schedule/backup-cron';
import {
  applyGroupSchedule,
  deleteGroupSchedule,
  recordedStackId,
  reconcileGroupSchedule,
  scheduledGroups,
  scheduleInput,
  type ScheduleTarget,
} from '#shared/schedule/backup-schedule';
import { emulatorClients, uniqueName } from '#test/support/aws';
import { createTable } from '#test/support/backup-fixtures';

const NOW = new Date('2024-03-20T10:17:00Z');

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

describe("each group's schedule against the emulator (EventBridge Scheduler, DynamoDB)", () => {
  const { dynamodb } = emulatorClients();
  const scheduler = new SchedulerClient(clientSettings());
  let target: ScheduleTarget;
  let table: string;
  const group = { groupName: 'web', timeZone: 'Europe/Paris' };

  async function setRow(key: string, value: string | undefined, expirationTime?: number): Promise<void> {
    if (value === undefined) {
      await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { Key: { S: key } } }));
      return;
    }
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          Key: { S: key },
          Value: { S: value },
          ...(expirationTime !== undefined ? { ExpirationTime: { N: String(expirationTime) } } : {}),
        },
      }),
    );
  }

  /** The configuration branch's part, from the rows the groups' reconciliation reads. */
  async function reconcile() {
    return reconcileGroupSchedule(scheduler, target, group, await readScheduleRows(dynamodb, table, NOW), NOW);
  }

  async function schedule() {
    const found = await scheduler.send(new GetScheduleCommand({ Name: 'web', GroupName: target.scheduleGroup }));
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
    // Prepare: a Configuration table with another key, and the deployment's empty schedule group
    table = await createTable(dynamodb, [{ Key: { S: 'ec2.schedule.min_instance_count' }, Value: { S: '2' } }]);
    const scheduleGroup = uniqueName('CloneSquadBackupCmdb-test');
    await scheduler.send(new CreateScheduleGroupCommand({ Name: scheduleGroup }));
    target = {
      scheduleGroup,
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:CloneSquadBackupCmdb-test-startScheduledRun',
      roleArn: 'arn:aws:iam::123456789012:role/CloneSquadBackupCmdb-test-BackupSchedules',
    };
  });

  it("creates a new group's schedule at the hourly default, starting the group's runs", async () => {
    const part = await reconcile();

    expect(part).to.deep.equal({
      part: 'schedule',
      status: 'ok',
      reason:
        'backup.cron not set: the schedule is now cron(0 * * * ? *) in UTC, enabled (created); ' +
        'next run 2024-03-20T11:00:00.000Z',
    });
    expect(await schedule()).to.deep.include({
      expression: DEFAULT_SCHEDULE_EXPRESSION,
      timeZone: 'UTC',
      state: 'ENABLED',
      target: {
        Arn: target.functionArn,
        RoleArn: target.roleArn,
        Input: '{"scheduledTime":"<aws.scheduler.scheduled-time>","groupName":"web"}',
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
      },
      flexibleTimeWindow: { Mode: 'OFF' },
    });
    expect(JSON.parse(scheduleInput('web'))).to.deep.equal({
      scheduledTime: '<aws.scheduler.scheduled-time>',
      groupName: 'web',
    });
    expect(await scheduledGroups(scheduler, target)).to.deep.equal(['web']);
  });

  it('applies a cron() value with an escaped list, then a changed one, keeping the target', async () => {
    await setRow('backup.cron', 'cron(0 6\\,18 * * ? *)');
    const created = await reconcile();
    const first = await schedule();
    await setRow('backup.cron', 'cron(0 */6 * * ? *)');
    const updated = await reconcile();
    const second = await schedule();

    expect(created.reason).to.equal(
      'backup.cron "cron(0 6\\\\,18 * * ? *)": the schedule is now cron(0 6,18 * * ? *) in UTC, enabled (created); ' +
        'next run 2024-03-20T18:00:00.000Z',
    );
    expect(first).to.include({ expression: 'cron(0 6,18 * * ? *)', timeZone: 'UTC', state: 'ENABLED' });
    expect(updated.reason).to.equal(
      'backup.cron "cron(0 */6 * * ? *)": the schedule is now cron(0 */6 * * ? *) in UTC, enabled ' +
        '(was cron(0 6,18 * * ? *) in UTC, enabled); next run 2024-03-20T12:00:00.000Z',
    );
    expect(second).to.include({ expression: 'cron(0 */6 * * ? *)', timeZone: 'UTC', state: 'ENABLED' });
    expect(second.target).to.deep.equal(first.target);
  });

  it('follows override:backup.cron, then the active parameter set, then backup.cron', async () => {
    await setRow('backup.cron', 'cron(0 1 * * ? *)');
    await setRow('[night]backup.cron', 'cron(0 2 * * ? *)');
    await setRow('override:backup.cron', 'cron(0 3 * * ? *)');
    await setRow('config.active_parameter_set', 'night');
    const expressions: string[] = [];
    for (const change of [
      () => Promise.resolve(),
      () => setRow('override:backup.cron', undefined),
      () => setRow('config.active_parameter_set', ''),
    ]) {
      await change();
      await reconcile();
      expressions.push((await schedule()).expression!);
    }

    expect(expressions).to.deep.equal(['cron(0 3 * * ? *)', 'cron(0 2 * * ? *)', 'cron(0 1 * * ? *)']);
  });

  it('does not update a schedule that already says what backup.cron asks', async () => {
    await setRow('backup.cron', 'cron(30 3 * * ? *)');
    await reconcile();
    const applied = await schedule();
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const again = await reconcile();

    expect(again.reason).to.equal(
      'backup.cron "cron(30 3 * * ? *)": the schedule is already cron(30 3 * * ? *) in UTC, enabled; ' +
        'next run 2024-03-21T03:30:00.000Z',
    );
    expect((await schedule()).modified).to.equal(applied.modified);
  });

  it('creates a disabled group disabled, keeps its expression when disabled later, and enables it again', async () => {
    await setRow('backup.cron', 'disabled');
    const createdOff = await reconcile();
    await setRow('backup.cron', 'localcron(0 2 * * ? *)');
    await reconcile();
    await setRow('backup.cron', 'disabled');
    const disabled = await reconcile();
    const off = await schedule();
    await setRow('backup.cron', undefined);
    const back = await reconcile();

    expect(createdOff.reason).to.equal(
      'backup.cron "disabled": the schedule is now cron(0 * * * ? *) in UTC, disabled (created)',
    );
    expect(disabled.reason).to.equal(
      'backup.cron "disabled": the schedule is now cron(0 2 * * ? *) in Europe/Paris, disabled ' +
        '(was cron(0 2 * * ? *) in Europe/Paris, enabled)',
    );
    expect(off).to.include({ expression: 'cron(0 2 * * ? *)', timeZone: 'Europe/Paris', state: 'DISABLED' });
    expect(back.reason).to.equal(
      'backup.cron not set: the schedule is now cron(0 * * * ? *) in UTC, enabled ' +
        '(was cron(0 2 * * ? *) in Europe/Paris, disabled); next run 2024-03-20T11:00:00.000Z',
    );
  });

  it('keeps the current schedule for an invalid value and says why; a new group gets none', async () => {
    await setRow('backup.cron', 'cron(0 6 * * *)');
    const beforeAny = await reconcile();
    await setRow('backup.cron', 'cron(0 6 * * ? *)');
    await reconcile();
    const before = await schedule();
    await setRow('backup.cron', 'cron(0 6 * * *)');
    const part = await reconcile();

    expect(beforeAny.status).to.equal('failed');
    expect(beforeAny.error?.message).to.match(/The group has no schedule yet; it gets one once the value is valid\.$/);
    expect(part.status).to.equal('failed');
    expect(part.error?.name).to.equal('UserInputError');
    expect(part.error?.message).to.match(/^backup\.cron "cron\(0 6 \* \* \*\)": it has 5 fields; EventBridge/);
    expect(part.error?.message).to.match(/The schedule is kept as it is: cron\(0 6 \* \* \? \*\) in UTC, enabled\.$/);
    expect(await schedule()).to.deep.equal(before);
  });

  it("sets localcron() as the expression in the group's zone, not as a converted UTC time", async () => {
    await setRow('backup.cron', 'localcron(0 2 * * ? *)');

    const part = await reconcile();

    const stored = await schedule();
    expect(stored).to.include({ expression: 'cron(0 2 * * ? *)', timeZone: 'Europe/Paris', state: 'ENABLED' });
    // The next run is 02:00 in Paris (UTC+1 before the 31st of March).
    expect(part.reason).to.match(/; next run 2024-03-21T01:00:00\.000Z$/);
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
    await setRow('backup.cron', 'cron(30 3 * * ? *)');
    await reconcile();
    await setRow('backup.cron', 'disabled', NOW.getTime() / 1000 - 60);

    const part = await reconcile();

    expect(part.reason).to.match(/^backup\.cron not set: the schedule is now cron\(0 \* \* \* \? \*\) in UTC, enabled/);
  });

  it('records the stack id of the group, keeps it through later changes, and deletes the schedule', async () => {
    const stackId = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/MyCS-web/0f3c1e70-0000-0000-0000-000000000000';
    await applyGroupSchedule(scheduler, target, 'web', { state: 'DISABLED' }, { stackId });
    await setRow('backup.cron', 'cron(0 4 * * ? *)');
    await reconcile();

    expect(await recordedStackId(scheduler, target, 'web')).to.equal(stackId);
    expect((await schedule()).description).to.equal(
      `Backups and CMDB export of CloneSquad group web (stack ${stackId}); follows its backup.cron`,
    );
    await deleteGroupSchedule(scheduler, target, 'web');
    await deleteGroupSchedule(scheduler, target, 'web');
    expect(await scheduledGroups(scheduler, target)).to.deep.equal([]);
  });

  it('is skipped when the deployment has no schedules (MetadataAndBackupS3Path empty)', async () => {
    expect(await reconcileGroupSchedule(scheduler, undefined, group, [], NOW)).to.deep.equal({
      part: 'schedule',
      status: 'skipped',
      reason: 'no schedule is deployed (MetadataAndBackupS3Path is empty)',
    });
  });
});
