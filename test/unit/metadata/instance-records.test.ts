import {
  Instance$,
  InstanceTypeInfo$,
  Volume$,
  type Instance,
  type InstanceTypeInfo,
  type Volume,
} from '@aws-sdk/client-ec2';
import { expect } from 'chai';
import { TABLES, recordProblems } from '#shared/catalog/schema';
import { instanceRecord, volumeRecord } from '#shared/metadata/instances';
import { recordJson } from '#shared/metadata/records';
import { sdkSample } from '#test/support/sdk-shapes';

type Line = Record<string, unknown>;
type Items = Line[];

const UPDATED_AT = '2024-05-01 10:00:00.000';
/** SAMPLE_TIME of sdkSample, as naive UTC text. */
const SAMPLE_TEXT = '2024-04-30 08:15:30.000';

const line = (record: object): Line => JSON.parse(recordJson(record)) as Line;

describe('instances and volumes records', () => {
  describe('an instance', () => {
    it('carries every SDK timestamp as naive UTC text, which the table reads as a timestamp', () => {
      const written = line(instanceRecord(sdkSample<Instance>(Instance$), UPDATED_AT));
      const mapping = (written.BlockDeviceMappings as Items)[0].Ebs as Line;
      const networkInterface = (written.NetworkInterfaces as Items)[0];
      const secondary = (written.SecondaryInterfaces as Items)[0];
      const accelerator = (written.ElasticInferenceAcceleratorAssociations as Items)[0];
      expect([
        written.LaunchTime,
        written.UsageOperationUpdateTime,
        mapping.AttachTime,
        (networkInterface.Attachment as Line).AttachTime,
        (secondary.Attachment as Line).AttachTime,
        accelerator.ElasticInferenceAcceleratorAssociationTime,
        written._LastStartAttemptTime,
      ]).to.deep.equal(Array(7).fill(SAMPLE_TEXT));
      expect(recordProblems(TABLES.instances, written)).to.deep.equal([]);
    });

    it("writes ProductCodes and Ipv6Addresses as the original's string lists, with the SDK structures beside them", () => {
      const instance = sdkSample<Instance>(Instance$);
      instance.ProductCodes = [
        { ProductCodeId: 'aw0evgkw8e5c1q413zgy5pjce', ProductCodeType: 'marketplace' },
        { ProductCodeId: 'cop8p3n2mn0b7kyoxkcrp5p35', ProductCodeType: 'devpay' },
      ];
      instance.NetworkInterfaces![0].Ipv6Addresses = [
        { Ipv6Address: '2001:db8::1', IsPrimaryIpv6: true },
        { Ipv6Address: '2001:db8::2', IsPrimaryIpv6: false },
      ];
      const written = line(instanceRecord(instance, UPDATED_AT));
      expect(written.ProductCodes).to.deep.equal(['aw0evgkw8e5c1q413zgy5pjce', 'cop8p3n2mn0b7kyoxkcrp5p35']);
      expect(written._ProductCodes).to.deep.equal(instance.ProductCodes);
      const networkInterface = (written.NetworkInterfaces as Items)[0];
      expect(networkInterface.Ipv6Addresses).to.deep.equal(['2001:db8::1', '2001:db8::2']);
      expect(networkInterface._Ipv6Addresses).to.deep.equal(instance.NetworkInterfaces![0].Ipv6Addresses);
      expect(recordProblems(TABLES.instances, written)).to.deep.equal([]);
    });

    it('adds the DescribeInstanceTypes entry of its type as _InstanceType, null when there is none', () => {
      const info = sdkSample<InstanceTypeInfo>(InstanceTypeInfo$);
      const written = line(instanceRecord(sdkSample<Instance>(Instance$), UPDATED_AT, info));
      expect(written._InstanceType).to.deep.equal(JSON.parse(JSON.stringify(info)));
      expect(recordProblems(TABLES.instances, written)).to.deep.equal([]);
      expect(line(instanceRecord(sdkSample<Instance>(Instance$), UPDATED_AT))._InstanceType).to.equal(null);
    });

    it('leaves the SDK object as it was', () => {
      const instance = sdkSample<Instance>(Instance$);
      const before = JSON.stringify(instance);
      recordJson(instanceRecord(instance, UPDATED_AT));
      expect(JSON.stringify(instance)).to.equal(before);
      expect(instance.LaunchTime).to.be.instanceOf(Date);
    });

    it('writes only the fields the SDK gave, plus the CloneSquad fields', () => {
      const instance: Instance = {
        InstanceId: 'i-0123456789abcdef0',
        LaunchTime: new Date('2024-04-01T08:00:00.250Z'),
        Tags: [{ Key: 'Name', Value: 'web-1' }],
      };
      expect(line(instanceRecord(instance, UPDATED_AT))).to.deep.equal({
        InstanceId: 'i-0123456789abcdef0',
        LaunchTime: '2024-04-01 08:00:00.250',
        Tags: [{ Key: 'Name', Value: 'web-1' }],
        _Hostname: 'web-1',
        _LastStartAttemptTime: '2024-04-01 08:00:00.250',
        _InstanceType: null,
        MetadataRecordLastUpdatedAt: UPDATED_AT,
      });
    });
  });

  describe('a volume', () => {
    it('carries every SDK timestamp as naive UTC text, which the table reads as a timestamp', () => {
      const volume = sdkSample<Volume>(Volume$);
      const before = JSON.stringify(volume);
      const written = line(volumeRecord(volume, UPDATED_AT));
      expect([written.CreateTime, (written.Attachments as Items)[0].AttachTime]).to.deep.equal([
        SAMPLE_TEXT,
        SAMPLE_TEXT,
      ]);
      expect(recordProblems(TABLES.volumes, written)).to.deep.equal([]);
      expect(JSON.stringify(volume)).to.equal(before);
    });
  });
});
