import { gunzipSync } from 'node:zlib';
import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMaintenanceWindowCommand, SSMClient } from '@aws-sdk/client-ssm';
import { expect } from 'chai';
import { recordProblems, TABLES } from '#shared/catalog/schema';
import { applyWindowsSeed, parseWindowsSeed } from '#local/seed-windows';
import { clientSettings } from '#shared/aws/clients';
import type { Deployment } from '#shared/run/deployment';
import { UserInputError } from '#shared/aws/errors';
import {
  exportMaintenanceWindows,
  maintenanceWindowRecords,
  type FleetRecord,
  type TaggedWindow,
} from '#shared/metadata/maintenance-windows';
import { createBucket, emulatorClients, uniqueName } from '#test/support/aws';
import { seedImageId } from '#local/seed-instances';
import { emulatorEc2, launchInstance, recordCalls } from '#test/support/ec2';

const table = TABLES['maintenance-windows'];
const NOW = new Date('2024-05-01T10:30:00Z');
const EXECUTION_START = '2024-05-01T10:29:58.123Z';

function expectValid(records: object[]): void {
  for (const record of records) expect(recordProblems(table, record as Record<string, unknown>)).to.deep.equal([]);
}

describe('maintenance-windows export (emulator)', () => {
  const { s3 } = emulatorClients();
  const ssm = new SSMClient(clientSettings());
  const ec2 = new EC2Client(clientSettings());
  let bucket: string;
  let imageId: string;

  before(async () => {
    bucket = await createBucket(s3);
    imageId = await seedImageId(ec2);
  });

  function deploymentFor(groupName: string): Deployment {
    return {
      groupName,
      accountId: '123456789012',
      region: 'eu-west-1',
      destination: { bucket, prefix: 'cmdb' },
      tables: { configuration: 'c', scheduler: 's' },
      timeZone: 'UTC',
      cloneSquadStackName: `CloneSquad-${groupName}`,
      userSuppliedJsonMetadata: '',
    };
  }

  function launch(groupName: string, subfleet?: string): Promise<string> {
    return launchInstance(ec2, imageId, groupName, subfleet);
  }

  async function seedWindows(groupName: string, section: unknown, client = ssm): Promise<string[]> {
    return applyWindowsSeed(client, groupName, parseWindowsSeed(section, 'test'));
  }

  async function run(groupName: string, now = NOW, client = ssm) {
    const result = await exportMaintenanceWindows({ ssm: client, ec2, s3 }, deploymentFor(groupName), {
      executionStartTime: EXECUTION_START,
      now,
    });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: result.keys![0] }));
    const records = gunzipSync(await object.Body!.transformToByteArray())
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as FleetRecord);
    expectValid(records);
    return { result, records, byFleet: new Map(records.map((record) => [record.Fleet, record])) };
  }

  const groupTag = { 'clonesquad:group-name': '{GroupName}' };

  it('writes one __main__ line without windows for an empty group', async () => {
    const { result, records } = await run(uniqueName('mw'));
    expect(result).to.include({ part: 'metadata/maintenance-windows', status: 'ok', records: 1, newPartition: true });
    expect(result.keys![0]).to.match(/\/maintenance-windows\/accountid=123456789012\/region=eu-west-1\/groupname=mw-/);
    expect(records).to.deep.equal([
      {
        Fleet: '__main__',
        MaintenanceWindows: [],
        IsMaintenanceTime: false,
        NextMaintenanceWindowDetails: null,
        MetadataRecordLastUpdatedAt: '2024-05-01 10:29:58.123',
      },
    ]);
  });

  it('applies CS-GlobalDefaultMaintenanceWindow without tags, to every fleet', async () => {
    // The global default window is shared by every group of a region: this test keeps it to a
    // region of its own and deletes it afterwards.
    const isolated = new SSMClient({ ...clientSettings(), region: 'ap-southeast-2' });
    const groupName = uniqueName('mw');
    await launch(groupName, 'batch');
    const [id] = await seedWindows(
      groupName,
      [{ name: 'CS-GlobalDefaultMaintenanceWindow', schedule: 'cron(0 3 ? * SUN *)', duration: 2, cutoff: 1 }],
      isolated,
    );
    try {
      const { records } = await run(groupName, NOW, isolated);
      expect(records.map((record) => record.Fleet)).to.deep.equal(['__main__', 'batch']);
      for (const record of records) {
        expect(record.MaintenanceWindows).to.deep.equal([
          {
            WindowId: id,
            Name: 'CS-GlobalDefaultMaintenanceWindow',
            Enabled: true,
            Duration: 2,
            Cutoff: 1,
            Schedule: 'cron(0 3 ? * SUN *)',
            NextExecutionTime: '2024-05-05 03:00:00.000',
            Tags: [],
          },
        ]);
        expect(record.IsMaintenanceTime).to.equal(false);
      }
    } finally {
      await isolated.send(new DeleteMaintenanceWindowCommand({ WindowId: id }));
    }
  });

  it('ignores CS-{G} windows without the group tag or tagged for another group', async () => {
    const groupName = uniqueName('mw');
    await seedWindows(groupName, [
      { name: 'CS-{GroupName}', schedule: 'rate(1 hour)', duration: 1, cutoff: 0 },
      {
        name: 'CS-{GroupName}-Mainfleet',
        schedule: 'rate(1 hour)',
        duration: 1,
        cutoff: 0,
        tags: { 'clonesquad:group-name': 'someone-else' },
      },
    ]);
    const { result, records } = await run(groupName);
    expect(records).to.have.length(1);
    expect(records[0]).to.include({ IsMaintenanceTime: false, NextMaintenanceWindowDetails: null });
    expect(records[0].MaintenanceWindows).to.deep.equal([]);
    expect(result.warnings).to.have.length(2);
    expect(result.warnings!.join('\n')).to.match(
      new RegExp(`\\(CS-${groupName}\\) ignored: tag it clonesquad:group-name=${groupName}`),
    );
  });

  it('gives each fleet its own windows: Mainfleet, Subfleet.{name}, Subfleet.__all__ and CS-{G}', async () => {
    const groupName = uniqueName('mw');
    await launch(groupName);
    await launch(groupName, 'web');
    await launch(groupName, 'web');
    await launch(groupName, 'batch');
    const gone = await launch(groupName, 'retired');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
    await launch(uniqueName('other'), 'foreign');
    const window = (name: string) => ({ name, schedule: 'cron(0 1 * * ? *)', duration: 1, cutoff: 0, tags: groupTag });
    await seedWindows(groupName, [
      window('CS-{GroupName}'),
      window('CS-{GroupName}-Mainfleet'),
      window('CS-{GroupName}-Subfleet.__all__'),
      window('CS-{GroupName}-Subfleet.web'),
      window('CS-{GroupName}-Subfleet.retired'),
    ]);
    const { records, byFleet } = await run(groupName);
    expect(records.map((record) => record.Fleet)).to.deep.equal(['__main__', 'batch', 'web']);
    const names = (fleet: string) => byFleet.get(fleet)!.MaintenanceWindows.map((entry) => entry.Name);
    const g = groupName;
    expect(names('__main__')).to.deep.equal([`CS-${g}-Mainfleet`, `CS-${g}`]);
    expect(names('batch')).to.deep.equal([`CS-${g}-Subfleet.__all__`, `CS-${g}`]);
    expect(names('web')).to.deep.equal([`CS-${g}-Subfleet.web`, `CS-${g}-Subfleet.__all__`, `CS-${g}`]);
    const web = byFleet.get('web')!.MaintenanceWindows[0];
    expect(web.Tags).to.deep.equal([{ Key: 'clonesquad:group-name', Value: g }]);
    expect(web.NextExecutionTime).to.equal('2024-05-02 01:00:00.000');
  });

  it('reads the fleets from instance tags, never from DescribeInstances', async () => {
    const groupName = uniqueName('mw');
    await launch(groupName, 'web');
    const gone = await launch(groupName, 'retired');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
    const recorded = emulatorEc2();
    const calls = recordCalls(recorded);

    const result = await exportMaintenanceWindows({ ssm, ec2: recorded, s3 }, deploymentFor(groupName), {
      executionStartTime: EXECUTION_START,
      now: NOW,
    });

    expect(result.records).to.equal(2);
    expect(calls.map((call) => call.command)).to.deep.equal([
      'DescribeTagsCommand',
      'DescribeTagsCommand',
      'DescribeInstanceStatusCommand',
    ]);
  });

  it('says whether each fleet is in maintenance now and when the period starts and ends', async () => {
    const groupName = uniqueName('mw');
    await launch(groupName, 'web');
    // Every fleet: 10:00–12:00 UTC daily. The main fleet also 12:00–13:00 (touching: one period
    // 10:00–13:00). The subfleet also 15:00–16:00 in Paris, 13:00–14:00 UTC in May: not touching.
    const [everyFleet, mainOnly, webOnly] = await seedWindows(groupName, [
      { name: 'CS-{GroupName}', schedule: 'cron(0 10 * * ? *)', duration: 2, cutoff: 1, tags: groupTag },
      { name: 'CS-{GroupName}-Mainfleet', schedule: 'cron(0 12 * * ? *)', duration: 1, cutoff: 0, tags: groupTag },
      {
        name: 'CS-{GroupName}-Subfleet.web',
        schedule: 'cron(0 15 * * ? *)',
        scheduleTimezone: 'Europe/Paris',
        duration: 1,
        cutoff: 0,
        tags: groupTag,
      },
    ]);

    const during = await run(groupName);
    const main = during.byFleet.get('__main__')!;
    expect(main.IsMaintenanceTime).to.equal(true);
    expect(main.NextMaintenanceWindowDetails).to.include({
      StartTime: '2024-05-01 10:00:00.000',
      EndTime: '2024-05-01 13:00:00.000',
    });
    expect(main.NextMaintenanceWindowDetails!.MatchingWindow).to.include({
      WindowId: everyFleet,
      // The matching window's own period, inside the union above; its next start after this one.
      _ActivePeriod: true,
      _StartTime: '2024-05-01 10:00:00.000',
      _EndTime: '2024-05-01 12:00:00.000',
      NextExecutionTime: '2024-05-02 10:00:00.000',
      _FutureNextExecutionTime: '2024-05-02 10:00:00.000',
    });
    expect(main.NextMaintenanceWindowDetails!.MatchingWindowMessage).to.match(/in a maintenance period/);
    for (const window of main.MaintenanceWindows) {
      expect(Object.keys(window).filter((field) => field.startsWith('_'))).to.deep.equal([]);
    }
    const web = during.byFleet.get('web')!;
    expect(web.IsMaintenanceTime).to.equal(true);
    expect(web.NextMaintenanceWindowDetails).to.include({
      StartTime: '2024-05-01 10:00:00.000',
      EndTime: '2024-05-01 12:00:00.000',
    });

    const after = await run(groupName, new Date('2024-05-01T12:30:00Z'));
    expect(after.byFleet.get('__main__')!.IsMaintenanceTime).to.equal(true);
    const webAfter = after.byFleet.get('web')!;
    expect(webAfter.IsMaintenanceTime).to.equal(false);
    // Its own window: 15:00 in Paris, 13:00 UTC in May.
    expect(webAfter.NextMaintenanceWindowDetails).to.include({
      StartTime: '2024-05-01 13:00:00.000',
      EndTime: '2024-05-01 14:00:00.000',
    });
    expect(webAfter.NextMaintenanceWindowDetails!.MatchingWindow).to.include({
      WindowId: webOnly,
      _ActivePeriod: false,
      _StartTime: '2024-05-01 13:00:00.000',
      _EndTime: '2024-05-01 14:00:00.000',
      _FutureNextExecutionTime: '2024-05-01 13:00:00.000',
    });
    expect(webAfter.NextMaintenanceWindowDetails!.NextWindowMessage).to.match(
      /starts at 2024-05-01T13:00:00.000Z \(in 30 min\)/,
    );
    expect(webAfter.NextMaintenanceWindowDetails!).to.not.have.property('MatchingWindowMessage');

    const late = await run(groupName, new Date('2024-05-01T13:30:00Z'));
    const mainLate = late.byFleet.get('__main__')!;
    expect(mainLate.IsMaintenanceTime).to.equal(false);
    expect(mainLate.NextMaintenanceWindowDetails).to.include({
      StartTime: '2024-05-02 10:00:00.000',
      EndTime: '2024-05-02 13:00:00.000',
    });
    expect(mainLate.MaintenanceWindows.map((entry) => entry.WindowId)).to.deep.equal([mainOnly, everyFleet]);
  });

  it('treats a rate(1 hour) window as active whatever the time, with an open-ended period', async () => {
    const groupName = uniqueName('mw');
    await seedWindows(groupName, [
      { name: 'CS-{GroupName}', schedule: 'rate(1 hour)', duration: 1, cutoff: 0, tags: groupTag },
      { name: 'CS-{GroupName}-Mainfleet', schedule: 'cron(0 0 1 1 ? 2099)', duration: 3, cutoff: 0, tags: groupTag },
    ]);
    for (const now of [new Date(), new Date('2024-03-31T01:00:00Z'), new Date('2031-12-31T23:59:59.999Z')]) {
      const { records } = await run(groupName, now);
      expect(records[0].IsMaintenanceTime, now.toISOString()).to.equal(true);
      expect(records[0].NextMaintenanceWindowDetails).to.include({ StartTime: null, EndTime: null });
    }
  });

  it('reports the next period of a window that is not active now', async () => {
    const groupName = uniqueName('mw');
    await seedWindows(groupName, [
      { name: 'CS-{GroupName}', schedule: 'cron(0 0 1 1 ? 2099)', duration: 3, cutoff: 1, tags: groupTag },
    ]);
    const { records } = await run(groupName, new Date());
    expect(records[0].IsMaintenanceTime).to.equal(false);
    expect(records[0].NextMaintenanceWindowDetails).to.include({
      StartTime: '2099-01-01 00:00:00.000',
      EndTime: '2099-01-01 03:00:00.000',
    });
    expect(records[0].MaintenanceWindows[0].NextExecutionTime).to.equal('2099-01-01 00:00:00.000');
  });
});

describe('maintenance-windows records (no emulator)', () => {
  const groupName = 'demo';
  const tagged = [{ Key: 'clonesquad:group-name', Value: groupName }];
  function window(id: string, name: string, fields: Partial<TaggedWindow['identity']> = {}): TaggedWindow {
    return {
      identity: {
        WindowId: id,
        Name: name,
        Enabled: true,
        Duration: 1,
        Cutoff: 0,
        Schedule: 'cron(0 1 * * ? *)',
        ...fields,
      },
      tags: tagged,
    };
  }
  const options = () => ({ now: NOW, updatedAt: '2024-05-01 10:29:58.123', warnings: [] as string[] });

  it('lists a disabled window but never counts it as a maintenance period', () => {
    const records = maintenanceWindowRecords(
      groupName,
      [],
      [window('mw-1', 'CS-demo', { Enabled: false, Schedule: 'rate(1 hour)', Duration: 2 })],
      options(),
    );
    expectValid(records);
    expect(records[0]).to.include({ IsMaintenanceTime: false, NextMaintenanceWindowDetails: null });
    expect(records[0].MaintenanceWindows[0]).to.include({ Enabled: false }).and.not.have.property('NextExecutionTime');
  });

  it("keeps SSM's NextExecutionTime, and says when the schedule disagrees", () => {
    const opts = options();
    const records = maintenanceWindowRecords(
      groupName,
      [],
      [window('mw-1', 'CS-demo', { NextExecutionTime: '2024-05-02T02:00Z', StartDate: '2024-01-01T00:00:00+01:00' })],
      opts,
    );
    expectValid(records);
    expect(records[0].MaintenanceWindows[0]).to.include({
      NextExecutionTime: '2024-05-02 02:00:00.000',
      StartDate: '2023-12-31 23:00:00.000',
    });
    expect(opts.warnings.join('\n')).to.match(/announces the next execution at 2024-05-02T02:00:00.000Z/);
  });

  it('falls back to SSM NextExecutionTime when the schedule cannot be evaluated', () => {
    const opts = options();
    const records = maintenanceWindowRecords(
      groupName,
      ['web'],
      [
        window('mw-1', 'CS-demo-Subfleet.web', {
          Schedule: 'cron(0 12 L-2 * ? *)',
          NextExecutionTime: '2024-05-01T10:00Z',
          Duration: 2,
        }),
      ],
      opts,
    );
    expectValid(records);
    expect(records[1]).to.include({ Fleet: 'web', IsMaintenanceTime: true });
    expect(records[1].NextMaintenanceWindowDetails).to.include({
      StartTime: '2024-05-01 10:00:00.000',
      EndTime: '2024-05-01 12:00:00.000',
    });
    expect(records[0].MaintenanceWindows).to.deep.equal([]);
    expect(opts.warnings.join('\n')).to.match(/L-2.*only its NextExecutionTime from SSM is used/);
  });

  it('unites overlapping periods of several windows, the earliest-started one matching', () => {
    const records = maintenanceWindowRecords(
      groupName,
      [],
      [
        window('mw-a', 'CS-demo', { Schedule: 'cron(0 9 * * ? *)', Duration: 2 }),
        window('mw-b', 'CS-demo-Mainfleet', { Schedule: 'cron(30 10 * * ? *)', Duration: 3 }),
        window('mw-c', 'CS-GlobalDefaultMaintenanceWindow', { Schedule: 'cron(0 13 * * ? *)', Duration: 1 }),
      ],
      options(),
    );
    expectValid(records);
    expect(records[0].IsMaintenanceTime).to.equal(true);
    expect(records[0].NextMaintenanceWindowDetails).to.include({
      StartTime: '2024-05-01 09:00:00.000',
      EndTime: '2024-05-01 14:00:00.000',
    });
    expect(records[0].NextMaintenanceWindowDetails!.MatchingWindow).to.include({
      WindowId: 'mw-a',
      _ActivePeriod: true,
      _StartTime: '2024-05-01 09:00:00.000',
      _EndTime: '2024-05-01 11:00:00.000',
      _FutureNextExecutionTime: '2024-05-02 09:00:00.000',
    });
  });
});

describe('maintenance-windows seed section', () => {
  const problem = (section: unknown) => {
    try {
      parseWindowsSeed(section, 'seed.yaml');
    } catch (error) {
      expect(error).to.be.instanceOf(UserInputError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };
  const base = { name: 'CS-{GroupName}', schedule: 'rate(1 hour)', duration: 1, cutoff: 0 };

  it('accepts the documented form and fills defaults', () => {
    expect(parseWindowsSeed(undefined, 'seed.yaml')).to.deep.equal([]);
    expect(parseWindowsSeed([{ ...base, tags: { a: 'b' } }], 'seed.yaml')).to.deep.equal([
      { ...base, enabled: true, tags: { a: 'b' } },
    ]);
  });

  it('refuses mistakes with the entry, the field and the fix', () => {
    expect(problem({})).to.match(/section maintenanceWindows: it is not a list/);
    expect(problem([{ ...base, durations: 2 }])).to.match(/entry 1: "durations" is not a known field/);
    expect(problem([{ ...base, name: 'CS {GroupName}' }])).to.match(/entry 1, name: "CS \{GroupName\}" is not/);
    expect(problem([{ ...base, schedule: 'cron(0 1 * * *)' }])).to.match(
      /entry 1 \(CS-\{GroupName\}\), schedule "cron\(0 1 \* \* \*\)": cron\(\) takes 6 fields/,
    );
    expect(problem([{ ...base, duration: 25 }])).to.match(/duration: 25 is not a whole number of hours from 1 to 24/);
    expect(problem([{ ...base, duration: 2, cutoff: 2 }])).to.match(/cutoff: 2 is not less than the duration 2/);
    expect(problem([{ ...base, tags: { team: 7 } }])).to.match(
      /tag "team": its value 7 is not a string. Fix: quote it/,
    );
    expect(problem([{ ...base, scheduleTimezone: 'Nowhere/City' }])).to.match(/time zone "Nowhere\/City"/);
  });
});
