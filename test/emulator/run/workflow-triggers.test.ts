/**
 * Whole executions of the workflow definition with the real handlers, on the shared emulator
 * (docs/operations.md): the input narrows the run or fails it before any work, every execution makes the
 * group's schedule follow `backup.cron`, one group's execution takes 9 state transitions (10 when a
 * part failed), and a
 * failed execution's cause is its summary, which the `backup` API answers.
 */
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { seedRegion, setUpLocalDeployment, startLocalRun, type LocalDeployment } from '#local/local-run';
import { PROJECT_ROOT } from '#local/python-env';
import { loadSeed } from '#local/seed';
import type { TaskInterceptor, WorkflowRun } from '#local/workflow';
import { clientSettings } from '#shared/aws/clients';
import { describeRun } from '#shared/groups/status';
import { defaultTableNames, ENVIRONMENT } from '#shared/run/deployment';
import type { ExecutionSummary, PartResult } from '#shared/run/summary';
import { emulatorClients, uniqueName } from '#test/support/aws';
import { restoreDeploymentEnvironmentAfterSuite, withLogsOff } from '#test/support/deployment-environment';

const SAMPLE_SEED = join(PROJECT_ROOT, 'local', 'sample-seed.yaml');

/** The states one group's execution enters, in order, as Step Functions counts (and bills) them. */
const GROUP_EXECUTION = [
  'PlanRun',
  'OneGroupOrEvery',
  'Export',
  'BackupConfiguration',
  'BackupScheduler',
  'ExportDiscovery',
  'ExportInstances',
  'ExportMaintenanceWindows',
  'Archive',
];

const entered = (run: WorkflowRun) =>
  run.events.filter((event) => event.type === 'StateEntered').map((event) => (event.state as { name: string }).name);

const statuses = (run: WorkflowRun) =>
  Object.fromEntries(
    (run.summary as ExecutionSummary).parts.map((part: PartResult) => [
      part.part,
      part.status === 'skipped' ? `skipped: ${part.reason}` : part.status,
    ]),
  );

/** The summary a failed execution's cause carries: the summary step's Lambda error, whose message is its JSON. */
function summaryInCause(run: WorkflowRun): ExecutionSummary {
  const cause = JSON.parse(run.error!.message) as { errorType: string; errorMessage: string };
  expect(cause.errorType).to.equal('PartsFailed');
  return JSON.parse(cause.errorMessage) as ExecutionSummary;
}

describe('workflow executions: input, schedule, transitions, failure summary', function () {
  this.timeout(180_000);
  restoreDeploymentEnvironmentAfterSuite();
  const groupName = uniqueName('triggers');
  const bucket = uniqueName('triggers-bucket');
  const tables = defaultTableNames(groupName);
  const { dynamodb } = emulatorClients();
  const scheduler = new SchedulerClient(clientSettings());
  let deployment: LocalDeployment;

  /**
   * One execution of the group; `environment` changes the deployment's function environment for it
   * (another parameter value), `aroundTask` wraps its Tasks.
   */
  const run = async (
    input: unknown,
    options: { environment?: Record<string, string>; aroundTask?: TaskInterceptor } = {},
  ) => {
    const target = { ...deployment, environment: { ...deployment.environment, ...options.environment } };
    return (await withLogsOff(() => startLocalRun(target, input, { aroundTask: options.aroundTask }))).run;
  };

  const setBackupCron = (value: string) =>
    dynamodb.send(
      new PutItemCommand({
        TableName: tables.configuration,
        Item: { Key: { S: 'backup.cron' }, Value: { S: value } },
      }),
    );

  const groupSchedule = () =>
    scheduler.send(new GetScheduleCommand({ Name: groupName, GroupName: deployment.names.scheduleGroup }));

  before(async () => {
    const sample = loadSeed(SAMPLE_SEED);
    const group = { ...sample.groups[0], groupName };
    deployment = await setUpLocalDeployment({
      s3Path: `s3://${bucket}/cmdb`,
      region: group.region,
      groupName,
      catalog: { databaseName: groupName.replace(/-/g, '_'), crawlerName: `${groupName}-crawler` },
    });
    await seedRegion({ ...sample, groups: [group] }, group.region);
  });

  it('runs everything for {} in 9 state transitions, on the first run (schedule created) as in the steady state', async () => {
    const first = await run({});
    const steady = await run({});

    expect(first.status, JSON.stringify(first.error)).to.equal('SUCCEEDED');
    expect(steady.status, JSON.stringify(steady.error)).to.equal('SUCCEEDED');
    expect(entered(first)).to.deep.equal(GROUP_EXECUTION);
    expect(entered(steady)).to.deep.equal(GROUP_EXECUTION);
    expect(statuses(first)).to.include({ schedule: 'ok', catalog: 'ok' });
    expect((first.summary as ExecutionSummary).parts.find((part) => part.part === 'schedule')?.reason).to.match(
      /^backup\.cron not set: the schedule is now cron\(0 \* \* \* \? \*\) in UTC, enabled \(created\); next run /,
    );
    expect(steady.output).to.deep.equal(steady.summary);
    const summary = steady.summary as ExecutionSummary;
    expect(summary.counts).to.deep.equal({ ok: 10, failed: 0, skipped: 1 });
    expect(summary.parts.find((part) => part.part === 'schedule')?.reason).to.match(
      /^backup\.cron not set: the schedule is already cron\(0 \* \* \* \? \*\) in UTC, enabled; next run /,
    );
  });

  it('a failed part adds one transition (the PartsFailed verdict); a crashed branch Lambda one more (its Failed state)', async () => {
    const missingTable = await run({}, { environment: { [ENVIRONMENT.schedulerTable]: uniqueName('missing-table') } });
    const crash: TaskInterceptor = async (state, invoke) => {
      if (state === 'BackupScheduler') throw new TypeError('the function crashed');
      return invoke();
    };
    const crashed = await run({}, { aroundTask: crash });

    expect(statuses(missingTable)).to.include({ 'backup/scheduler': 'failed', 'metadata/scheduler': 'failed' });
    expect(entered(missingTable)).to.deep.equal([...GROUP_EXECUTION, 'PartsFailed']);
    expect(statuses(crashed)).to.include({ 'backup/scheduler': 'failed', 'metadata/scheduler': 'failed' });
    const crashedPart = (crashed.summary as ExecutionSummary).parts.find((part) => part.part === 'backup/scheduler');
    expect(crashedPart?.error).to.deep.equal({ name: 'TypeError', message: 'the function crashed' });
    // Branches run side by side: where the Failed state falls among the others' states is not fixed.
    expect([...entered(crashed)].sort()).to.deep.equal(
      [...GROUP_EXECUTION, 'BackupSchedulerFailed', 'PartsFailed'].sort(),
    );
  });

  it('concludes with Summarize when Archive itself crashes: archive and catalog failed, the cause is the summary', async () => {
    const crash: TaskInterceptor = async (state, invoke) => {
      if (state === 'Archive') throw new TypeError('the archive function crashed');
      return invoke();
    };
    const crashed = await run({}, { aroundTask: crash });

    expect(crashed.status).to.equal('FAILED');
    expect(entered(crashed)).to.deep.equal([...GROUP_EXECUTION, 'Summarize']);
    const summary = summaryInCause(crashed);
    expect(summary).to.deep.equal(crashed.summary);
    expect(statuses(crashed)).to.include({ 'backup/configuration': 'ok', archive: 'failed', catalog: 'failed' });
    const archive = summary.parts.find((part) => part.part === 'archive');
    expect(archive?.error).to.deep.equal({ name: 'TypeError', message: 'the archive function crashed' });
  });

  it('runs only the parts asked for; the others are skipped as not requested', async () => {
    const backupsOnly = await run({ parts: ['backup/scheduler', 'metadata/discovery'] });
    const metadataOnly = await run({ parts: ['metadata/volumes'] });

    expect(backupsOnly.status).to.equal('SUCCEEDED');
    expect(statuses(backupsOnly)).to.deep.equal({
      'backup/configuration': 'skipped: not requested',
      'metadata/configuration': 'skipped: not requested',
      // The schedule follows the rows the configuration branch reads: not read, not applied.
      schedule: 'skipped: not requested',
      'backup/scheduler': 'ok',
      'metadata/scheduler': 'skipped: not requested',
      'metadata/discovery': 'ok',
      'metadata/instances': 'skipped: not requested',
      'metadata/volumes': 'skipped: not requested',
      'metadata/maintenance-windows': 'skipped: not requested',
      archive: 'ok',
      catalog: 'skipped: no new partition, the catalog knows every partition written',
    });
    expect(statuses(metadataOnly)).to.include({
      'backup/configuration': 'skipped: not requested',
      'backup/scheduler': 'skipped: not requested',
      'metadata/instances': 'ok',
      'metadata/volumes': 'ok',
      archive: 'skipped: not requested',
    });
    expect(entered(metadataOnly)).to.deep.equal(GROUP_EXECUTION);
  });

  it('fails an invalid input before any work, naming the field and the allowed values', async () => {
    const refused = await run({ parts: ['backups', 'metdata'] });

    expect(refused.status).to.equal('FAILED');
    expect(refused.error?.name).to.equal('InvalidInput');
    expect(refused.error?.message).to.match(
      /^execution input\.parts\[1\]: "metdata" is not a part\. Fix: use one of "backups", "metadata", "backup\/configuration"/,
    );
    expect(entered(refused)).to.deep.equal(['PlanRun', 'InvalidInputError', 'InvalidInput']);
  });

  it('makes the schedule follow backup.cron at every execution: localcron in the deployment time zone', async () => {
    const inParis = { environment: { [ENVIRONMENT.timeZone]: 'Europe/Paris' } };
    try {
      await setBackupCron('localcron(0 2 * * ? *)');
      const applied = await run({ parts: ['backups'] }, inParis);
      const schedule = await groupSchedule();
      await setBackupCron('localcron(0 2 * *)');
      const typo = await run({ parts: ['backups'] }, inParis);
      const kept = await groupSchedule();

      expect(applied.status, JSON.stringify(applied.error)).to.equal('SUCCEEDED');
      expect(schedule).to.deep.include({
        ScheduleExpression: 'cron(0 2 * * ? *)',
        ScheduleExpressionTimezone: 'Europe/Paris',
        State: 'ENABLED',
      });
      // The typo fails the schedule part (the execution is red), everything else is done, and the schedule is kept.
      expect(typo.status).to.equal('FAILED');
      const part = (typo.summary as ExecutionSummary).parts.find((each) => each.part === 'schedule');
      expect(part?.error?.message).to.match(/^backup\.cron "localcron\(0 2 \* \*\)": it has 4 fields/);
      expect(part?.error?.message).to.match(/The schedule is kept as it is: cron\(0 2 \* \* \? \*\) in Europe\/Paris/);
      expect(statuses(typo)['backup/configuration']).to.equal('ok');
      expect(kept).to.deep.include({
        ScheduleExpression: 'cron(0 2 * * ? *)',
        ScheduleExpressionTimezone: 'Europe/Paris',
      });
    } finally {
      await setBackupCron('disabled');
    }
  });

  describe('a huge backup.cron value cannot push a state or the summary past the limits of Step Functions', () => {
    /** Step Functions' limit of a state's input, output and result (UTF-8 bytes). */
    const MAX_STATE_BYTES = 256 * 1024;
    /** Step Functions keeps this many characters of a failure's cause. */
    const MAX_CAUSE_CHARS = 32_768;

    const largestState = (run: WorkflowRun) =>
      run.events
        .filter((event) => event.type === 'StateEntered' || event.type === 'StateExited')
        .map((event) => {
          const state = event.state as { name: string; input?: unknown; output?: unknown };
          const data = event.type === 'StateEntered' ? state.input : state.output;
          return { state: `${event.type} ${state.name}`, bytes: Buffer.byteLength(JSON.stringify(data) ?? '') };
        })
        .reduce((largest, each) => (each.bytes > largest.bytes ? each : largest));

    afterEach(() => setBackupCron('disabled'));

    for (const [size, value] of [
      ['300 KB', `cron(0 2 * * ? *) ${'x'.repeat(300_000)}`],
      ['50 KB', `localcron(${'0 '.repeat(25_000)})`],
    ] as const) {
      it(`an invalid ${size} value: the schedule part fails, Archive runs, and the cause is the whole summary`, async () => {
        await setBackupCron(value);

        const failed = await run({});

        expect(largestState(failed).bytes, JSON.stringify(largestState(failed))).to.be.at.most(MAX_STATE_BYTES);
        expect(entered(failed)).to.deep.equal([...GROUP_EXECUTION, 'PartsFailed']);
        expect(failed.error?.name).to.equal('PartsFailed');
        expect(failed.error!.message.length).to.be.at.most(MAX_CAUSE_CHARS);
        const summary = summaryInCause(failed);
        expect(summary).to.deep.equal(failed.summary);
        expect(statuses(failed)).to.include({ schedule: 'failed', archive: 'ok', 'backup/configuration': 'ok' });
        const schedule = summary.parts.find((part) => part.part === 'schedule')!;
        expect(schedule.error?.message).to.match(
          new RegExp(
            `^backup\\.cron "${value.slice(0, 40).replace(/[()*?]/g, '\\$&')}.*… \\(${value.length} characters\\): `,
          ),
        );
        expect(schedule.error!.message).to.match(/\. The schedule is kept as it is: .*\.$/);
        expect(schedule.error!.message.length).to.be.below(1_000);
      });
    }

    it('a valid value padded to 300 KB: the schedule part is ok, and its reason quotes the value cut short', async () => {
      const value = `cron(0 3${' '.repeat(300_000)}* * ? *)`;
      await setBackupCron(value);

      const applied = await run({});

      expect(largestState(applied).bytes, JSON.stringify(largestState(applied))).to.be.at.most(MAX_STATE_BYTES);
      expect(applied.status, applied.error?.message.slice(0, 500)).to.equal('SUCCEEDED');
      const schedule = (applied.summary as ExecutionSummary).parts.find((part) => part.part === 'schedule')!;
      expect(schedule.reason).to.match(
        new RegExp(
          `^backup\\.cron "cron\\(0 3 +"… \\(${value.length} characters\\): ` +
            'the schedule is now cron\\(0 3 \\* \\* \\? \\*\\) in UTC, enabled',
        ),
      );
      expect(schedule.reason!.length).to.be.below(1_000);
    });
  });

  it('fails after every other part when a part failed, with the summary as the cause the API answers', async () => {
    const failed = await run({}, { environment: { [ENVIRONMENT.schedulerTable]: uniqueName('missing-table') } });

    expect(failed.status).to.equal('FAILED');
    expect(failed.error?.name).to.equal('PartsFailed');
    const summary = failed.summary as ExecutionSummary;
    expect(statuses(failed)).to.include({
      'backup/configuration': 'ok',
      'backup/scheduler': 'failed',
      'metadata/scheduler': 'failed',
      'metadata/discovery': 'ok',
      schedule: 'ok',
      archive: 'ok',
    });
    expect(summaryInCause(failed)).to.deep.equal(summary);
    // The status route reads the execution as Step Functions records it: its error and cause.
    const stateMachineArn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:x';
    const sfn = new SFNClient({ region: 'eu-west-1' });
    mockClient(sfn).on(DescribeExecutionCommand).resolves({
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:x:run-1',
      name: 'run-1',
      status: 'FAILED',
      error: failed.error!.name,
      cause: failed.error!.message,
    });
    expect(await describeRun(sfn, stateMachineArn, 'run-1')).to.deep.equal({
      executionId: 'run-1',
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:x:run-1',
      status: 'FAILED',
      summary,
    });
  });
});
