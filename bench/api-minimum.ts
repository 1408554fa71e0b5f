/**
 * The fewest AWS requests a group execution can make, computed from the seed it runs on (what the
 * group holds, the page sizes AWS applies), never from the code being measured. A documented slack is
 * added where a second request is a deliberate trade (each Lambda reads what it needs itself rather
 * than receiving it through the workflow's 256 KB payloads; a narrower answer rather than one fewer call).
 */
import type { GroupSeed } from '#local/seed';

const GROUP_NAME_TAG = 'clonesquad:group-name';
/** DescribeInstances and DescribeTags pages hold at most 1,000 entries; DescribeVolumes is asked 500 ids at a time. */
const INSTANCES_PAGE = 1000;
const TAGS_PAGE = 1000;
const VOLUME_IDS_PER_CALL = 500;
const INSTANCE_TYPES_PER_CALL = 100;
/**
 * The instances export asks for pages of 500 instances: a page of 1,000 is ~5 MB of XML held and parsed
 * whole, which takes the export past its memory target at 200k instances on Node 22.
 */
const MEMORY_BOUNDED_INSTANCES_PAGE = 500;
/** A DescribeTags filter holds at most 200 values. */
const FILTER_VALUES = 200;
const SCAN_PAGE_BYTES = 1024 * 1024;
/** The group's metadata partitions: configuration, scheduler, discovery, instances, volumes, maintenance windows. */
const METADATA_PARTITIONS = 6;
/** The functions that need the group's subfleets: discovery and maintenance windows. */
const SUBFLEET_READERS = 2;

export interface CallMinimum {
  /** `Client.Command` names counted together. */
  calls: string[];
  minimum: number;
  slack: number;
  why: string;
}

function pages(count: number, pageSize: number): number {
  return Math.ceil(count / pageSize);
}

/** The DescribeInstances calls that reading `instances` in pages of 500 adds to the minimum, pages of 1,000. */
export function describeInstancesSlack(instances: number): number {
  return pages(instances, MEMORY_BOUNDED_INSTANCES_PAGE) - pages(instances, INSTANCES_PAGE);
}

/**
 * Minimum requests of one steady-state execution of `group` (every partition exists already), given
 * `objectsWritten`: the objects of the bucket the execution created or changed, one write each at least.
 */
export function minimumCalls(
  group: GroupSeed,
  options: { objectsWritten: number; organization: boolean; firstRun: boolean },
): CallMinimum[] {
  const members = group.instances.filter(
    (entry) => (entry.tags[GROUP_NAME_TAG] ?? group.groupName) === group.groupName,
  );
  const instances = members.reduce((sum, entry) => sum + entry.count, 0);
  // Each instance has its root volume (EBS-backed AMI) and the extra volumes of its entry.
  const volumes = members.reduce((sum, entry) => sum + entry.count * (1 + entry.volumes.length), 0);
  const types = new Set(members.map((entry) => entry.instanceType)).size;
  const inSubfleets = members.filter((entry) => entry.subfleet).reduce((sum, entry) => sum + entry.count, 0);
  let volumeCalls = 0;
  for (let start = 0; start < instances; start += INSTANCES_PAGE) {
    const share = Math.min(INSTANCES_PAGE, instances - start) / instances;
    volumeCalls += pages(Math.ceil(volumes * share), VOLUME_IDS_PER_CALL);
  }
  const tableBytes = (rows: Record<string, string>) =>
    Object.entries(rows).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value) + 16, 0);
  const scans = Object.values(group.tables).reduce(
    (sum, rows) => sum + Math.max(1, pages(tableBytes(rows), SCAN_PAGE_BYTES)),
    0,
  );
  const windowCandidates = group.maintenanceWindows.filter((window) =>
    window.name.replace('{GroupName}', group.groupName).startsWith(`CS-${group.groupName}-`),
  ).length;
  // Every instance of the seed carries a group tag (its own group's or another's).
  const taggedInstances = group.instances.reduce((sum, entry) => sum + entry.count, 0);
  return [
    { calls: ['DynamoDB.Scan'], minimum: scans, slack: 0, why: 'each table read once, in 1 MB pages' },
    {
      calls: ['EC2.DescribeInstances'],
      minimum: pages(instances, INSTANCES_PAGE),
      slack: describeInstancesSlack(instances),
      why:
        `${instances} instances, pages of ${INSTANCES_PAGE}, by the instances export only; slack: pages of ` +
        `${MEMORY_BOUNDED_INSTANCES_PAGE}, whose XML the SDK parses within the memory target (free calls)`,
    },
    {
      calls: ['EC2.DescribeInstanceTypes'],
      minimum: pages(types, INSTANCE_TYPES_PER_CALL),
      slack: 0,
      why: `${types} instance types, ${INSTANCE_TYPES_PER_CALL} a call`,
    },
    {
      calls: ['EC2.DescribeVolumes'],
      minimum: volumeCalls,
      slack: 0,
      why: `${volumes} volumes, ${VOLUME_IDS_PER_CALL} ids a call per page of instances`,
    },
    {
      calls: ['EC2.DescribeTags'],
      minimum: SUBFLEET_READERS * pages(2 * taggedInstances, TAGS_PAGE),
      slack: SUBFLEET_READERS * pages(inSubfleets, FILTER_VALUES - 3),
      why: `the group and subfleet tags, by each of ${SUBFLEET_READERS} subfleet readers; slack: the subfleet tags asked for the members only (another group's tags never read)`,
    },
    {
      calls: ['EC2.DescribeInstanceStatus'],
      minimum: SUBFLEET_READERS,
      slack: 0,
      why: 'ended instances keep their tags for a while: one state listing per subfleet reader',
    },
    {
      calls: ['CloudFormation.DescribeStacks'],
      minimum: 1,
      slack: 1,
      why: "the group's stack (parameters, outputs); slack: the plan checks it before the branches start",
    },
    {
      calls: ['CloudFormation.ListStackResources', 'CloudFormation.DescribeStackResource'],
      minimum: 1,
      slack: 1,
      why: "the stack's resources (tables, discovery function); slack: read by the plan and by discovery",
    },
    { calls: ['CloudFormation.GetTemplate'], minimum: 1, slack: 0, why: 'the CloneSquad version, in the template' },
    {
      calls: ['CloudFormation.GetTemplateSummary'],
      minimum: 0,
      slack: 1,
      why: "the template declares NoEcho; slack: CloudFormation's own parse rather than the template text",
    },
    { calls: ['Lambda.GetFunctionConfiguration'], minimum: 1, slack: 0, why: "the discovery function's settings" },
    {
      calls: ['Organizations.DescribeAccount'],
      minimum: options.organization ? 1 : 0,
      slack: 0,
      why: "the account's name and e-mail",
    },
    {
      calls: ['SSM.DescribeMaintenanceWindows'],
      minimum: windowCandidates > 0 ? 1 : 0,
      slack: 0,
      why: 'the windows named after the group, in one filtered listing',
    },
    {
      calls: ['SSM.ListTagsForResource'],
      minimum: windowCandidates,
      slack: 0,
      why: `${windowCandidates} windows named after the group, each checked for the group tag`,
    },
    { calls: ['Scheduler.GetSchedule'], minimum: 1, slack: 0, why: "the group's schedule, compared with backup.cron" },
    {
      calls: ['Glue.StartCrawler'],
      minimum: options.firstRun ? 1 : 0,
      slack: 0,
      why: options.firstRun ? 'new partitions to register' : 'no new partition',
    },
    {
      calls: [
        'S3.PutObject',
        'S3.CopyObject',
        'S3.CreateMultipartUpload',
        'S3.UploadPart',
        'S3.CompleteMultipartUpload',
      ],
      minimum: options.objectsWritten,
      slack: 0,
      why: `${options.objectsWritten} objects created or changed in the bucket, one write each`,
    },
    {
      calls: ['S3.GetObject', 'S3.HeadObject'],
      minimum: Object.keys(group.tables).length,
      slack: METADATA_PARTITIONS,
      why:
        'the newest backup of each table, to tell whether the table changed; slack: one per metadata partition, to ' +
        'tell a new partition (to sweep and register) from a known one, no state being kept between executions',
    },
    {
      calls: ['S3.ListObjectsV2'],
      minimum: 0,
      slack: METADATA_PARTITIONS,
      why: 'object names are fixed; slack: one listing per metadata partition, to delete what an older run left',
    },
  ];
}
