/**
 * The subfleet names of a group, read from instance tags rather than from DescribeInstances: a tag
 * answers in about 0.15 KB where an instance takes 3 KB or more, and the discovery and
 * maintenance-windows exports need nothing else of the fleet.
 *
 * Tags say nothing of an instance's state, and a terminated instance keeps its tags for as long as
 * EC2 still lists it (about an hour). The instances that are shutting down or terminated are read
 * apart, from DescribeInstanceStatus, whose answer holds only the instances ended lately in the
 * region (of every group, as it cannot filter on tags); it is asked only when the group has
 * subfleet instances at all.
 */
import { paginateDescribeInstanceStatus, paginateDescribeTags, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { GROUP_NAME_TAG, SUBFLEET_NAME_TAG } from '#shared/metadata/instances';

/** `MaxResults` of DescribeTags and DescribeInstanceStatus: the largest both accept. */
export const FLEET_TAGS_PAGE_SIZE = 1000;
/** EC2 refuses a call whose filters hold more than 200 values in all (FilterLimitExceeded). */
const FILTER_VALUES_PER_CALL = 200;
const ENDED_STATES = ['shutting-down', 'terminated'];

const INSTANCE_TAGS: Filter = { Name: 'resource-type', Values: ['instance'] };

async function tagsOfInstances(ec2: EC2Client, filters: Filter[]): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  const pages = paginateDescribeTags(
    { client: ec2, pageSize: FLEET_TAGS_PAGE_SIZE },
    { Filters: [INSTANCE_TAGS, ...filters] },
  );
  for await (const page of pages) {
    for (const tag of page.Tags ?? []) if (tag.ResourceId) values.set(tag.ResourceId, tag.Value ?? '');
  }
  return values;
}

async function endedInstances(ec2: EC2Client): Promise<Set<string>> {
  const ended = new Set<string>();
  const pages = paginateDescribeInstanceStatus(
    { client: ec2, pageSize: FLEET_TAGS_PAGE_SIZE },
    { IncludeAllInstances: true, Filters: [{ Name: 'instance-state-name', Values: ENDED_STATES }] },
  );
  for await (const page of pages) {
    for (const status of page.InstanceStatuses ?? []) if (status.InstanceId) ended.add(status.InstanceId);
  }
  return ended;
}

/**
 * Distinct, sorted `clonesquad:subfleet-name` values of the group's instances that are not shutting
 * down or terminated. A group name holds no `*` or `?` (see groupNameProblem), so EC2 matches it
 * exactly, not as a pattern.
 *
 * @example
 * await listSubfleets(ec2, 'demo'); // ['api', 'batch']
 */
export async function listSubfleets(ec2: EC2Client, groupName: string): Promise<string[]> {
  const members = [
    ...(
      await tagsOfInstances(ec2, [
        { Name: 'key', Values: [GROUP_NAME_TAG] },
        { Name: 'value', Values: [groupName] },
      ])
    ).keys(),
  ];
  const subfleetFilter = { Name: 'key', Values: [SUBFLEET_NAME_TAG] };
  const idsPerCall = FILTER_VALUES_PER_CALL - INSTANCE_TAGS.Values!.length - subfleetFilter.Values.length;
  const subfleetOf = new Map<string, string>();
  for (let start = 0; start < members.length; start += idsPerCall) {
    const ids = { Name: 'resource-id', Values: members.slice(start, start + idsPerCall) };
    for (const [id, name] of await tagsOfInstances(ec2, [subfleetFilter, ids])) if (name) subfleetOf.set(id, name);
  }
  if (subfleetOf.size === 0) return [];
  const ended = await endedInstances(ec2);
  const names = new Set([...subfleetOf].filter(([id]) => !ended.has(id)).map(([, name]) => name));
  return [...names].sort();
}
