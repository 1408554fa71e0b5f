import { gunzipSync } from 'node:zlib';
import { GetObjectAclCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { Deployment } from '#shared/run/deployment';
import { writeMetadataTable } from '#shared/metadata/jsonl-writer';
import { listKeys } from '#local/mirror';
import { metadataKey, metadataPartitionFolder } from '#shared/aws/s3-layout';
import { createBucket, emulatorClients, uniqueName } from '#test/support/aws';

function deploymentFor(bucket: string): Deployment {
  return {
    groupName: uniqueName('g'),
    accountId: '123456789012',
    region: 'eu-west-1',
    destination: { bucket, prefix: 'cmdb' },
    tables: { configuration: 'c', scheduler: 's' },
    timeZone: 'UTC',
    cloneSquadStackName: 'CloneSquad-g',
    userSuppliedJsonMetadata: '',
  };
}

async function* generate(count: number, failAt?: number) {
  for (let index = 0; index < count; index += 1) {
    if (index === failAt) throw new Error('source failed midway');
    yield { Index: index, Text: `row ${index} ✓` };
  }
}

describe('CMDB partition writer (gzip JSON Lines)', () => {
  const { s3 } = emulatorClients();
  let bucket: string;
  before(async () => {
    bucket = await createBucket(s3);
  });

  async function readLines(key: string): Promise<unknown[]> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(object.ContentType).to.equal('application/json');
    expect(object.ContentEncoding).to.equal(undefined);
    const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  }

  it('streams records into the one partition object, gzip JSON Lines, owner full control', async () => {
    const deployment = deploymentFor(bucket);
    const result = await writeMetadataTable(s3, deployment, 'instances', generate(2500));
    const key = metadataKey(deployment.destination!, deployment, 'instances');
    expect(result).to.include({ part: 'metadata/instances', status: 'ok', records: 2500, newPartition: true });
    expect(result.keys).to.deep.equal([key]);
    const lines = await readLines(key);
    expect(lines).to.have.length(2500);
    expect(lines[2499]).to.deep.equal({ Index: 2499, Text: 'row 2499 ✓' });
    const acl = await s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: key }));
    expect(acl.Grants?.some((grant) => grant.Permission === 'FULL_CONTROL')).to.equal(true);
  });

  it('replaces the object, deletes every other object of the partition, and knows the partition', async () => {
    const deployment = deploymentFor(bucket);
    const folder = metadataPartitionFolder(deployment.destination!, deployment, 'configuration');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}/legacy-uncompressed.json`, Body: '{}' }));
    const result = await writeMetadataTable(s3, deployment, 'configuration', [{ Key: 'a', Value: 'b' }]);
    expect(result.newPartition).to.equal(false);
    expect(await listKeys(s3, bucket, `${folder}/`)).to.deep.equal([result.keys![0]]);
    const again = await writeMetadataTable(s3, deployment, 'configuration', [{ Key: 'c', Value: 'd' }]);
    expect(again.newPartition).to.equal(false);
    expect(await readLines(again.keys![0])).to.deep.equal([{ Key: 'c', Value: 'd' }]);
  });

  it('keeps the previous object whole when the source fails midway', async () => {
    const deployment = deploymentFor(bucket);
    const first = await writeMetadataTable(s3, deployment, 'volumes', generate(10));
    let failure: unknown;
    try {
      await writeMetadataTable(s3, deployment, 'volumes', generate(100_000, 50_000));
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).to.match(/source failed midway/);
    expect(await readLines(first.keys![0])).to.have.length(10);
  });

  it('refuses a record whose field collides with a partition column', async () => {
    const deployment = deploymentFor(bucket);
    let failure: unknown;
    try {
      await writeMetadataTable(s3, deployment, 'discovery', [{ GroupName: 'x' }]);
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).to.match(/GroupName.*collides with a partition column/);
  });
});
