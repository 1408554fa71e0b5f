import { gunzipSync } from 'node:zlib';
import {
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  Instance$,
  InstanceTypeInfo$,
  Volume$,
  paginateDescribeInstances,
  paginateDescribeVolumes,
  type Instance,
  type InstanceTypeInfo,
  type Volume,
} from '@aws-sdk/client-ec2';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { TABLES, recordProblems } from '#shared/catalog/schema';
import { array, boolean, string, struct } from '#shared/catalog/schema-types';
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
/** The fields CloneSquad adds to the DescribeInstances object, whose values depend on more than the object. */
const INSTANCE_EXTRAS = [
  '_Hostname',
  '_SubfleetName',
  '_LastStartAttemptTime',
  '_InstanceType',
  'MetadataRecordLastUpdatedAt',
];

async function readLines(s3: ReturnType<typeof emulatorClients>['s3'], bucket: string, key: string): Promise<Line[]> {
  const text = gunzipSync(await readObject(s3, bucket, key)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);
}

const naiveText = (date: Date) => date.toISOString().replace('T', ' ').slice(0, -1);

/** What a table line holds of an SDK object: its JSON, with times as naive UTC text. */
function asLine(value: unknown): Line {
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, converted: unknown) {
    const raw = this[key];
    return raw instanceof Date ? naiveText(raw) : converted;
  });
  return JSON.parse(json) as Line;
}

/**
 * The line of an instance but the CloneSquad fields: times as naive UTC text, ProductCodes and
 * every interface's Ipv6Addresses as the original's lists of strings, their structures beside.
 */
function instanceLine(instance: Instance): Line {
  const line = asLine(instance);
  if (instance.ProductCodes) {
    line.ProductCodes = instance.ProductCodes.map((code) => code.ProductCodeId);
    line._ProductCodes = asLine({ list: instance.ProductCodes }).list;
  }
  if (instance.NetworkInterfaces) {
    line.NetworkInterfaces = instance.NetworkInterfaces.map((networkInterface) => {
      const written = asLine(networkInterface);
      if (!networkInterface.Ipv6Addresses) return written;
      return {
        ...written,
        Ipv6Addresses: networkInterface.Ipv6Addresses.map((address) => address.Ipv6Address),
        _Ipv6Addresses: written.Ipv6Addresses,
      };
    });
  }
  return line;
}

function without(line: Line, fields: string[]): Line {
  return Object.fromEntries(Object.entries(line).filter(([name]) => !fields.includes(name)));
}

function commands(calls: RecordedCall[], name: string): RecordedCall[] {
  return calls.filter((call) => call.command === name);
}

interface PageCalls {
  instances: Instance[];
  /** Instance types and volume ids asked for after this page was read, before the next one. */
  askedTypes: string[];
  askedVolumes: string[];
  volumeCalls: number;
}

/** The calls of an export, grouped by the page of DescribeInstances they follow. */
function callsByPage(calls: RecordedCall[]): PageCalls[] {
  const pages: PageCalls[] = [];
  for (const call of calls) {
    if (call.command === 'DescribeInstancesCommand') {
      const reservations = (call.output?.Reservations ?? []) as { Instances: Instance[] }[];
      pages.push({
        instances: reservations.flatMap((reservation) => reservation.Instances),
        askedTypes: [],
        askedVolumes: [],
        volumeCalls: 0,
      });
    } else if (call.command === 'DescribeInstanceTypesCommand') {
      pages.at(-1)!.askedTypes.push(...(call.input.InstanceTypes as string[]));
    } else if (call.command === 'DescribeVolumesCommand') {
      pages.at(-1)!.askedVolumes.push(...(call.input.VolumeIds as string[]));
      pages.at(-1)!.volumeCalls += 1;
    }
  }
  return pages;
}

const distinct = <T>(values: T[]) => [...new Set(values)].sort();

describe('instances and volumes tables: schema', () => {
  const column = (name: string) => TABLES.instances.columns.find((candidate) => candidate.name === name)!;

  it('has a column for every member of the SDK Instance and Volume, with a matching type', () => {
    expect(
      sdkShapeProblems(Instance$, TABLES.instances.columns, {
        added: [...INSTANCE_EXTRAS, '_ProductCodes', 'NetworkInterfaces[]._Ipv6Addresses'],
        stringLists: ['ProductCodes', 'NetworkInterfaces[].Ipv6Addresses'],
      }),
    ).to.deep.equal([]);
    expect(sdkShapeProblems(Volume$, TABLES.volumes.columns, { added: ['MetadataRecordLastUpdatedAt'] })).to.deep.equal(
      [],
    );
  });

  it('has in _InstanceType a field for every member of the SDK InstanceTypeInfo, with a matching type', () => {
    const type = column('_InstanceType').type;
    expect(type.kind).to.equal('struct');
    expect(sdkShapeProblems(InstanceTypeInfo$, type.kind === 'struct' ? type.fields : [])).to.deep.equal([]);
  });

  it('keeps the SDK structures of the lists written as strings in columns of their own', () => {
    expect(column('_ProductCodes').type).to.deep.equal(
      array(struct({ ProductCodeId: string, ProductCodeType: string })),
    );
    const networkInterface = column('NetworkInterfaces').type;
    const fields =
      networkInterface.kind === 'array' && networkInterface.of.kind === 'struct' ? networkInterface.of.fields : [];
    expect(fields.find((field) => field.name === '_Ipv6Addresses')?.type).to.deep.equal(
      array(struct({ Ipv6Address: string, IsPrimaryIpv6: boolean })),
    );
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
      MaxResults: 500,
      NextToken: undefined,
    });
    expect(managedInstancesFilters('g')).to.deep.equal([
      { Name: 'tag:clonesquad:group-name', Values: ['g'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(calls.map((call) => call.command)).to.deep.equal(['DescribeInstancesCommand']);
  });

  describe('a fleet of 2,500 managed instances of three types', function () {
    const FLEET = 2500;
    const deployment = testDeployment({ bucket: 'set-in-before' });
    let parts: InstancesExportResult;
    let calls: RecordedCall[];
    let instanceLines: Line[];
    let volumeLines: Line[];
    /** The managed instances, their volumes and their types, as the SDK reads them independently of the exporter. */
    let sdkInstances: Map<string, Instance>;
    let sdkVolumes: Map<string, Volume>;
    let sdkTypes: Map<string, InstanceTypeInfo>;
    let excludedIds: string[];

    before(async function () {
      this.timeout(900_000);
      deployment.destination = { bucket, prefix: 'org/clonesquad' };
      const group = deployment.groupName;
      const seed = parseInstancesSeed(
        [
          {
            name: 'web',
            subfleet: 'front',
            instanceType: 't3.small',
            volumes: [{ sizeGiB: 20 }, { sizeGiB: 30, device: '/dev/sdh' }],
          },
          { name: 'batch', count: 3, instanceType: 'm5.large', state: 'stopped', tags: { team: 'data' } },
        ],
        'test',
      );
      const seeded = await applyInstancesSeed(admin, group, seed);
      excludedIds = [
        ...(await applyInstancesSeed(
          admin,
          group,
          parseInstancesSeed([{ name: 'gone', state: 'terminated', instanceType: 'c5.large' }], 'test'),
        )),
        ...(await applyInstancesSeed(
          admin,
          group,
          parseInstancesSeed(
            [
              {
                name: 'neighbour',
                instanceType: 'r5.large',
                tags: { 'clonesquad:group-name': uniqueName('other') },
                volumes: [{ sizeGiB: 5 }],
              },
            ],
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
      const { InstanceTypes: types } = await admin.send(
        new DescribeInstanceTypesCommand({
          InstanceTypes: distinct([...sdkInstances.values()].map((instance) => instance.InstanceType!)),
        }),
      );
      sdkTypes = new Map(types!.map((type) => [type.InstanceType!, type]));
    });

    it('reads DescribeInstances page by page (MaxResults 500: a page of 1,000 is ~5 MB of XML parsed whole)', () => {
      const describes = commands(calls, 'DescribeInstancesCommand');
      expect(describes.length).to.be.greaterThan(2);
      for (const call of describes) expect(call.input.MaxResults).to.equal(500);
      expect(describes.slice(1).every((call) => typeof call.input.NextToken === 'string')).to.equal(true);
    });

    it("describes each page's volumes before reading the next page, 500 ids at most a call, each volume once", () => {
      const pages = callsByPage(calls);
      for (const page of pages) {
        const pageVolumes = page.instances.flatMap((instance) =>
          (instance.BlockDeviceMappings ?? []).map((mapping) => mapping.Ebs!.VolumeId!),
        );
        expect(page.askedVolumes.slice().sort()).to.deep.equal(pageVolumes.slice().sort());
        expect(page.volumeCalls).to.equal(Math.ceil(pageVolumes.length / 500));
      }
      for (const call of commands(calls, 'DescribeVolumesCommand')) {
        expect((call.input.VolumeIds as string[]).length).to.be.at.most(500);
      }
      const asked = pages.flatMap((page) => page.askedVolumes);
      expect(new Set(asked).size).to.equal(asked.length);
      expect(new Set(asked)).to.deep.equal(new Set(sdkVolumes.keys()));
    });

    it('describes each instance type of the fleet once, with the first page that has it', () => {
      const pages = callsByPage(calls);
      const known = new Set<string>();
      for (const page of pages) {
        const newTypes = distinct(page.instances.map((instance) => instance.InstanceType!)).filter(
          (type) => !known.has(type),
        );
        expect(page.askedTypes.slice().sort()).to.deep.equal(newTypes);
        for (const type of newTypes) known.add(type);
      }
      expect([...known].sort()).to.deep.equal(['m5.large', 't3.micro', 't3.small']);
      const typeCalls = commands(calls, 'DescribeInstanceTypesCommand');
      expect(typeCalls.length).to.be.at.most(3);
      for (const call of typeCalls) expect(call.input.MaxResults).to.equal(100);
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

    it('writes each instance as the SDK reads it, times as naive UTC text, plus the CloneSquad fields', () => {
      for (const line of instanceLines) {
        const instance = sdkInstances.get(line.InstanceId as string)!;
        expect(without(line, INSTANCE_EXTRAS)).to.deep.equal(instanceLine(instance));
        expect(line.LaunchTime).to.equal(naiveText(instance.LaunchTime!));
        expect(line._LastStartAttemptTime).to.equal(naiveText(instance.LaunchTime!));
        expect(line._InstanceType).to.deep.equal(asLine(sdkTypes.get(instance.InstanceType!)));
        expect(line.MetadataRecordLastUpdatedAt).to.equal(UPDATED_AT);
      }
      const byName = (name: string) => instanceLines.filter((line) => line._Hostname === name);
      expect(byName('web')).to.have.length(1);
      expect(byName('web')[0]._SubfleetName).to.equal('front');
      expect((byName('web')[0]._InstanceType as Line).InstanceType).to.equal('t3.small');
      for (const name of ['batch-1', 'batch-2', 'batch-3']) {
        expect(byName(name)).to.have.length(1);
        expect(byName(name)[0]).not.to.have.property('_SubfleetName');
        expect(byName(name)[0].State).to.deep.equal({ Code: 80, Name: 'stopped' });
        expect((byName(name)[0]._InstanceType as Line).InstanceType).to.equal('m5.large');
      }
      const unnamed = instanceLines.filter((line) => line._Hostname === null);
      expect(unnamed).to.have.length(FLEET - 4);
      expect(unnamed.every((line) => !('_SubfleetName' in line))).to.equal(true);
    });

    it('exports the volumes of managed instances only, as DescribeVolumes reads them, times as naive UTC text', () => {
      expect(parts[1]).to.include({ part: 'metadata/volumes', status: 'ok', records: sdkVolumes.size });
      expect(sdkVolumes.size).to.equal(FLEET + 2);
      for (const line of volumeLines) {
        const volume = sdkVolumes.get(line.VolumeId as string)!;
        expect(line).to.deep.equal({ ...asLine(volume), MetadataRecordLastUpdatedAt: UPDATED_AT });
        expect(line.CreateTime).to.equal(naiveText(volume.CreateTime!));
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

describe('instances and volumes export: paging and failures (mocked EC2)', () => {
  const { s3 } = emulatorClients();
  const ec2 = new EC2Client({ region: 'eu-west-1' });
  const ec2Mock = mockClient(ec2);
  let bucket: string;
  const ec2Error = (name: string, message: string) =>
    new EC2ServiceException({ name, message, $fault: 'client', $metadata: {} });
  /** The calls answered, in order, as `Command: what it asked for`. */
  let callLog: string[];

  /** An instance of `type` with one EBS volume per id of `volumes`. */
  const instance = (id: string, type: string, volumes: string[]): Instance => ({
    InstanceId: id,
    InstanceType: type as Instance['InstanceType'],
    LaunchTime: new Date('2024-04-01T08:00:00Z'),
    State: { Code: 16, Name: 'running' },
    Tags: [{ Key: 'clonesquad:group-name', Value: 'g' }],
    BlockDeviceMappings: volumes.map((VolumeId, index) => ({
      DeviceName: `/dev/sd${'fghijk'[index]}`,
      Ebs: { VolumeId },
    })),
  });
  const typeInfo = (type: string): InstanceTypeInfo => ({
    InstanceType: type as InstanceTypeInfo['InstanceType'],
    MemoryInfo: { SizeInMiB: 1024 },
    ProcessorInfo: { SustainedClockSpeedInGhz: 2.5 },
  });

  /** DescribeInstances answering `pages`, one reservation per instance, NextToken the page index. */
  function answerPages(pages: Instance[][]): void {
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { NextToken?: string }) => {
      callLog.push(`DescribeInstances: ${input.NextToken ?? 'first page'}`);
      const index = Number(input.NextToken ?? 0);
      return {
        Reservations: pages[index].map((one) => ({ Instances: [one] })),
        NextToken: index + 1 < pages.length ? String(index + 1) : undefined,
      };
    });
  }

  /** DescribeInstanceTypes knowing every type but `unknown`, refusing a request naming one as EC2 does. */
  function answerTypes(unknown: string[] = []): void {
    ec2Mock.on(DescribeInstanceTypesCommand).callsFake((input: { InstanceTypes: string[] }) => {
      callLog.push(`DescribeInstanceTypes: ${input.InstanceTypes.join(',')}`);
      const missing = input.InstanceTypes.filter((type) => unknown.includes(type));
      if (missing.length > 0) {
        throw ec2Error(
          'InvalidInstanceType',
          `The following supplied instance types do not exist: [${missing.join(', ')}]`,
        );
      }
      return { InstanceTypes: input.InstanceTypes.map(typeInfo) };
    });
  }

  function answerVolumes(attachments: (id: string) => string[] = () => []): void {
    ec2Mock.on(DescribeVolumesCommand).callsFake(async (input: { VolumeIds: string[] }) => {
      callLog.push(`DescribeVolumes: ${input.VolumeIds.join(',')}`);
      return {
        Volumes: input.VolumeIds.map((VolumeId) => ({
          VolumeId,
          Size: 8,
          CreateTime: new Date('2024-04-01T07:59:00Z'),
          Attachments: attachments(VolumeId).map((InstanceId) => ({
            InstanceId,
            VolumeId,
            AttachTime: new Date('2024-04-01T08:00:00Z'),
          })),
        })),
      };
    });
  }

  async function exportParts(deployment = testDeployment({ bucket })) {
    const parts = await exportInstancesAndVolumes({ ec2, s3 }, deployment, { executionStartTime: EXECUTION_START });
    return { deployment, parts };
  }

  before(async () => {
    bucket = await createBucket(s3);
  });
  beforeEach(() => {
    ec2Mock.reset();
    callLog = [];
    answerTypes();
    answerVolumes();
  });

  it("describes each page's new instance types, then its volumes, before reading the next page", async () => {
    answerPages([
      [instance('i-1', 't3.micro', ['vol-1']), instance('i-2', 'm5.large', ['vol-2', 'vol-3'])],
      [instance('i-3', 'm5.large', ['vol-4']), instance('i-4', 'c5.xlarge', [])],
      [instance('i-5', 't3.micro', ['vol-5'])],
    ]);
    const { parts } = await exportParts();
    expect(callLog).to.deep.equal([
      'DescribeInstances: first page',
      'DescribeInstanceTypes: m5.large,t3.micro',
      'DescribeVolumes: vol-1,vol-2,vol-3',
      'DescribeInstances: 1',
      'DescribeInstanceTypes: c5.xlarge',
      'DescribeVolumes: vol-4',
      'DescribeInstances: 2',
      'DescribeVolumes: vol-5',
    ]);
    expect(parts.map((part) => [part.status, part.records])).to.deep.equal([
      ['ok', 5],
      ['ok', 5],
    ]);
  });

  it('asks DescribeInstanceTypes for 100 types at most a call', async () => {
    const types = Array.from({ length: 230 }, (_, index) => `x${index}.large`);
    answerPages([types.map((type, index) => instance(`i-${index}`, type, []))]);
    const { parts } = await exportParts();
    const asked = ec2Mock.commandCalls(DescribeInstanceTypesCommand).map((call) => call.args[0].input);
    expect(asked.map((input) => input.InstanceTypes!.length)).to.deep.equal([100, 100, 30]);
    expect(asked.every((input) => input.MaxResults === 100)).to.equal(true);
    expect(distinct(asked.flatMap((input) => input.InstanceTypes!))).to.deep.equal(distinct(types));
    const lines = await readLines(s3, bucket, parts[0].keys![0]);
    expect(lines.map((line) => (line._InstanceType as Line).InstanceType)).to.deep.equal(
      lines.map((line) => line.InstanceType),
    );
  });

  it('writes _InstanceType null, with a warning, for a type DescribeInstanceTypes does not know', async () => {
    answerPages([
      [
        instance('i-1', 't3.micro', []),
        instance('i-2', 't1.retired', []),
        instance('i-3', 'm5.large', []),
        instance('i-4', 't1.retired', []),
      ],
    ]);
    answerTypes(['t1.retired']);
    const { parts } = await exportParts();
    expect(parts[0]).to.include({ status: 'ok', records: 4 });
    expect(parts[0].warnings).to.deep.equal([
      'DescribeInstanceTypes does not know instance type t1.retired; its instances have _InstanceType null',
    ]);
    const lines = await readLines(s3, bucket, parts[0].keys![0]);
    expect(
      lines.map((line) => [line.InstanceId, (line._InstanceType as Line | null)?.InstanceType ?? null]),
    ).to.deep.equal([
      ['i-1', 't3.micro'],
      ['i-2', null],
      ['i-3', 'm5.large'],
      ['i-4', null],
    ]);
  });

  it('writes _InstanceType null, with one warning naming the grant, when DescribeInstanceTypes is refused', async () => {
    answerPages([[instance('i-1', 't3.micro', [])], [instance('i-2', 'm5.large', [])]]);
    ec2Mock
      .on(DescribeInstanceTypesCommand)
      .rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    const { parts } = await exportParts();
    expect(parts[0]).to.include({ status: 'ok', records: 2 });
    expect(parts[0].warnings).to.deep.equal([
      'DescribeInstanceTypes failed (UnauthorizedOperation: You are not authorized to perform this operation.); ' +
        '_InstanceType is null for every type not described before. Fix: grant ec2:DescribeInstanceTypes on "*" to ' +
        'the exportInstances role',
    ]);
    expect(ec2Mock.commandCalls(DescribeInstanceTypesCommand)).to.have.length(1);
    const lines = await readLines(s3, bucket, parts[0].keys![0]);
    expect(lines.map((line) => line._InstanceType)).to.deep.equal([null, null]);
  });

  it('writes a volume attached to managed instances of two pages once', async () => {
    answerPages([
      [instance('i-1', 't3.micro', ['vol-root-1', 'vol-shared'])],
      [instance('i-2', 't3.micro', ['vol-root-2', 'vol-shared'])],
    ]);
    answerVolumes((id) => (id === 'vol-shared' ? ['i-1', 'i-2'] : [`i-${id.slice(-1)}`]));
    const { parts } = await exportParts();
    const lines = await readLines(s3, bucket, (parts[1] as MetadataPartResult).keys![0]);
    expect(lines.map((line) => line.VolumeId)).to.deep.equal(['vol-root-1', 'vol-shared', 'vol-root-2']);
    expect(lines[1]).to.deep.equal({
      VolumeId: 'vol-shared',
      Size: 8,
      CreateTime: '2024-04-01 07:59:00.000',
      Attachments: [
        { InstanceId: 'i-1', VolumeId: 'vol-shared', AttachTime: '2024-04-01 08:00:00.000' },
        { InstanceId: 'i-2', VolumeId: 'vol-shared', AttachTime: '2024-04-01 08:00:00.000' },
      ],
      MetadataRecordLastUpdatedAt: UPDATED_AT,
    });
  });

  it('keeps the instances part, and the previous volumes object, when the volumes fail on a later page', async () => {
    const deployment = testDeployment({ bucket });
    const volumesKey = metadataKey(deployment.destination!, deployment, 'volumes');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: volumesKey, Body: 'previous' }));
    answerPages(['1', '2', '3'].map((n) => [instance(`i-${n}`, 't3.micro', [`vol-${n}`])]));
    answerVolumes((id) => [`i-${id.slice(-1)}`]);
    ec2Mock.on(DescribeVolumesCommand, { VolumeIds: ['vol-2'] }).callsFake(() => {
      callLog.push('DescribeVolumes: vol-2');
      throw ec2Error('UnauthorizedOperation', 'not allowed: ec2:DescribeVolumes');
    });
    const { parts } = await exportParts(deployment);
    expect(parts[0]).to.include({ status: 'ok', records: 3 });
    expect(parts[1]).to.deep.equal({
      part: 'metadata/volumes',
      status: 'failed',
      error: { name: 'UnauthorizedOperation', message: 'not allowed: ec2:DescribeVolumes' },
    });
    expect((await readObject(s3, bucket, volumesKey)).toString()).to.equal('previous');
    expect(callLog).to.deep.equal([
      'DescribeInstances: first page',
      'DescribeInstanceTypes: t3.micro',
      'DescribeVolumes: vol-1',
      'DescribeInstances: 1',
      'DescribeVolumes: vol-2',
      'DescribeInstances: 2',
    ]);
  });

  it('keeps the instances part when only the volumes fail, its line exact', async () => {
    answerPages([[instance('i-0123456789abcdef0', 't3.micro', ['vol-root'])]]);
    ec2Mock.on(DescribeVolumesCommand).rejects(ec2Error('UnauthorizedOperation', 'not allowed: ec2:DescribeVolumes'));
    const { parts } = await exportParts();
    const [instancesPart, volumesPart] = parts;
    expect(instancesPart).to.include({ status: 'ok', records: 1 });
    expect(volumesPart).to.deep.equal({
      part: 'metadata/volumes',
      status: 'failed',
      error: { name: 'UnauthorizedOperation', message: 'not allowed: ec2:DescribeVolumes' },
    });
    const [line] = await readLines(s3, bucket, instancesPart.keys![0]);
    expect(line).to.deep.equal({
      InstanceId: 'i-0123456789abcdef0',
      InstanceType: 't3.micro',
      LaunchTime: '2024-04-01 08:00:00.000',
      State: { Code: 16, Name: 'running' },
      Tags: [{ Key: 'clonesquad:group-name', Value: 'g' }],
      BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeId: 'vol-root' } }],
      _Hostname: null,
      _LastStartAttemptTime: '2024-04-01 08:00:00.000',
      _InstanceType: {
        InstanceType: 't3.micro',
        MemoryInfo: { SizeInMiB: 1024 },
        ProcessorInfo: { SustainedClockSpeedInGhz: 2.5 },
      },
      MetadataRecordLastUpdatedAt: UPDATED_AT,
    });
  });

  it('fails as a whole, both previous objects kept, when the instances cannot be read', async () => {
    const deployment = testDeployment({ bucket });
    const keys = (['instances', 'volumes'] as const).map((table) =>
      metadataKey(deployment.destination!, deployment, table),
    );
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'previous' }));
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-1', 't3.micro', ['vol-1'])] }], NextToken: '1' })
      .rejects(ec2Error('UnauthorizedOperation', 'not allowed: ec2:DescribeInstances'));
    const failure = await rejection(exportParts(deployment));
    expect(failure.message).to.equal('not allowed: ec2:DescribeInstances');
    for (const key of keys) expect((await readObject(s3, bucket, key)).toString()).to.equal('previous');
  });

  it('leaves out, with a warning, a volume deleted since DescribeInstances', async () => {
    answerPages([[instance('i-1', 't3.micro', ['vol-root', 'vol-gone', 'vol-data'])]]);
    ec2Mock.on(DescribeVolumesCommand).callsFake(async (input: { VolumeIds: string[] }) => {
      if (input.VolumeIds.includes('vol-gone')) {
        throw ec2Error('InvalidVolume.NotFound', "The volume 'vol-gone' does not exist.");
      }
      return { Volumes: input.VolumeIds.map((VolumeId) => ({ VolumeId, Size: 8 })) };
    });
    const { parts } = await exportParts();
    const volumesPart = parts[1];
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

  it('refuses, before launching anything, an instance type the emulator does not know', async () => {
    const ec2 = emulatorEc2();
    const calls = recordCalls(ec2);
    const seed = parse([{ name: 'ok' }, { name: 'typo', instanceType: 't3.mirco' }]);
    const failure = await rejection(applyInstancesSeed(ec2, uniqueName('grp'), seed));
    expect(failure).to.be.instanceOf(UserInputError);
    expect(failure.message).to.equal(
      'seed section instances, item 2: instanceType "t3.mirco" is not an instance type DescribeInstanceTypes knows. ' +
        'Fix: use a type of the region, like t3.micro',
    );
    expect(commands(calls, 'RunInstancesCommand')).to.deep.equal([]);
  });

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
