/**
 * All-groups mode end to end: one deployment per region serves every CloneSquad group found there,
 * each group in an execution of its own, on a schedule of its own. First `npm run local` over a seed
 * of three groups in two regions and a decoy stack; then, on the shared emulator, deployments that
 * live through changes between runs: groups created and deleted, a broken group, a group whose
 * CloneSquad stack exports itself, and `backup.cron` changes.
 *
 * Each in-process scenario deploys in regions of its own: an all-groups deployment serves every
 * group of its region, and the other suites create theirs in eu-west-1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import {
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { expect } from 'chai';
import {
  DEFAULT_S3_PATH,
  reconcileLocally,
  seedRegion,
  setUpLocalDeployment,
  startLocalRun,
  type LocalDeployment,
  type RegionRun,
} from '#local/local-run';
import { PROJECT_ROOT } from '#local/python-env';
import { loadSeed, parseSeed, type GroupSeed, type Seed } from '#local/seed';
import type { WorkflowRun } from '#local/workflow';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import {
  archiveBackupKey,
  archiveStamp,
  backupFolder,
  BACKUP_TABLES,
  latestBackupKey,
  METADATA_TABLES,
  metadataKey,
  newPartitionMarkerKey,
  metadataPartitionFolder,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';
import type { ReconcileReport } from '#shared/groups/reconcile';
import { defaultTableNames } from '#shared/run/deployment';
import type { ExecutionSummary } from '#shared/run/summary';
import { uniqueName } from '#test/support/aws';
import { restoreDeploymentEnvironmentAfterSuite } from '#test/support/deployment-environment';
import { listKeys } from '#test/support/backup-fixtures';
import { mirroredKeys, runLocalCli } from '#test/support/local-cli';

const SEED_GROUPS = join(PROJECT_ROOT, 'test', 'fixtures', 'seed-groups.yaml');
const ACCOUNT = '123456789012'; // moto's default account

/**
 * Every key a group's first execution writes: its archives (named by the execution's start), `latest-`,
 * metadata, and the marks of the partitions it created, for the catalog's crawler.
 */
function groupKeys(destination: S3Location, id: PartitionIdentity, executionStartTime: string): string[] {
  const stamp = archiveStamp(executionStartTime);
  return [
    ...BACKUP_TABLES.flatMap((table) => [
      archiveBackupKey(destination, id, table, stamp),
      latestBackupKey(destination, id, table),
    ]),
    ...METADATA_TABLES.flatMap((table) => [
      metadataKey(destination, id, table),
      newPartitionMarkerKey(destination, id, table),
    ]),
  ];
}

/** Part → status (with the reason of a skipped part). */
const statuses = (summary: ExecutionSummary) =>
  Object.fromEntries(
    summary.parts.map((part) => [part.part, part.status === 'skipped' ? `skipped: ${part.reason}` : part.status]),
  );

/** Every part of an execution, each with `status`. */
const allParts = (status: string) =>
  Object.fromEntries(
    [
      'backup/configuration',
      'metadata/configuration',
      'schedule',
      'backup/scheduler',
      'metadata/scheduler',
      'metadata/discovery',
      'metadata/instances',
      'metadata/volumes',
      'metadata/maintenance-windows',
      'archive',
      'catalog',
    ].map((part) => [part, status]),
  );

describe('all groups of each region, one npm run local over three groups in two regions and a decoy', function () {
  this.timeout(180_000);
  const destination = parseS3Path(DEFAULT_S3_PATH)!;
  let out: string;

  before(() => {
    out = mkdtempSync(join(tmpdir(), 'all-groups-'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('backs up and exports each group at its keys, nothing for the decoy, each on its own schedule in its zone', () => {
    const executions = runLocalCli(out, SEED_GROUPS);

    expect(executions.map((execution) => [execution.region, execution.groupName, execution.status])).to.deep.equal([
      ['eu-west-1', 'api', 'SUCCEEDED'],
      ['eu-west-1', 'web', 'SUCCEEDED'],
      ['eu-west-3', 'batch', 'SUCCEEDED'],
    ]);
    const expectedKeys = executions.flatMap((execution) =>
      groupKeys(
        destination,
        { accountId: ACCOUNT, region: execution.region, groupName: execution.groupName! },
        execution.summary!.executionStartTime,
      ),
    );
    expect(mirroredKeys(out, destination.bucket)).to.deep.equal(expectedKeys.sort());
    expect(mirroredKeys(out, destination.bucket).filter((key) => /decoy|not-a-group/.test(key))).to.deep.equal([]);
    for (const execution of executions) {
      expect(statuses(execution.summary!), execution.groupName).to.deep.equal(allParts('ok'));
    }
    // The execution reads the group's schedule before it applies backup.cron: "already" is what it found.
    const schedules = Object.fromEntries(
      executions.map((execution) => {
        const reason = execution.summary!.parts.find((part) => part.part === 'schedule')?.reason ?? '';
        const found = /: the schedule is already (.+) in (\S+), enabled; next run /.exec(reason);
        return [execution.groupName, found ? { expression: found[1], timeZone: found[2] } : reason];
      }),
    );
    expect(schedules).to.deep.equal({
      web: { expression: 'cron(0 6,18 * * ? *)', timeZone: 'UTC' },
      // The stack's own TimeZone parameter.
      api: { expression: 'cron(30 2 * * ? *)', timeZone: 'Asia/Kolkata' },
      // CloneSquad's zone for eu-west-3.
      batch: { expression: 'cron(0 0 ? * MON *)', timeZone: 'Europe/Paris' },
    });
  });
});

describe('all-groups deployments living through changes (shared emulator)', function () {
  this.timeout(180_000);
  const quiet = { log: console.log, error: console.error };
  restoreDeploymentEnvironmentAfterSuite();

  /** Failed parts log errors on purpose. */
  async function silently<T>(work: () => Promise<T>): Promise<T> {
    Object.assign(console, { log: () => undefined, error: () => undefined });
    try {
      return await work();
    } finally {
      Object.assign(console, quiet);
    }
  }

  /** The fixture's groups and decoys moved to the regions `regions` maps theirs to; the others left out. */
  function fixtureIn(
    regions: Record<string, string>,
    change: (group: GroupSeed) => GroupSeed = (group) => group,
  ): Seed {
    const seed = loadSeed(SEED_GROUPS);
    return {
      ...seed,
      groups: seed.groups
        .filter((group) => group.region in regions)
        .map((group) => change({ ...group, region: regions[group.region] })),
      decoys: seed.decoys
        .filter((decoy) => decoy.region in regions)
        .map((decoy) => ({ ...decoy, region: regions[decoy.region] })),
    };
  }

  /** An all-groups deployment in `region`, its region seeded with the seed's groups there. */
  async function deploy(seed: Seed, region: string, s3Path: string): Promise<LocalDeployment> {
    const name = uniqueName('all-groups');
    const deployment = await setUpLocalDeployment({
      s3Path,
      region,
      catalog: { databaseName: name.replace(/-/g, '_'), crawlerName: `${name}-crawler` },
    });
    await seedRegion(seed, region);
    return deployment;
  }

  const reconcile = (deployment: LocalDeployment): Promise<ReconcileReport> =>
    silently(() => reconcileLocally(deployment));

  /** The run of every group, as a console StartExecution with {} starts it: each group's execution. */
  async function runEveryGroup(deployment: LocalDeployment): Promise<Record<string, WorkflowRun>> {
    const run: RegionRun = await silently(() => startLocalRun(deployment, {}));
    expect(run.run.status, JSON.stringify(run.run.error)).to.equal('SUCCEEDED');
    return Object.fromEntries(run.groups.map((group) => [group.groupName, group.run]));
  }

  const summaryOf = (run: WorkflowRun) => run.summary as ExecutionSummary;

  const schedulerIn = (region: string) => new SchedulerClient({ ...clientSettings(), region });

  async function scheduleOf(deployment: LocalDeployment, groupName: string) {
    const schedule = await schedulerIn(deployment.region).send(
      new GetScheduleCommand({ Name: groupName, GroupName: deployment.names.scheduleGroup }),
    );
    return {
      expression: schedule.ScheduleExpression,
      timeZone: schedule.ScheduleExpressionTimezone,
      state: schedule.State,
    };
  }

  async function scheduledGroupNames(deployment: LocalDeployment): Promise<string[]> {
    const { Schedules = [] } = await schedulerIn(deployment.region).send(
      new ListSchedulesCommand({ GroupName: deployment.names.scheduleGroup }),
    );
    return Schedules.map((schedule) => schedule.Name!).sort();
  }

  it('serves a group created between two runs from the next one; a deleted group loses its schedule and metadata, keeps its backups', async () => {
    const [first, second] = ['ca-central-1', 'eu-north-1'];
    const seed = fixtureIn({ 'eu-west-1': first, 'eu-west-3': second });
    const s3Path = `s3://${uniqueName('come-and-go')}/cmdb`;
    const destination = parseS3Path(s3Path)!;
    const s3 = new S3Client({ ...s3ClientSettings(), region: first });
    const deployments = [await deploy(seed, first, s3Path), await deploy(seed, second, s3Path)];
    const [here, there] = deployments;
    const id = (groupName: string) => ({ accountId: here.accountId, region: first, groupName });

    const firstReports = [await reconcile(here), await reconcile(there)];
    const firstRuns = [await runEveryGroup(here), await runEveryGroup(there)];

    expect(firstReports[0]).to.deep.equal({
      groups: [
        { groupName: 'api', schedule: 'cron(30 2 * * ? *) in Asia/Kolkata, enabled' },
        { groupName: 'web', schedule: 'cron(0 6,18 * * ? *) in UTC, enabled' },
      ],
      removed: [],
      ignored: [
        {
          stackName: 'CloneSquad-not-a-group',
          reason:
            "it has a GroupName parameter but no DynamoDB table ConfigTable or SchedulerTable: not a stack of CloneSquad's template",
        },
      ],
    });
    expect(firstReports[1].groups).to.deep.equal([
      { groupName: 'batch', schedule: 'cron(0 0 ? * MON *) in Europe/Stockholm, enabled' },
    ]);
    expect(firstRuns.map((runs) => Object.keys(runs))).to.deep.equal([['api', 'web'], ['batch']]);
    const webFirst = summaryOf(firstRuns[0].web);
    expect(webFirst.status).to.equal('ok');

    // A group appears, another one's stack is deleted; the second region is left as it is.
    await seedRegion(
      parseSeed(`groupName: cache\nregion: ${first}\nconfiguration: { backup.cron: rate(6 hours) }`, 'cache'),
      first,
    );
    await new CloudFormationClient({ ...clientSettings(), region: first }).send(
      new DeleteStackCommand({ StackName: 'CloneSquad-web' }),
    );
    const secondRun = await runEveryGroup(here);

    expect(Object.keys(secondRun)).to.deep.equal(['api', 'cache']);
    expect(summaryOf(secondRun.cache)).to.deep.include({ status: 'ok' });
    expect(await listKeys(s3, destination.bucket, backupFolder(destination, id('cache')))).to.deep.equal(
      BACKUP_TABLES.flatMap((table) => [
        archiveBackupKey(destination, id('cache'), table, archiveStamp(summaryOf(secondRun.cache).executionStartTime)),
        latestBackupKey(destination, id('cache'), table),
      ]).sort(),
    );

    const secondReport = await reconcile(here);

    expect(secondReport.removed).to.deep.equal([{ groupName: 'web', metadataObjects: METADATA_TABLES.length }]);
    expect(secondReport.groups.map((group) => group.groupName)).to.deep.equal(['api', 'cache']);
    expect(await scheduledGroupNames(here)).to.deep.equal(['api', 'cache']);
    const gone = await schedulerIn(first)
      .send(new GetScheduleCommand({ Name: 'web', GroupName: here.names.scheduleGroup }))
      .then(
        () => 'still there',
        (error: unknown) => error,
      );
    expect(gone).to.be.instanceOf(ResourceNotFoundException);
    for (const table of METADATA_TABLES) {
      const folder = metadataPartitionFolder(destination, id('web'), table);
      expect(await listKeys(s3, destination.bucket, folder), `web's ${table} objects`).to.deep.equal([]);
      expect(
        await listKeys(s3, destination.bucket, metadataPartitionFolder(destination, id('api'), table)),
        `api's ${table} objects`,
      ).to.deep.equal([metadataKey(destination, id('api'), table)]);
    }
    expect(await listKeys(s3, destination.bucket, backupFolder(destination, id('web'))), "web's backups").to.deep.equal(
      BACKUP_TABLES.flatMap((table) => [
        archiveBackupKey(destination, id('web'), table, archiveStamp(webFirst.executionStartTime)),
        latestBackupKey(destination, id('web'), table),
      ]).sort(),
    );
    expect(await reconcile(there)).to.deep.include({ removed: [] });
    expect(await scheduledGroupNames(there)).to.deep.equal(['batch']);
  });

  it("a group whose table is missing fails only that group's scheduler parts; the other groups' executions succeed", async () => {
    const region = 'ap-northeast-2';
    const seed = fixtureIn({ 'eu-west-1': region }, (group) =>
      group.groupName === 'api' ? { ...group, missingTables: ['scheduler'] } : group,
    );
    const deployment = await deploy(seed, region, `s3://${uniqueName('missing-table')}/cmdb`);

    const report = await reconcile(deployment);
    const runs = await runEveryGroup(deployment);

    expect(report.groups.map((group) => [group.groupName, group.error])).to.deep.equal([
      ['api', undefined],
      ['web', undefined],
    ]);
    expect(runs.web.status).to.equal('SUCCEEDED');
    expect(statuses(summaryOf(runs.web))).to.deep.equal(allParts('ok'));
    expect(runs.api.status).to.equal('FAILED');
    expect(runs.api.error?.name).to.equal('PartsFailed');
    expect(statuses(summaryOf(runs.api))).to.deep.equal({
      ...allParts('ok'),
      'backup/scheduler': 'failed',
      'metadata/scheduler': 'failed',
    });
    const failed = summaryOf(runs.api).parts.find((part) => part.part === 'backup/scheduler');
    expect(failed?.error?.message).to.include(defaultTableNames('api').scheduler);
  });

  it("leaves a group to CloneSquad's own export at this location (every part skipped, saying the fix, its schedule disabled); elsewhere, warns", async () => {
    const region = 'sa-east-1';
    const s3Path = `s3://${uniqueName('coexistence')}/cmdb`;
    const elsewhere = 's3://clonesquad-own-export/clonesquad';
    // CloneSquad's own export (its stack's MetadataAndBackupS3Path): web's to this location, api's elsewhere.
    const seed = fixtureIn({ 'eu-west-1': region }, (group) => ({
      ...group,
      stack: {
        ...group.stack,
        parameters: {
          ...group.stack.parameters,
          MetadataAndBackupS3Path: group.groupName === 'web' ? s3Path : elsewhere,
        },
      },
    }));
    const deployment = await deploy(seed, region, s3Path);
    const destination = parseS3Path(s3Path)!;
    const s3 = new S3Client({ ...s3ClientSettings(), region });

    const runs = await runEveryGroup(deployment);

    const reason =
      `CloneSquad's own export writes these keys (stack CloneSquad-web's MetadataAndBackupS3Path is ${s3Path}, ` +
      "this service's location). Fix: to hand the group over to this service, set that parameter to None (or empty)";
    expect(runs.web.status).to.equal('SUCCEEDED');
    expect(statuses(summaryOf(runs.web))).to.deep.equal(allParts(`skipped: ${reason}`));
    expect(summaryOf(runs.web).counts).to.deep.equal({ ok: 0, failed: 0, skipped: 11 });
    const id = (groupName: string) => ({ accountId: deployment.accountId, region, groupName });
    expect(
      (await listKeys(s3, destination.bucket)).filter((key) => key.includes('groupname=web/')),
      'keys written for web',
    ).to.deep.equal([]);
    expect(runs.api.status).to.equal('SUCCEEDED');
    expect(statuses(summaryOf(runs.api))).to.deep.equal(allParts('ok'));
    expect(summaryOf(runs.api).warnings).to.deep.equal([
      `CloneSquad's own export also runs, to ${elsewhere} (stack CloneSquad-api's MetadataAndBackupS3Path). ` +
        'Fix: once this service serves the group, set that parameter to None to stop the second copy',
    ]);
    expect(await listKeys(s3, destination.bucket, backupFolder(destination, id('api')))).to.have.length(
      2 * BACKUP_TABLES.length,
    );

    // Its executions would skip every part every hour: the reconciliation keeps web's schedule disabled.
    const report = await reconcile(deployment);
    // Created disabled at the default slot; handing the group over sets its own backup.cron and enables it.
    expect(report.groups).to.deep.include({ groupName: 'web', schedule: 'cron(0 * * * ? *) in UTC, disabled' });
    expect((await scheduleOf(deployment, 'web')).state).to.equal('DISABLED');
    expect((await scheduleOf(deployment, 'api')).state).to.equal('ENABLED');
  });

  it("makes each group's schedule follow its own backup.cron, override:backup.cron and active parameter set", async () => {
    const region = 'ap-southeast-1';
    const deployment = await deploy(fixtureIn({ 'eu-west-1': region }), region, `s3://${uniqueName('cron')}/cmdb`);
    const dynamodb = new DynamoDBClient({ ...clientSettings(), region });
    const table = defaultTableNames('web').configuration;
    const put = (key: string, value: string) =>
      dynamodb.send(new PutItemCommand({ TableName: table, Item: { Key: { S: key }, Value: { S: value } } }));
    const remove = (key: string) =>
      dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { Key: { S: key } } }));
    /** The web group's schedule once the rows changed and the groups were reconciled. */
    const webAfter = async (change: () => Promise<unknown>) => {
      await change();
      await reconcile(deployment);
      return scheduleOf(deployment, 'web');
    };
    const enabled = (expression: string, timeZone: string) => ({ expression, timeZone, state: 'ENABLED' });

    const created = await webAfter(async () => undefined);
    const rate = await webAfter(() => put('backup.cron', 'rate(2 hours)'));
    const overridden = await webAfter(() => put('override:backup.cron', 'localcron(0 5 * * ? *)'));
    const nightDisabled = await webAfter(async () => {
      await remove('override:backup.cron');
      await put('[night]backup.cron', 'disabled');
      await put('config.active_parameter_set', 'night');
    });
    const nightCron = await webAfter(() => put('[night]backup.cron', 'cron(15 1 * * ? *)'));
    const noSet = await webAfter(() => put('config.active_parameter_set', ''));
    const unset = await webAfter(() => remove('backup.cron'));

    expect(created).to.deep.equal(enabled('cron(0 6,18 * * ? *)', 'UTC'));
    expect(rate).to.deep.equal(enabled('rate(2 hours)', 'UTC'));
    // localcron(): the group's zone, here its region's (its stack has no TimeZone).
    expect(overridden).to.deep.equal(enabled('cron(0 5 * * ? *)', 'Asia/Singapore'));
    // Disabled keeps the expression and zone the schedule had, for when it comes back.
    expect(nightDisabled).to.deep.equal({
      expression: 'cron(0 5 * * ? *)',
      timeZone: 'Asia/Singapore',
      state: 'DISABLED',
    });
    expect(nightCron).to.deep.equal(enabled('cron(15 1 * * ? *)', 'UTC'));
    expect(noSet).to.deep.equal(enabled('rate(2 hours)', 'UTC'));
    expect(unset).to.deep.equal(enabled('cron(0 * * * ? *)', 'UTC'));
    // The other group's schedule follows its own rows only.
    expect(await scheduleOf(deployment, 'api')).to.deep.equal(enabled('cron(30 2 * * ? *)', 'Asia/Kolkata'));
    const web = await schedulerIn(region).send(
      new GetScheduleCommand({ Name: 'web', GroupName: deployment.names.scheduleGroup }),
    );
    expect(JSON.parse(web.Target!.Input!)).to.deep.equal({
      scheduledTime: '<aws.scheduler.scheduled-time>',
      groupName: 'web',
    });
  });
});
