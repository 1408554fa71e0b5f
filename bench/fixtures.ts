/**
 * Generated AWS answers for the benchmark: realistic EC2 instances (as DescribeInstances returns
 * them to the SDK, 3–5 KB of JSON each), their EBS volumes, the DescribeInstanceTypes entries of
 * their types, and CloneSquad table rows. Everything is derived from an index, so pages are made on
 * demand and never held whole.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Instance, InstanceTypeInfo, Volume } from '@aws-sdk/client-ec2';
import { GROUP_NAME_TAG, SUBFLEET_NAME_TAG } from '#shared/metadata/instances';
import type { TableRow } from '#shared/catalog/table-rows';

export const BENCH_GROUP = 'bench';
/** EBS volumes per generated instance: a root volume and a data volume. */
export const VOLUMES_PER_INSTANCE = 2;

const hex = (value: number, width: number) => value.toString(16).padStart(width, '0');
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
export const INSTANCE_TYPES = ['t3.medium', 't3.large', 'm5.large', 'm5.xlarge', 'c5.2xlarge'];
const BASE_TIME = Date.UTC(2024, 3, 1, 8, 0, 0);

export function instanceId(index: number): string {
  return `i-0${hex(index, 16)}`;
}

export function volumeId(index: number, slot: number): string {
  return `vol-0${hex(index * VOLUMES_PER_INSTANCE + slot, 16)}`;
}

/** One managed instance, with every member DescribeInstances usually fills in. */
export function generateInstance(index: number): Instance {
  const zone = ZONES[index % ZONES.length];
  const launchTime = new Date(BASE_TIME + index * 60_000);
  const ip = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  const eni = `eni-0${hex(index, 16)}`;
  const subnet = `subnet-0${hex(index % 3, 16)}`;
  const running = index % 10 !== 0;
  const mapping = (slot: number, device: string) => ({
    DeviceName: device,
    Ebs: {
      AttachTime: launchTime,
      DeleteOnTermination: slot === 0,
      Status: 'attached' as const,
      VolumeId: volumeId(index, slot),
    },
  });
  return {
    AmiLaunchIndex: 0,
    ImageId: 'ami-0c1bc246476a5572b',
    InstanceId: instanceId(index),
    InstanceType: INSTANCE_TYPES[index % INSTANCE_TYPES.length] as Instance['InstanceType'],
    KeyName: 'clonesquad-ops',
    LaunchTime: launchTime,
    Monitoring: { State: 'disabled' },
    Placement: { AvailabilityZone: zone, GroupName: '', Tenancy: 'default' },
    PrivateDnsName: `ip-${ip.replaceAll('.', '-')}.eu-west-1.compute.internal`,
    PrivateIpAddress: ip,
    ProductCodes: [],
    PublicDnsName: '',
    State: running ? { Code: 16, Name: 'running' } : { Code: 80, Name: 'stopped' },
    StateTransitionReason: running ? '' : 'User initiated (2024-04-02 10:00:00 GMT)',
    SubnetId: subnet,
    VpcId: 'vpc-0a1b2c3d4e5f60718',
    Architecture: 'x86_64',
    BlockDeviceMappings: [mapping(0, '/dev/xvda'), mapping(1, '/dev/sdf')],
    ClientToken: `terraform-${hex(index * 7919, 20)}`,
    EbsOptimized: true,
    EnaSupport: true,
    Hypervisor: 'xen',
    IamInstanceProfile: {
      Arn: 'arn:aws:iam::123456789012:instance-profile/clonesquad-bench-fleet',
      Id: 'AIPAJQABLZS4A3QDU576Q',
    },
    NetworkInterfaces: [
      {
        Attachment: {
          AttachTime: launchTime,
          AttachmentId: `eni-attach-0${hex(index, 16)}`,
          DeleteOnTermination: true,
          DeviceIndex: 0,
          Status: 'attached',
          NetworkCardIndex: 0,
        },
        Description: '',
        Groups: [
          { GroupName: 'clonesquad-bench-fleet', GroupId: 'sg-0123456789abcdef0' },
          { GroupName: 'default', GroupId: 'sg-0fedcba9876543210' },
        ],
        Ipv6Addresses: [],
        MacAddress: `06:${hex(index & 255, 2)}:${hex((index >> 8) & 255, 2)}:7f:3a:1c`,
        NetworkInterfaceId: eni,
        OwnerId: '123456789012',
        PrivateDnsName: `ip-${ip.replaceAll('.', '-')}.eu-west-1.compute.internal`,
        PrivateIpAddress: ip,
        PrivateIpAddresses: [
          {
            Primary: true,
            PrivateDnsName: `ip-${ip.replaceAll('.', '-')}.eu-west-1.compute.internal`,
            PrivateIpAddress: ip,
          },
        ],
        SourceDestCheck: true,
        Status: 'in-use',
        SubnetId: subnet,
        VpcId: 'vpc-0a1b2c3d4e5f60718',
        InterfaceType: 'interface',
      },
    ],
    RootDeviceName: '/dev/xvda',
    RootDeviceType: 'ebs',
    SecurityGroups: [
      { GroupName: 'clonesquad-bench-fleet', GroupId: 'sg-0123456789abcdef0' },
      { GroupName: 'default', GroupId: 'sg-0fedcba9876543210' },
    ],
    SourceDestCheck: true,
    Tags: [
      { Key: 'Name', Value: `bench-${index}` },
      { Key: GROUP_NAME_TAG, Value: BENCH_GROUP },
      ...(index % 4 === 0 ? [] : [{ Key: SUBFLEET_NAME_TAG, Value: `subfleet-${index % 4}` }]),
      { Key: 'clonesquad:excluded', Value: 'False' },
      { Key: 'aws:ec2launchtemplate:id', Value: 'lt-0123456789abcdef0' },
      { Key: 'aws:ec2launchtemplate:version', Value: '12' },
      { Key: 'team', Value: 'platform' },
      { Key: 'cost-center', Value: 'cc-4242' },
      { Key: 'environment', Value: 'production' },
    ],
    VirtualizationType: 'hvm',
    CpuOptions: { CoreCount: 1, ThreadsPerCore: 2 },
    CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
    HibernationOptions: { Configured: false },
    MetadataOptions: {
      State: 'applied',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
      HttpEndpoint: 'enabled',
      HttpProtocolIpv6: 'disabled',
      InstanceMetadataTags: 'disabled',
    },
    EnclaveOptions: { Enabled: false },
    BootMode: 'uefi-preferred',
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    UsageOperationUpdateTime: launchTime,
    PrivateDnsNameOptions: {
      HostnameType: 'ip-name',
      EnableResourceNameDnsARecord: false,
      EnableResourceNameDnsAAAARecord: false,
    },
    MaintenanceOptions: { AutoRecovery: 'default' },
    CurrentInstanceBootMode: 'legacy-bios',
  };
}

/** The DescribeInstanceTypes entry of `type` (one of {@link INSTANCE_TYPES}), with what EC2 fills in (~2.7 KB of JSON). */
export function generateInstanceType(type: string): InstanceTypeInfo {
  const size = INSTANCE_TYPES.indexOf(type) + 1;
  const burstable = type.startsWith('t3');
  const network = {
    NetworkPerformance: burstable ? 'Up to 5 Gigabit' : 'Up to 10 Gigabit',
    MaximumNetworkInterfaces: 3,
  };
  return {
    InstanceType: type as InstanceTypeInfo['InstanceType'],
    CurrentGeneration: true,
    FreeTierEligible: false,
    SupportedUsageClasses: ['on-demand', 'spot'],
    SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: ['hvm'],
    BareMetal: false,
    Hypervisor: 'nitro',
    ProcessorInfo: { SupportedArchitectures: ['x86_64'], SustainedClockSpeedInGhz: 3.1, Manufacturer: 'Intel' },
    VCpuInfo: {
      DefaultVCpus: 2 * size,
      DefaultCores: size,
      DefaultThreadsPerCore: 2,
      ValidCores: [1, size],
      ValidThreadsPerCore: [1, 2],
    },
    MemoryInfo: { SizeInMiB: 4096 * size },
    InstanceStorageSupported: false,
    EbsInfo: {
      EbsOptimizedSupport: 'default',
      EncryptionSupport: 'supported',
      EbsOptimizedInfo: {
        BaselineBandwidthInMbps: 650 * size,
        BaselineThroughputInMBps: 81.25 * size,
        BaselineIops: 3600 * size,
        MaximumBandwidthInMbps: 4750,
        MaximumThroughputInMBps: 593.75,
        MaximumIops: 18750,
      },
      NvmeSupport: 'required',
      MaximumEbsAttachments: 27,
      AttachmentLimitType: 'shared',
    },
    NetworkInfo: {
      ...network,
      MaximumNetworkCards: 1,
      DefaultNetworkCardIndex: 0,
      NetworkCards: [
        {
          NetworkCardIndex: 0,
          ...network,
          BaselineBandwidthInGbps: 0.75 * size,
          PeakBandwidthInGbps: 10,
          DefaultEnaQueueCountPerInterface: 2,
          InterfaceTypes: ['interface'],
        },
      ],
      Ipv4AddressesPerInterface: 10,
      Ipv6AddressesPerInterface: 10,
      Ipv6Supported: true,
      EnaSupport: 'required',
      EfaSupported: false,
      EncryptionInTransitSupported: false,
      EnaSrdSupported: false,
      FlexibleEnaQueuesSupport: 'unsupported',
      ConnectionTrackingConfiguration: {
        DefaultTcpEstablishedTimeout: 432000,
        DefaultUdpTimeout: 30,
        DefaultUdpStreamTimeout: 180,
      },
      SecondaryNetworkSupported: false,
    },
    PlacementGroupInfo: {
      SupportedStrategies: burstable ? ['partition', 'spread'] : ['cluster', 'partition', 'spread'],
    },
    HibernationSupported: true,
    BurstablePerformanceSupported: burstable,
    DedicatedHostsSupported: true,
    AutoRecoverySupported: true,
    SupportedBootModes: ['legacy-bios', 'uefi'],
    NitroEnclavesSupport: 'unsupported',
    NitroTpmSupport: 'supported',
    NitroTpmInfo: { SupportedVersions: ['2.0'] },
    PhcSupport: 'unsupported',
    RebootMigrationSupport: 'supported',
    SupportedInRegion: true,
  };
}

/** The volume with id `volumeId(index, slot)`. */
export function generateVolume(index: number, slot: number): Volume {
  const launchTime = new Date(BASE_TIME + index * 60_000);
  return {
    Attachments: [
      {
        AttachTime: launchTime,
        Device: slot === 0 ? '/dev/xvda' : '/dev/sdf',
        InstanceId: instanceId(index),
        State: 'attached',
        VolumeId: volumeId(index, slot),
        DeleteOnTermination: slot === 0,
      },
    ],
    AvailabilityZone: ZONES[index % ZONES.length],
    CreateTime: launchTime,
    Encrypted: true,
    KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    Size: slot === 0 ? 8 : 100,
    SnapshotId: slot === 0 ? 'snap-0123456789abcdef0' : '',
    State: 'in-use',
    VolumeId: volumeId(index, slot),
    Iops: 3000,
    Tags: [{ Key: GROUP_NAME_TAG, Value: BENCH_GROUP }],
    VolumeType: 'gp3',
    MultiAttachEnabled: false,
    Throughput: 125,
  };
}

/** Volume ids carry their instance index and slot; the mock answers DescribeVolumes from them. */
export function volumeFromId(id: string): Volume {
  const number = Number.parseInt(id.slice('vol-0'.length), 16);
  return generateVolume(Math.floor(number / VOLUMES_PER_INSTANCE), number % VOLUMES_PER_INSTANCE);
}

const SETTINGS = [
  'ec2.schedule.min_instance_count',
  'ec2.schedule.desired_instance_count',
  'ec2.schedule.verticalscaling.instance_type_distribution',
  'cloudwatch.dashboard.use_default',
  'notify.event.longterm.ttl',
  'app.run_period',
  'staticfleet.default.state',
  'ec2.az.unavailable_list',
];
const VALUES = [
  '2',
  '-1',
  't3.medium,spot;t3.large,spot;m5.large;m5.xlarge,spot;c5.large',
  'off',
  '0755',
  '10:30',
  'running',
  'eu-west-1a,eu-west-1b',
  'cron(0 20 * * ? *),config.active_parameter_set=nightly',
  'A free-text note: with a colon, a # hash, and non-ASCII Zürich — 東京',
  'first line\nsecond line',
  '',
];

/** Row `index` of a large Configuration table: settings, parameter-set rows, comments, awkward values. */
export function generateRow(index: number): TableRow {
  const setting = SETTINGS[index % SETTINGS.length];
  const value = VALUES[index % VALUES.length];
  const key =
    index % 5 === 0
      ? `[set-${index % 97}]${setting}.${index}`
      : index % 50 === 1
        ? `# comment ${index}`
        : `${setting}.${index}`;
  return { key, value: index % 3 === 0 ? `${value} ${'x'.repeat(index % 400)}` : value };
}

export function rowItem(row: TableRow): Record<string, AttributeValue> {
  return { Key: { S: row.key }, Value: { S: row.value } };
}

/** DynamoDB's item size: attribute names plus UTF-8 string values. */
export function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name) + (value.S !== undefined ? Buffer.byteLength(value.S) : 8);
  }
  return size;
}
