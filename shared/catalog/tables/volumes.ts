import {
  array,
  bigint,
  boolean,
  columns,
  string,
  struct,
  tags,
  timestamp,
  type TableSchema,
} from '#shared/catalog/schema-types';

/**
 * The EBS `Volume` shape as DescribeVolumes returns it (SDK v3, every member). Every time is a
 * `timestamp` (records carry naive UTC text); integers are `bigint`, as in the original Athena table.
 */
export const volumesTable: TableSchema = {
  folder: 'volumes',
  name: 'clonesquad_volumes',
  description: 'One line per EBS volume attached to a managed instance',
  columns: columns({
    VolumeId: string,
    VolumeArn: string,
    VolumeType: string,
    Size: bigint,
    Iops: bigint,
    Throughput: bigint,
    State: string,
    CreateTime: timestamp,
    AvailabilityZone: string,
    AvailabilityZoneId: string,
    OutpostArn: string,
    SnapshotId: string,
    SourceVolumeId: string,
    Encrypted: boolean,
    KmsKeyId: string,
    SseType: string,
    FastRestored: boolean,
    MultiAttachEnabled: boolean,
    VolumeInitializationRate: bigint,
    OwnerId: string,
    Operator: struct({ Managed: boolean, Principal: string, HiddenByDefault: boolean }),
    Attachments: array(
      struct({
        VolumeId: string,
        InstanceId: string,
        Device: string,
        State: string,
        AttachTime: timestamp,
        DeleteOnTermination: boolean,
        AssociatedResource: string,
        InstanceOwningService: string,
        EbsCardIndex: bigint,
      }),
    ),
    Tags: tags,
    MetadataRecordLastUpdatedAt: timestamp,
  }),
};
