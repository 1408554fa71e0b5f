/**
 * The `instances` and `volumes` CMDB tables (SPEC §3, §6): the EC2 instances CloneSquad manages, as
 * DescribeInstances returns them, and the EBS volumes attached to them, as DescribeVolumes returns
 * them. Instances stream page by page into their partition object; only their volume ids are kept
 * for the second table, so memory is bounded by one page whatever the size of the fleet.
 */
import {
  EC2Client,
  paginateDescribeInstances,
  paginateDescribeVolumes,
  type Filter,
  type Instance,
  type Volume,
} from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Deployment } from '#shared/run/deployment';
import { log } from '#shared/aws/log';
import { failedPart, type PartResult } from '#shared/run/summary';
import { metadataPartName, writeMetadataTable, type MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { extendRecord, naiveUtc } from '#shared/metadata/records';

export const GROUP_NAME_TAG = 'clonesquad:group-name';
export const SUBFLEET_NAME_TAG = 'clonesquad:subfleet-name';
/** Every instance state except `shutting-down` and `terminated`. */
export const MANAGED_INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped'] as const;
/** DescribeInstances `MaxResults`: the largest the API accepts. */
export const INSTANCES_PAGE_SIZE = 1000;
/** Volume ids per DescribeVolumes call. */
export const VOLUMES_PER_CALL = 500;

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

/**
 * A line of the `instances` table: the SDK object unchanged, plus the fields CloneSquad adds.
 * CloneSquad keeps the last start attempt in its own State table, which this service does not read;
 * the launch time is the documented fallback.
 */
export function instanceRecord(instance: Instance, updatedAt: string) {
  const tag = (key: string) => instance.Tags?.find((candidate) => candidate.Key === key)?.Value;
  const subfleet = tag(SUBFLEET_NAME_TAG);
  return extendRecord(instance, {
    _Hostname: tag('Name') ?? null,
    ...(subfleet === undefined ? {} : { _SubfleetName: subfleet }),
    _LastStartAttemptTime: instance.LaunchTime ? naiveUtc(instance.LaunchTime) : null,
    MetadataRecordLastUpdatedAt: updatedAt,
  });
}

export function volumeRecord(volume: Volume, updatedAt: string) {
  return extendRecord(volume, { MetadataRecordLastUpdatedAt: updatedAt });
}

async function* instanceRecords(ec2: EC2Client, groupName: string, updatedAt: string, volumeIds: Set<string>) {
  const pages = paginateDescribeInstances(
    { client: ec2, pageSize: INSTANCES_PAGE_SIZE },
    { Filters: managedInstancesFilters(groupName) },
  );
  for await (const page of pages) {
    for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
      for (const mapping of instance.BlockDeviceMappings ?? []) {
        if (mapping.Ebs?.VolumeId) volumeIds.add(mapping.Ebs.VolumeId);
      }
      yield instanceRecord(instance, updatedAt);
    }
  }
}

/**
 * The volumes among `ids` that still exist. A volume detached and deleted since DescribeInstances
 * makes the whole call fail with `InvalidVolume.NotFound`; halving the batch finds it whatever the
 * wording of the error, and only it is left out (with a warning).
 */
async function describeVolumes(ec2: EC2Client, ids: string[], warnings: string[]): Promise<Volume[]> {
  try {
    const volumes: Volume[] = [];
    for await (const page of paginateDescribeVolumes({ client: ec2 }, { VolumeIds: ids })) {
      volumes.push(...(page.Volumes ?? []));
    }
    return volumes;
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'InvalidVolume.NotFound') throw error;
    if (ids.length === 1) {
      warnings.push(`volume ${ids[0]} no longer exists (deleted since DescribeInstances); left out`);
      return [];
    }
    const half = Math.ceil(ids.length / 2);
    return [
      ...(await describeVolumes(ec2, ids.slice(0, half), warnings)),
      ...(await describeVolumes(ec2, ids.slice(half), warnings)),
    ];
  }
}

async function* volumeRecords(ec2: EC2Client, ids: string[], updatedAt: string, warnings: string[]) {
  for (let start = 0; start < ids.length; start += VOLUMES_PER_CALL) {
    for (const volume of await describeVolumes(ec2, ids.slice(start, start + VOLUMES_PER_CALL), warnings)) {
      yield volumeRecord(volume, updatedAt);
    }
  }
}

/**
 * Writes the `instances` partition, then the `volumes` partition of the deployment. A failure to
 * read or write instances is thrown (neither table can be trusted); a failure of the volumes alone
 * is returned as a failed volumes part beside the good instances part.
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
  const updatedAt = naiveUtc(options.executionStartTime);
  const volumeIds = new Set<string>();
  const instancesPart = await writeMetadataTable(
    clients.s3,
    deployment,
    'instances',
    instanceRecords(clients.ec2, deployment.groupName, updatedAt, volumeIds),
  );
  try {
    const warnings: string[] = [];
    const records = volumeRecords(clients.ec2, [...volumeIds], updatedAt, warnings);
    const volumesPart = await writeMetadataTable(clients.s3, deployment, 'volumes', records);
    if (warnings.length === 0) return [instancesPart, volumesPart];
    return [instancesPart, { ...volumesPart, warnings: [...(volumesPart.warnings ?? []), ...warnings] }];
  } catch (error) {
    log('error', 'volumes export failed; the instances part is kept', { error: String(error) });
    return [instancesPart, failedPart(metadataPartName('volumes'), error)];
  }
}
