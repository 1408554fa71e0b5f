/**
 * The `instances` section of a local run's seed file: EC2 instances of the group, created in the
 * emulator through the real APIs (RunInstances with the group's tags, CreateVolume + AttachVolume,
 * StopInstances, TerminateInstances), so that the `instances` and `volumes` exports have a fleet to
 * read. Each entry makes `count` instances in one reservation; every instance gets its root volume.
 *
 * ```yaml
 * instances:
 *   - name: web                   # Name tag (the _Hostname column); with count > 1: web-1, web-2, …
 *     instanceType: t3.small      # default t3.micro
 *     volumes:                    # extra EBS volumes, besides the root volume
 *       - sizeGiB: 20
 *         device: /dev/sdf        # default: /dev/sdf, /dev/sdg, … in order
 *   - name: worker
 *     subfleet: batch             # clonesquad:subfleet-name tag (the _SubfleetName column)
 *     count: 3
 *     state: stopped              # running (default), stopped, or terminated (left out of the export)
 *     tags:                       # any other tags
 *       team: data
 *   - name: neighbour             # another group's instance: left out of the export
 *     tags:
 *       "clonesquad:group-name": another-group
 * ```
 */
import {
  AttachVolumeCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Tag,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { GROUP_NAME_TAG, SUBFLEET_NAME_TAG } from '#shared/metadata/instances';

export const SEED_INSTANCE_STATES = ['running', 'stopped', 'terminated'] as const;

export interface VolumeSeed {
  sizeGiB: number;
  device: string;
}

export interface InstanceSeed {
  name?: string;
  subfleet?: string;
  instanceType: string;
  state: (typeof SEED_INSTANCE_STATES)[number];
  count: number;
  volumes: VolumeSeed[];
  tags: Record<string, string>;
}

const INSTANCE_FIELDS = ['name', 'subfleet', 'instanceType', 'state', 'count', 'volumes', 'tags'];
const VOLUME_FIELDS = ['sizeGiB', 'device'];
const MAX_COUNT = 5000;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyText(value: unknown, where: string, field: string, example: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 255) {
    throw new UserInputError(
      where,
      `${field} ${quoteInput(value)} is not a non-empty text of at most 255 characters`,
      `write it like "${field}: ${example}"`,
    );
  }
  return value;
}

function rejectUnknownFields(entry: Record<string, unknown>, known: string[], where: string): void {
  const unknown = Object.keys(entry).find((field) => !known.includes(field));
  if (unknown !== undefined) {
    throw new UserInputError(where, `"${unknown}" is not a known field`, `use only ${known.join(', ')}`);
  }
}

function parseVolumes(section: unknown, where: string): VolumeSeed[] {
  if (section === undefined) return [];
  if (!Array.isArray(section)) {
    throw new UserInputError(where, 'volumes is not a list', 'write one "- sizeGiB: 20" item per extra volume');
  }
  const explicit = section.map((volume) => (isMapping(volume) ? volume.device : undefined));
  const freeDevices = 'fghijklmnop'
    .split('')
    .map((letter) => `/dev/sd${letter}`)
    .filter((device) => !explicit.includes(device));
  const seen = new Set<string>();
  return section.map((volume, index) => {
    const at = `${where}, volumes[${index}]`;
    if (!isMapping(volume)) throw new UserInputError(at, 'it is not a mapping', 'write it like "- sizeGiB: 20"');
    rejectUnknownFields(volume, VOLUME_FIELDS, at);
    const { sizeGiB, device } = volume;
    if (!Number.isInteger(sizeGiB) || (sizeGiB as number) < 1 || (sizeGiB as number) > 16384) {
      throw new UserInputError(
        at,
        `sizeGiB ${quoteInput(sizeGiB)} is not a whole number of GiB from 1 to 16384`,
        'write it like "sizeGiB: 20"',
      );
    }
    if (device !== undefined && (typeof device !== 'string' || !/^\/dev\/(sd|xvd)[b-z]$/.test(device))) {
      throw new UserInputError(
        at,
        `device ${quoteInput(device)} is not a data volume device name`,
        'write it like "device: /dev/sdf" (sdb–sdz or xvdb–xvdz), or leave it out',
      );
    }
    const chosen = (device as string | undefined) ?? freeDevices.shift();
    if (chosen === undefined || seen.has(chosen)) {
      throw new UserInputError(
        at,
        chosen === undefined ? 'no free device name is left' : `device ${chosen} is used twice`,
        'give each volume of an instance its own device',
      );
    }
    seen.add(chosen);
    return { sizeGiB: sizeGiB as number, device: chosen };
  });
}

function parseTags(section: unknown, where: string): Record<string, string> {
  if (section === undefined) return {};
  if (!isMapping(section)) throw new UserInputError(where, 'tags is not a mapping', 'write one "key: value" per tag');
  for (const [key, value] of Object.entries(section)) {
    if (key === 'Name' || key === SUBFLEET_NAME_TAG) {
      throw new UserInputError(
        `${where}, tag "${key}"`,
        'this tag has its own field',
        `use ${key === 'Name' ? '"name"' : '"subfleet"'} instead`,
      );
    }
    if (key.startsWith('aws:') || key === '' || key.length > 128) {
      throw new UserInputError(`${where}, tag "${key}"`, 'AWS does not accept this tag key', 'choose another key');
    }
    if (typeof value !== 'string') {
      throw new UserInputError(
        `${where}, tag "${key}"`,
        `its value ${quoteInput(value)} is not a string`,
        'quote it, for example "2" or "yes"',
      );
    }
  }
  return section as Record<string, string>;
}

function parseInstance(entry: unknown, where: string): InstanceSeed {
  if (!isMapping(entry)) throw new UserInputError(where, 'it is not a mapping', 'write it like "- name: web"');
  rejectUnknownFields(entry, INSTANCE_FIELDS, where);
  const instanceType = nonEmptyText(entry.instanceType, where, 'instanceType', 't3.micro') ?? 't3.micro';
  if (!/^[a-z0-9-]+\.[a-z0-9-]+$/.test(instanceType)) {
    throw new UserInputError(
      where,
      `instanceType "${instanceType}" is not an EC2 instance type name`,
      'write it like "instanceType: t3.micro"',
    );
  }
  const state = entry.state ?? 'running';
  if (!(SEED_INSTANCE_STATES as readonly unknown[]).includes(state)) {
    throw new UserInputError(
      where,
      `state ${quoteInput(state)} is not one of ${SEED_INSTANCE_STATES.join(', ')}`,
      'leave it out for running',
    );
  }
  const count = entry.count ?? 1;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > MAX_COUNT) {
    throw new UserInputError(
      where,
      `count ${quoteInput(count)} is not a whole number from 1 to ${MAX_COUNT}`,
      'leave it out for one instance',
    );
  }
  return {
    name: nonEmptyText(entry.name, where, 'name', 'web'),
    subfleet: nonEmptyText(entry.subfleet, where, 'subfleet', 'batch'),
    instanceType,
    state: state as InstanceSeed['state'],
    count: count as number,
    volumes: parseVolumes(entry.volumes, where),
    tags: parseTags(entry.tags, where),
  };
}

/** Checks the `instances` section of the seed file `source`; an absent section is an empty fleet. */
export function parseInstancesSeed(section: unknown, source: string): InstanceSeed[] {
  if (section === undefined || section === null) return [];
  const where = `seed file ${source}, section instances`;
  if (!Array.isArray(section)) {
    throw new UserInputError(where, 'it is not a list', 'write one "- name: …" item per kind of instance');
  }
  return section.map((entry, index) => parseInstance(entry, `${where}, item ${index + 1}`));
}

/** An Amazon Linux 2 image the emulator knows, so the instances look like a usual Linux fleet. */
export async function seedImageId(ec2: EC2Client): Promise<string> {
  const { Images: images = [] } = await ec2.send(
    new DescribeImagesCommand({
      Owners: ['amazon'],
      Filters: [{ Name: 'name', Values: ['amzn2-ami-hvm-*-x86_64-gp2'] }],
    }),
  );
  const newest = images.filter((image) => image.ImageId).sort((a, b) => (b.Name ?? '').localeCompare(a.Name ?? ''))[0];
  if (!newest) throw new Error('the emulator knows no Amazon Linux 2 image (amzn2-ami-hvm-*-x86_64-gp2) to launch');
  return newest.ImageId!;
}

async function isKnownInstanceType(ec2: EC2Client, types: string[]): Promise<boolean> {
  try {
    await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: types as _InstanceType[] }));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'InvalidInstanceType') return false;
    throw error;
  }
}

/**
 * Refuses a type DescribeInstanceTypes does not know: the emulator launches any name, but the
 * instances export describes the fleet's types, as EC2 would.
 */
async function checkInstanceTypes(ec2: EC2Client, seed: InstanceSeed[]): Promise<void> {
  const types = [...new Set(seed.map((entry) => entry.instanceType))];
  if (await isKnownInstanceType(ec2, types)) return;
  for (const [index, entry] of seed.entries()) {
    if (!(await isKnownInstanceType(ec2, [entry.instanceType]))) {
      throw new UserInputError(
        `seed section instances, item ${index + 1}`,
        `instanceType ${quoteInput(entry.instanceType)} is not an instance type DescribeInstanceTypes knows`,
        'use a type of the region, like t3.micro',
      );
    }
  }
}

function toTags(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * Creates the instances of `seed` for group `groupName` and returns their ids, entry by entry,
 * calling `onCreated` with the count so far after each entry. Meant for the emulator: it launches
 * real instances wherever the client points. A type unknown to DescribeInstanceTypes is refused
 * before anything is launched.
 */
export async function applyInstancesSeed(
  ec2: EC2Client,
  groupName: string,
  seed: InstanceSeed[],
  onCreated: (created: number, total: number) => void = () => {},
): Promise<string[]> {
  if (seed.length === 0) return [];
  const total = seed.reduce((sum, entry) => sum + entry.count, 0);
  await checkInstanceTypes(ec2, seed);
  const imageId = await seedImageId(ec2);
  const created: string[] = [];
  for (const entry of seed) {
    const tags = {
      [GROUP_NAME_TAG]: groupName,
      ...(entry.name !== undefined && entry.count === 1 ? { Name: entry.name } : {}),
      ...(entry.subfleet !== undefined ? { [SUBFLEET_NAME_TAG]: entry.subfleet } : {}),
      ...entry.tags,
    };
    const { Instances: instances = [] } = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        InstanceType: entry.instanceType as _InstanceType,
        MinCount: entry.count,
        MaxCount: entry.count,
        TagSpecifications: [{ ResourceType: 'instance', Tags: toTags(tags) }],
      }),
    );
    const ids = instances.map((instance) => instance.InstanceId!);
    for (const [index, instance] of instances.entries()) {
      if (entry.name !== undefined && entry.count > 1) {
        await ec2.send(
          new CreateTagsCommand({
            Resources: [instance.InstanceId!],
            Tags: [{ Key: 'Name', Value: `${entry.name}-${index + 1}` }],
          }),
        );
      }
      for (const volume of entry.volumes) {
        const { VolumeId } = await ec2.send(
          new CreateVolumeCommand({
            AvailabilityZone: instance.Placement!.AvailabilityZone!,
            Size: volume.sizeGiB,
            VolumeType: 'gp3',
            TagSpecifications: [
              { ResourceType: 'volume', Tags: [{ Key: GROUP_NAME_TAG, Value: tags[GROUP_NAME_TAG] }] },
            ],
          }),
        );
        await ec2.send(new AttachVolumeCommand({ VolumeId, InstanceId: instance.InstanceId!, Device: volume.device }));
      }
    }
    if (entry.state === 'stopped') await ec2.send(new StopInstancesCommand({ InstanceIds: ids }));
    if (entry.state === 'terminated') await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    created.push(...ids);
    onCreated(created.length, total);
  }
  return created;
}
