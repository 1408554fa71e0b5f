/**
 * The `instances` and `volumes` CMDB tables: the EC2 instances CloneSquad manages, as
 * DescribeInstances returns them with the DescribeInstanceTypes entry of their type, and the EBS
 * volumes attached to them, as DescribeVolumes returns them. Both tables are written in one pass over
 * the fleet: a page of instances is written, its volumes are described and written, then the next
 * page is read. Memory holds one page whatever the size of the fleet; only the entries of the
 * fleet's instance types (described once each) are kept for the whole run.
 */
import {
  EC2Client,
  paginateDescribeInstanceTypes,
  paginateDescribeInstances,
  paginateDescribeVolumes,
  type Filter,
  type Instance,
  type InstanceNetworkInterface,
  type InstanceTypeInfo,
  type Volume,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import { describeError } from '#shared/aws/errors';
import { log } from '#shared/aws/log';
import { instancesTable } from '#shared/catalog/tables/instances';
import { volumesTable } from '#shared/catalog/tables/volumes';
import type { Deployment } from '#shared/run/deployment';
import { failedPart, type PartResult } from '#shared/run/summary';
import {
  metadataPartName,
  openMetadataTable,
  type MetadataPartResult,
  type MetadataTableWriter,
} from '#shared/metadata/jsonl-writer';
import { JsonText, extendRecord, naiveTimestamps, naiveUtc } from '#shared/metadata/records';

export const GROUP_NAME_TAG = 'clonesquad:group-name';
export const SUBFLEET_NAME_TAG = 'clonesquad:subfleet-name';
/** Every instance state except `shutting-down` and `terminated`. */
export const MANAGED_INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped'] as const;
/**
 * DescribeInstances `MaxResults`: half the 1,000 the API accepts. A page of 1,000 instances is about
 * 5 MB of XML, which the SDK holds and parses whole: at 200k instances on Node 22 with Lambda's heap
 * for 512 MB, that alone took the export's peak from ~210 to ~260 MiB. The calls it adds are free.
 */
export const INSTANCES_PAGE_SIZE = 500;
/** Volume ids per DescribeVolumes call. */
export const VOLUMES_PER_CALL = 500;
/** Instance types per DescribeInstanceTypes call, and its `MaxResults`: the most the API accepts. */
export const INSTANCE_TYPES_PER_CALL = 100;

export interface InstancesExportClients {
  ec2: EC2Client;
  s3: S3Client;
}

/** The instances part, and the volumes part (a failed one when only the volumes could not be exported). */
export type InstancesExportResult = [MetadataPartResult, MetadataPartResult | PartResult];

/** The DescribeInstances filters selecting the instances of a group that CloneSquad manages. */
export function managedInstancesFilters(groupName: string): Filter[] {
  return [
    { Name: `tag:${GROUP_NAME_TAG}`, Values: [groupName] },
    { Name: 'instance-state-name', Values: [...MANAGED_INSTANCE_STATES] },
  ];
}

const instanceTimestamps = naiveTimestamps(instancesTable.columns);
const volumeTimestamps = naiveTimestamps(volumesTable.columns);

/** The original table reads a list of strings there: the addresses; their structures go beside. */
function withIpv6AddressTexts(networkInterface: InstanceNetworkInterface): object {
  const addresses = networkInterface.Ipv6Addresses;
  if (addresses === undefined) return networkInterface;
  return {
    ...networkInterface,
    Ipv6Addresses: addresses.map((address) => address.Ipv6Address),
    _Ipv6Addresses: addresses,
  };
}

/**
 * A line of the `instances` table: the SDK object with its times as naive UTC text and the two lists
 * the original table reads as strings written so, plus the fields CloneSquad adds, `_InstanceType`
 * being the DescribeInstanceTypes entry of its type (null when there is none). CloneSquad keeps the
 * last start attempt in its own State table, which this service does not read; the launch time is
 * the documented fallback. `instance` is left as it was.
 */
export function instanceRecord(
  instance: Instance,
  updatedAt: string,
  instanceType: InstanceTypeInfo | JsonText | null = null,
) {
  const tag = (key: string) => instance.Tags?.find((candidate) => candidate.Key === key)?.Value;
  const subfleet = tag(SUBFLEET_NAME_TAG);
  const base = instanceTimestamps(instance);
  if (instance.ProductCodes) base.ProductCodes = instance.ProductCodes.map((code) => code.ProductCodeId);
  if (instance.NetworkInterfaces) {
    base.NetworkInterfaces = (base.NetworkInterfaces as InstanceNetworkInterface[]).map(withIpv6AddressTexts);
  }
  return extendRecord(base, {
    ...(instance.ProductCodes ? { _ProductCodes: instance.ProductCodes } : {}),
    _Hostname: tag('Name') ?? null,
    ...(subfleet === undefined ? {} : { _SubfleetName: subfleet }),
    _LastStartAttemptTime: base.LaunchTime ?? null,
    _InstanceType: instanceType,
    MetadataRecordLastUpdatedAt: updatedAt,
  });
}

/** A line of the `volumes` table: the SDK object with its times as naive UTC text. */
export function volumeRecord(volume: Volume, updatedAt: string) {
  return extendRecord(volumeTimestamps(volume), { MetadataRecordLastUpdatedAt: updatedAt });
}

/**
 * The answers for `ids`, but those of ids that no longer exist. One id unknown to EC2 makes the
 * whole call fail with `notFound` (a volume deleted since DescribeInstances, a type EC2 no longer
 * describes); halving the batch finds it whatever the wording of the error, and only it is left
 * out (reported to `missing`).
 */
async function describeExisting<T>(
  ids: string[],
  describe: (ids: string[]) => Promise<T[]>,
  notFound: string,
  missing: (id: string) => void,
): Promise<T[]> {
  try {
    return await describe(ids);
  } catch (error) {
    if (!(error instanceof Error) || error.name !== notFound) throw error;
    if (ids.length === 1) {
      missing(ids[0]);
      return [];
    }
    const half = Math.ceil(ids.length / 2);
    return [
      ...(await describeExisting(ids.slice(0, half), describe, notFound, missing)),
      ...(await describeExisting(ids.slice(half), describe, notFound, missing)),
    ];
  }
}

async function describeVolumes(ec2: EC2Client, ids: string[]): Promise<Volume[]> {
  const volumes: Volume[] = [];
  for await (const page of paginateDescribeVolumes({ client: ec2 }, { VolumeIds: ids })) {
    volumes.push(...(page.Volumes ?? []));
  }
  return volumes;
}

async function describeInstanceTypes(ec2: EC2Client, types: string[]): Promise<InstanceTypeInfo[]> {
  const infos: InstanceTypeInfo[] = [];
  const pages = paginateDescribeInstanceTypes(
    { client: ec2, pageSize: INSTANCE_TYPES_PER_CALL },
    { InstanceTypes: types as _InstanceType[] },
  );
  for await (const page of pages) infos.push(...(page.InstanceTypes ?? []));
  return infos;
}

/**
 * The `_InstanceType` of every type of the fleet, described once per run as pages of instances
 * bring new types, and serialised once. Best effort, as the original CloneSquad only adds the field
 * on demand: a type EC2 does not describe, or a refused call, leaves null and a warning.
 */
function instanceTypeColumns(ec2: EC2Client) {
  const columns = new Map<string, JsonText | null>();
  const warnings: string[] = [];
  let failed = false;
  return {
    warnings,
    column: (type: string | undefined) => (type === undefined ? null : (columns.get(type) ?? null)),
    async describeNew(instances: Instance[]): Promise<void> {
      const types = new Set<string>();
      for (const instance of instances) {
        const type = instance.InstanceType;
        if (type !== undefined && !columns.has(type)) types.add(type);
      }
      const wanted = [...types].sort();
      for (const type of wanted) columns.set(type, null);
      for (let start = 0; start < wanted.length && !failed; start += INSTANCE_TYPES_PER_CALL) {
        const batch = wanted.slice(start, start + INSTANCE_TYPES_PER_CALL);
        try {
          const infos = await describeExisting(
            batch,
            (some) => describeInstanceTypes(ec2, some),
            'InvalidInstanceType',
            (type) =>
              warnings.push(
                `DescribeInstanceTypes does not know instance type ${type}; its instances have _InstanceType null`,
              ),
          );
          for (const info of infos) columns.set(info.InstanceType!, new JsonText(info));
        } catch (error) {
          // Every later call would fail alike; the instances matter more than this column.
          failed = true;
          const { name, message } = describeError(error);
          const fix =
            name === 'UnauthorizedOperation'
              ? '. Fix: grant ec2:DescribeInstanceTypes on "*" to the exportInstances role'
              : '';
          warnings.push(
            `DescribeInstanceTypes failed (${name}: ${message}); _InstanceType is null for every type not described before${fix}`,
          );
        }
      }
    },
  };
}

/** The distinct ids of the EBS volumes attached to `instances`. */
function attachedVolumeIds(instances: Instance[]): string[] {
  const ids = new Set<string>();
  for (const instance of instances) {
    for (const mapping of instance.BlockDeviceMappings ?? []) {
      if (mapping.Ebs?.VolumeId) ids.add(mapping.Ebs.VolumeId);
    }
  }
  return [...ids];
}

/** The items of `list` in order, each let go by the list as it is handed out. */
function* takeEach<T>(list: (T | undefined)[]): Generator<T> {
  for (let index = 0; index < list.length; index += 1) {
    const item = list[index] as T;
    list[index] = undefined;
    yield item;
  }
}

/**
 * The `volumes` part, fed page by page beside the instances. Its first failure gives it up (the
 * partition keeps its previous object) and is reported as a failed part; the instances go on.
 */
function volumesPart(ec2: EC2Client, opening: Promise<MetadataTableWriter>, updatedAt: string) {
  const warnings: string[] = [];
  // Volumes attached to several instances (multi-attach) that are already written: they may come
  // again with an instance of a later page. Only those ids are kept, never the fleet's.
  const sharedWritten = new Set<string>();
  let writer: MetadataTableWriter | undefined;
  let failure: { error: unknown } | undefined;
  const fail = async (error: unknown) => {
    failure = { error };
    await writer?.abort();
    writer = undefined;
  };
  const ready = opening.then((opened) => (writer = opened), fail);

  async function writePage(volumeIds: string[]): Promise<void> {
    await ready;
    if (!writer) return;
    const pageIds = volumeIds.filter((id) => !sharedWritten.has(id));
    try {
      for (let start = 0; start < pageIds.length; start += VOLUMES_PER_CALL) {
        const volumes = await describeExisting(
          pageIds.slice(start, start + VOLUMES_PER_CALL),
          (some) => describeVolumes(ec2, some),
          'InvalidVolume.NotFound',
          (id) => warnings.push(`volume ${id} no longer exists (deleted since DescribeInstances); left out`),
        );
        for (const volume of volumes) {
          if ((volume.Attachments?.length ?? 0) > 1) sharedWritten.add(volume.VolumeId!);
          await writer.write(volumeRecord(volume, updatedAt));
        }
      }
    } catch (error) {
      await fail(error);
    }
  }

  async function end(): Promise<MetadataPartResult | PartResult> {
    await ready;
    if (writer) {
      try {
        const part = await writer.end();
        return warnings.length === 0 ? part : { ...part, warnings: [...(part.warnings ?? []), ...warnings] };
      } catch (error) {
        failure = { error };
      }
    }
    log('error', 'volumes export failed; the instances part is kept', { error: String(failure!.error) });
    return failedPart(metadataPartName('volumes'), failure!.error);
  }

  async function abort(): Promise<void> {
    await ready;
    await writer?.abort();
  }

  return { writePage, end, abort };
}

/**
 * Writes the `instances` and the `volumes` partitions of the deployment, page of instances by page.
 * A failure to read or write instances is thrown (neither table can be trusted; both keep their
 * previous objects); a failure of the volumes alone is returned as a failed volumes part beside the
 * good instances part.
 *
 * @example
 * const [instances, volumes] = await exportInstancesAndVolumes({ ec2, s3 }, deployment, {
 *   executionStartTime: '2024-05-01T10:00:00.000Z',
 * });
 */
export async function exportInstancesAndVolumes(
  clients: InstancesExportClients,
  deployment: Deployment,
  options: { executionStartTime: string },
): Promise<InstancesExportResult> {
  const { ec2, s3 } = clients;
  const updatedAt = naiveUtc(options.executionStartTime);
  const instances = await openMetadataTable(s3, deployment, 'instances');
  const volumes = volumesPart(ec2, openMetadataTable(s3, deployment, 'volumes'), updatedAt);
  const instanceTypes = instanceTypeColumns(ec2);
  let instancesPart: MetadataPartResult;
  try {
    const pages = paginateDescribeInstances(
      { client: ec2, pageSize: INSTANCES_PAGE_SIZE },
      { Filters: managedInstancesFilters(deployment.groupName) },
    );
    for await (const page of pages) {
      const pageInstances = (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []);
      // Held whole until written, a page of 1000 instances outlives young-generation collections and
      // piles up in the old generation, which the default heap lets grow: each goes once written.
      page.Reservations = undefined;
      const volumeIds = attachedVolumeIds(pageInstances);
      await instanceTypes.describeNew(pageInstances);
      for (const instance of takeEach<Instance>(pageInstances)) {
        await instances.write(instanceRecord(instance, updatedAt, instanceTypes.column(instance.InstanceType)));
      }
      await volumes.writePage(volumeIds);
    }
    instancesPart = await instances.end();
  } catch (error) {
    await Promise.all([instances.abort(), volumes.abort()]);
    throw error;
  }
  for (const warning of instanceTypes.warnings) log('warn', warning, { part: instancesPart.part });
  const warnings = [...(instancesPart.warnings ?? []), ...instanceTypes.warnings];
  return [warnings.length === 0 ? instancesPart : { ...instancesPart, warnings }, await volumes.end()];
}
