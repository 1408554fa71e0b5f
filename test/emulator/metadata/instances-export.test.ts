import { gunzipSync } from 'node:zlib';
import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  Instance$,
  Volume$,
  paginateDescribeInstances,
  paginateDescribeVolumes,
  type Instance,
  type Volume,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { TABLES, recordProblems } from '#shared/catalog/schema';
import { applyInstancesSeed, parseInstancesSeed } from '#local/seed-instances';
import { UserInputError } from '#shared/aws/errors';
import type { MetadataPartResult } from '#shared/metadata/jsonl-writer';
import {
  exportInstancesAndVolumes,
  managedInstancesFilters,
  type InstancesExportResult,
} from '#shared/metadata/instances';
import { metadataKey } from '#shared/aws/s3-layout';
import { createBucket, emulatorClients, resetEmulator, uniqueName } from '#test/support/aws';
import { readObject, rejection, testDeployment } from '#test/support/backup-fixtures';
import { emulatorEc2, launchSeparately, recordCalls, type RecordedCall } from '#test/support/ec2';
import { sdkShapeProblems } from '#test/support/sdk-shapes';

type Line = Record<string, unknown>;

const EXECUTION_START = '2024-05-01T10:00:00.000Z';
const UPDATED_AT = '2024-05-01 10:00:00.000';
const INSTANCE_EXTRAS = ['_Hostname', '_SubfleetName', '_LastStartAttemptTime', 'MetadataRecordLastUpdatedAt'];

async function readLines(s3: ReturnType<typeof emulatorClients>['s3'], bucket: string, key: string): Promise<Line[]> {
  const text = gunzipSync(await readObject(s3, bucket, key)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);
}

/** What JSON makes of an SDK object: Dates become ISO text, undefined members disappear. */
function asJson(value: unknown): Line {
  return JSON.parse(JSON.stringify(value)) as Line;
}

function without(line: Line, fields: string[]): Line {
  return Object.fromEntries(Object.entries(line).filter(([name]) => !fields.includes(name)));
}

function commands(calls: RecordedCall[], name: string): RecordedCall[] {
  return calls.filter((call) => call.command === name);
}

describe('instances and volumes tables: schema', () => {
  it('has a column for every member of the SDK Instance and Volume, with a matching type', () => {
    expect(sdkShapeProblems(Instance$, TABLES.instances.columns, INSTANCE_EXTRAS)).to.deep.equal([]);
    expect(sdkShapeProblems(Volume$, TABLES.volumes.columns, ['MetadataRecordLastUpdatedAt'])).to.deep.equal([]);
  });
});

describe('instances and volumes export (emulator)', function () {
  const { s3 } = emulatorClients();
  const admin = emulatorEc2();
  let bucket: string;

  before(async () => {
    bucket = await createBucket(s3);
  });

  async function exportWithRecordedCalls(deployment: ReturnType<typeof testDeployment>) {
    const ec2 = emulatorEc2();
    const calls = recordCalls(ec2);
    const parts = await exportInstancesAndVolumes({ ec2, s3 }, deployment, { executionStartTime: EXECUTION_START });
    return { parts, calls };
  }

  it('writes both partition objects, empty, for a group without instances', async () => {
    const deployment = testDeployment({ bucket });
    const { parts, calls } = await exportWithRecordedCalls(deployment);

    for (const [part, table] of [
      [parts[0], 'instances'],
      [parts[1], 'volumes'],
    ] as const) {
      const key = metadataKey(deployment.destination!, deployment, table);
      expect(part).to.deep.include({ part: `metadata/${table}`, status: 'ok', records: 0, keys: [key] });
      expect(await readLines(s3, bucket, key)).to.deep.equal([]);
    }
    const describes = commands(calls, 'DescribeInstancesCommand');
    expect(describes).to.have.length(1);
    expect(describes[0].input).to.deep.include({
      Filters: managedInstancesFilters(deployment.groupName),
      MaxResults: 1000,
      NextToken: undefined,
    });
    expect(managedInstancesFilters('g')).to.deep.equal([
      { Name: 'tag:clonesquad:group-name', Values: ['g'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(commands(calls, 'DescribeVolumesCommand')).to.have.length(0);
  });

  describe('a fleet of 2,500 managed instances', function () {
    const FLEET = 2500;
    const deployment = testDeployment({ bucket: 'set-in-before' });
    let parts: InstancesExportResult;
    let calls: RecordedCall[];
    let instanceLines: Line[];
    let volumeLines: Line[];
    /** The managed instances and their volumes, as the SDK reads them independently of the exporter. */
    let sdkInstances: Map<string, Instance>;
    let sdkVolumes: Map<string, Volume>;
    let excludedIds: string[];

    before(async function () {
      this.timeout(900_000);
      deployment.destination = { bucket, prefix: 'org/clonesquad' };
      const group = deployment.groupName;
      const seed = parseInstancesSeed(
        [
          { name: 'web', subfleet: 'front', volumes: [{ sizeGiB: 20 }, { sizeGiB: 30, device: '/dev/sdh' }] },
          { name: 'batch', count: 3, state: 'stopped', tags: { team: 'data' } },
        ],
        'test',
      );
      const seeded = await applyInstancesSeed(admin, group, seed);
      excludedIds = [
        ...(await applyInstancesSeed(
          admin,
          group,
          parseInstancesSeed([{ name: 'gone', state: 'terminated' }], 'test'),
        )),
        ...(await applyInstancesSeed(
          admin,
          group,
          parseInstancesSeed(
            [{ name: 'neighbour', tags: { 'clonesquad:group-name': uniqueName('other') }, volumes: [{ sizeGiB: 5 }] }],
            'test',
          ),
        )),
      ];
      await launchSeparately(admin, group, FLEET - seeded.length);

      ({ parts, calls } = await exportWithRecordedCalls(deployment));
      instanceLines = await readLines(s3, bucket, parts[0].keys![0]);
      volumeLines = await readLines(s3, bucket, parts[1].keys![0]);

      sdkInstances = new Map();
      const pages = paginateDescribeInstances(
        // The emulator filters the whole fleet for every page: few large pages keep this quick.
        { client: admin, pageSize: 1000 },
        { Filters: managedInstancesFilters(group) },
      );
      for await (const page of pages) {
        for (const instance of page.Reservations!.flatMap((reservation) => reservation.Instances!)) {
          sdkInstances.set(instance.InstanceId!, instance);
        }
      }
      const volumeIds = [...sdkInstances.values()].flatMap((instance) =>
        instance.BlockDeviceMappings!.map((mapping) => mapping.Ebs!.VolumeId!),
      );
      sdkVolumes = new Map();
      for (let start = 0; start < volumeIds.length; start += 500) {
        for await (const page of paginateDescribeVolumes(
          { client: admin },
          { VolumeIds: volumeIds.slice(start, start + 500) },
        )) {
          for (const volume of page.Volumes!) sdkVolumes.set(volume.VolumeId!, volume);
        }
      }
    });

    it('reads DescribeInstances page by page (MaxResults 1000) and DescribeVolumes 500 ids at a time', () => {
      const describes = commands(calls, 'DescribeInstancesCommand');
      expect(describes.length).to.be.greaterThan(2);
      for (const call of describes) expect(call.input.MaxResults).to.equal(1000);
      expect(describes.slice(1).every((call) => typeof call.input.NextToken === 'string')).to.equal(true);

      const volumeCalls = commands(calls, 'DescribeVolumesCommand');
      expect(volumeCalls).to.have.length(Math.ceil(sdkVolumes.size / 500));
      const asked = volumeCalls.flatMap((call) => call.input.VolumeIds as string[]);
      expect(volumeCalls.every((call) => (call.input.VolumeIds as string[]).length <= 500)).to.equal(true);
      expect(new Set(asked).size).to.equal(asked.length);
      expect(new Set(asked)).to.deep.equal(new Set(sdkVolumes.keys()));
    });

    it('exports every managed instance once, and no other', () => {
      expect(parts[0]).to.include({ part: 'metadata/instances', status: 'ok', records: FLEET });
      const ids = instanceLines.map((line) => line.InstanceId as string);
      expect(ids).to.have.length(FLEET);
      expect(new Set(ids)).to.deep.equal(new Set(sdkInstances.keys()));
      for (const excluded of excludedIds) expect(ids).not.to.include(excluded);
      const states = new Set(instanceLines.map((line) => (line.State as { Name: string }).Name));
      expect(states).to.deep.equal(new Set(['running', 'stopped']));
    });

    it('writes each instance as the SDK reads it, plus the CloneSquad fields', () => {
      for (const line of instanceLines) {
        const instance = sdkInstances.get(line.InstanceId as string)!;
        expect(without(line, INSTANCE_EXTRAS)).to.deep.equal(asJson(instance));
        expect(line._LastStartAttemptTime).to.equal(instance.LaunchTime!.toISOString().replace('T', ' ').slice(0, -1));
        expect(line.MetadataRecordLastUpdatedAt).to.equal(UPDATED_AT);
      }
      const byName = (name: string) => instanceLines.filter((line) => line._Hostname === name);
      expect(byName('web')).to.have.length(1);
      expect(byName('web')[0]._SubfleetName).to.equal('front');
      for (const name of ['batch-1', 'batch-2', 'batch-3']) {
        expect(byName(name)).to.have.length(1);
        expect(byName(name)[0]).not.to.have.property('_SubfleetName');
        expect(byName(name)[0].State).to.deep.equal({ Code: 80, Name: 'stopped' });
      }
      const unnamed = instanceLines.filter((line) => line._Hostname === null);
      expect(unnamed).to.have.length(FLEET - 4);
      expect(unnamed.every((line) => !('_SubfleetName' in line))).to.equal(true);
    });

    it('exports the volumes of managed instances only, as DescribeVolumes reads them', () => {
      expect(parts[1]).to.include({ part: 'metadata/volumes', status: 'ok', records: sdkVolumes.size });
      expect(sdkVolumes.size).to.equal(FLEET + 2);
      for (const line of volumeLines) {
        expect(line).to.deep.equal({
          ...asJson(sdkVolumes.get(line.VolumeId as string)),
          MetadataRecordLastUpdatedAt: UPDATED_AT,
        });
      }
      expect(new Set(volumeLines.map((line) => line.VolumeId))).to.deep.equal(new Set(sdkVolumes.keys()));
      const web = instanceLines.find((line) => line._Hostname === 'web')!;
      const webVolumes = volumeLines.filter((line) =>
        (line.Attachments as { InstanceId: string }[]).some((attachment) => attachment.InstanceId === web.InstanceId),
      );
      expect(webVolumes.map((line) => line.Size).sort()).to.deep.equal([20, 30, 8]);
    });

    it('writes only lines that the table schemas accept', () => {
      for (const line of instanceLines) expect(recordProblems(TABLES.instances, line)).to.deep.equal([]);
      for (const line of volumeLines) expect(recordProblems(TABLES.volumes, line)).to.deep.equal([]);
    });

    // The last suite of this file: the fleet is emptied so that later suites run at normal speed.
    after(async function () {
      this.timeout(60_000);
      await resetEmulator();
    });
  });
});

describe('instances and volumes export: failures (mocked EC2)', () => {
  const { s3 } = emulatorClients();
  const ec2 = new EC2Client({ region: 'eu-west-1' });
  const ec2Mock = mockClient(ec2);
  let bucket: string;
  const instance: Instance = {
    InstanceId: 'i-0123456789abcdef0',
    LaunchTime: new Date('2024-04-01T08:00:00Z'),
    State: { Code: 16, Name: 'running' },
    Tags: [{ Key: 'clonesquad:group-name', Value: 'g' }],
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-root' } },
      { DeviceName: '/dev/sdf', Ebs: { VolumeId: 'vol-gone' } },
      { DeviceName: '/dev/sdg', Ebs: { VolumeId: 'vol-data' } },
    ],
  };
  const ec2Error = (name: string, message: string) =>
    new EC2ServiceException({ name, message, $fault: 'client', $metadata: {} });

  before(async () => {
    bucket = await createBucket(s3);
  });
  beforeEach(() => {
    ec2Mock.reset();
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance] }] });
  });

  it('keeps the instances part when only the volumes fail', async () => {
    ec2Mock.on(DescribeVolumesCommand).rejects(ec2Error('UnauthorizedOperation', 'not allowed: ec2:DescribeVolumes'));
    const deployment = testDeployment({ bucket });
    const [instancesPart, volumesPart] = await exportInstancesAndVolumes({ ec2, s3 }, deployment, {
      executionStartTime: EXECUTION_START,
    });
    expect(instancesPart).to.include({ status: 'ok', records: 1 });
    expect(volumesPart).to.deep.equal({
      part: 'metadata/volumes',
      status: 'failed',
      error: { name: 'UnauthorizedOperation', message: 'not allowed: ec2:DescribeVolumes' },
    });
    const [line] = await readLines(s3, bucket, instancesPart.keys![0]);
    expect(line).to.deep.equal({
      ...asJson(instance),
      _Hostname: null,
      _LastStartAttemptTime: '2024-04-01 08:00:00.000',
      MetadataRecordLastUpdatedAt: UPDATED_AT,
    });
  });

  it('fails as a whole when the instances cannot be read', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejects(ec2Error('UnauthorizedOperation', 'not allowed: ec2:DescribeInstances'));
    const failure = await rejection(
      exportInstancesAndVolumes({ ec2, s3 }, testDeployment({ bucket }), { executionStartTime: EXECUTION_START }),
    );
    expect(failure.message).to.equal('not allowed: ec2:DescribeInstances');
    expect(ec2Mock.commandCalls(DescribeVolumesCommand)).to.have.length(0);
  });

  it('leaves out, with a warning, a volume deleted since DescribeInstances', async () => {
    ec2Mock.on(DescribeVolumesCommand).callsFake(async (input: { VolumeIds: string[] }) => {
      if (input.VolumeIds.includes('vol-gone')) {
        throw ec2Error('InvalidVolume.NotFound', "The volume 'vol-gone' does not exist.");
      }
      return { Volumes: input.VolumeIds.map((VolumeId) => ({ VolumeId, Size: 8 })) };
    });
    const [, volumesPart] = await exportInstancesAndVolumes({ ec2, s3 }, testDeployment({ bucket }), {
      executionStartTime: EXECUTION_START,
    });
    expect(volumesPart).to.include({ status: 'ok', records: 2 });
    expect(volumesPart.warnings).to.deep.equal([
      'volume vol-gone no longer exists (deleted since DescribeInstances); left out',
    ]);
    const lines = await readLines(s3, bucket, (volumesPart as MetadataPartResult).keys![0]);
    expect(lines.map((line) => line.VolumeId)).to.deep.equal(['vol-root', 'vol-data']);
  });
});

describe('instances seed section', () => {
  const parse = (section: unknown) => parseInstancesSeed(section, 'seed.yaml');

  it('fills in the defaults', () => {
    expect(parse(undefined)).to.deep.equal([]);
    expect(parse([{}, { name: 'db', volumes: [{ sizeGiB: 10 }, { sizeGiB: 20, device: '/dev/sdf' }] }])).to.deep.equal([
      {
        name: undefined,
        subfleet: undefined,
        instanceType: 't3.micro',
        state: 'running',
        count: 1,
        volumes: [],
        tags: {},
      },
      {
        name: 'db',
        subfleet: undefined,
        instanceType: 't3.micro',
        state: 'running',
        count: 1,
        volumes: [
          { sizeGiB: 10, device: '/dev/sdg' },
          { sizeGiB: 20, device: '/dev/sdf' },
        ],
        tags: {},
      },
    ]);
  });

  for (const [section, message] of [
    [{ name: 'x' }, /section instances: it is not a list/],
    [[{ nmae: 'x' }], /item 1: "nmae" is not a known field. Fix: use only name, subfleet/],
    [[{ state: 'paused' }], /state "paused" is not one of running, stopped, terminated/],
    [[{ count: 0 }], /count 0 is not a whole number from 1 to 5000/],
    [[{ volumes: [{ sizeGiB: 1.5 }] }], /volumes\[0\]: sizeGiB 1.5 is not a whole number of GiB/],
    [[{ volumes: [{ sizeGiB: 1, device: '/dev/sda1' }] }], /device "\/dev\/sda1" is not a data volume device name/],
    [
      [
        {
          volumes: [
            { sizeGiB: 1, device: '/dev/sdf' },
            { sizeGiB: 1, device: '/dev/sdf' },
          ],
        },
      ],
      /device \/dev\/sdf is used twice/,
    ],
    [[{ tags: { Name: 'x' } }], /tag "Name": this tag has its own field. Fix: use "name" instead/],
    [[{ tags: { team: 3 } }], /tag "team": its value 3 is not a string/],
    [[{ instanceType: 'huge' }], /instanceType "huge" is not an EC2 instance type name/],
  ] as const) {
    it(`refuses ${JSON.stringify(section)}`, () => {
      let failure: unknown;
      try {
        parse(section);
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(UserInputError);
      expect((failure as Error).message)
        .to.match(message)
        .and.match(/^seed file seed\.yaml, section instances/);
    });
  }
});
