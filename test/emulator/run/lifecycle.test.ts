/**
 * Upgrade and removal (docs/deploy.md): deploying the service again keeps each group's schedule and
 * every object of the bucket; removing it deletes what its stack owns, never an object of the bucket.
 */
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { expect } from 'chai';
import { serverlessConfig } from '#infra/serverless-config';
import { seedRegion, setUpLocalDeployment, startLocalRun, type LocalDeployment } from '#local/local-run';
import { PROJECT_ROOT } from '#local/python-env';
import { loadSeed } from '#local/seed';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { defaultTableNames } from '#shared/run/deployment';
import type { ExecutionSummary } from '#shared/run/summary';
import { emulatorClients, uniqueName } from '#test/support/aws';
import { objectETags } from '#test/support/backup-fixtures';
import { restoreDeploymentEnvironmentAfterSuite, withLogsOff } from '#test/support/deployment-environment';

const SAMPLE_SEED = join(PROJECT_ROOT, 'local', 'sample-seed.yaml');

describe('upgrade and removal of a deployment (the emulator)', function () {
  this.timeout(180_000);
  restoreDeploymentEnvironmentAfterSuite();
  const groupName = uniqueName('lifecycle');
  const bucket = uniqueName('lifecycle-bucket');
  const tables = defaultTableNames(groupName);
  const { dynamodb } = emulatorClients();
  let scheduler: SchedulerClient;
  let s3: S3Client;
  let region: string;
  let deployment: LocalDeployment;

  const deploy = () =>
    setUpLocalDeployment({
      s3Path: `s3://${bucket}/cmdb`,
      region,
      groupName,
      catalog: { databaseName: groupName.replace(/-/g, '_'), crawlerName: `${groupName}-crawler` },
    });

  const run = async () => {
    const { run: execution } = await withLogsOff(() => startLocalRun(deployment, {}));
    expect(execution.status, JSON.stringify(execution.error)).to.equal('SUCCEEDED');
    return execution.summary as ExecutionSummary;
  };

  const objects = () => objectETags(s3, bucket);

  const groupSchedule = () =>
    scheduler.send(new GetScheduleCommand({ Name: groupName, GroupName: deployment.names.scheduleGroup }));

  before(async () => {
    const sample = loadSeed(SAMPLE_SEED);
    const group = { ...sample.groups[0], groupName };
    region = group.region;
    scheduler = new SchedulerClient({ ...clientSettings(), region });
    s3 = new S3Client({ ...s3ClientSettings(), region });
    deployment = await deploy();
    await seedRegion({ ...sample, groups: [group] }, region);
  });

  it('an upgrade (the same deployment deployed again) keeps the schedule and every backup and archive', async () => {
    await run();
    await dynamodb.send(
      new PutItemCommand({
        TableName: tables.configuration,
        Item: { Key: { S: 'lifecycle.probe' }, Value: { S: '1' } },
      }),
    );
    await run();
    const before = await objects();
    const archives = Object.keys(before).filter((key) => key.includes('/archive/'));
    expect(archives.length, 'two archives of the configuration table, one of the scheduler table').to.equal(3);
    const scheduleBefore = await groupSchedule();

    deployment = await deploy();

    expect(await objects(), 'deploying again writes or deletes nothing in the bucket').to.deep.equal(before);
    const scheduleAfter = await groupSchedule();
    expect(scheduleAfter.CreationDate).to.deep.equal(scheduleBefore.CreationDate);
    expect(scheduleAfter.ScheduleExpression).to.equal(scheduleBefore.ScheduleExpression);

    const summary = await run();
    const after = await objects();
    for (const key of archives) expect(after[key], key).to.equal(before[key]);
    for (const key of Object.keys(before).filter((name) => name.includes('/latest-'))) {
      expect(after[key], `${key}: the tables did not change`).to.equal(before[key]);
    }
    expect(summary.parts.find((part) => part.part === 'schedule')?.reason).to.match(/the schedule is already /);
    expect((await groupSchedule()).CreationDate).to.deep.equal(scheduleBefore.CreationDate);
  });

  it('removal deletes the schedules with their group and no object of the bucket', async () => {
    // What a stack deletion runs: only the deletion of its own resources. None is a bucket, and none
    // runs code when deleted (a custom resource could), so nothing can remove a backup.
    const config = await serverlessConfig({
      parameters: { metadataAndBackupS3Path: `s3://${bucket}/cmdb` },
      givenNames: [],
      stage: 'lifecycle',
      region,
    });
    const types = Object.values(config.resources.Resources as Record<string, { Type: string }>).map(
      (resource) => resource.Type,
    );
    expect(types).to.include('AWS::Scheduler::ScheduleGroup');
    expect(
      types.filter((type) => /^AWS::S3::|^Custom::|^AWS::CloudFormation::CustomResource$/.test(type)),
    ).to.deep.equal([]);
    const before = await objects();
    expect(Object.keys(before).some((key) => key.includes('/archive/'))).to.equal(true);

    await scheduler.send(new DeleteScheduleGroupCommand({ Name: deployment.names.scheduleGroup }));

    const left = await scheduler.send(new ListSchedulesCommand({ GroupName: deployment.names.scheduleGroup }));
    expect(left.Schedules ?? []).to.deep.equal([]);
    expect(await objects()).to.deep.equal(before);
  });
});
