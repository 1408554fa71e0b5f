/** Fixtures for backup tests: a deployment, CloneSquad tables with given rows, and S3 read-back helpers. */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { createCloneSquadTable, writeItems } from '#local/seed';
import type { Deployment } from '#shared/run/deployment';
import type { BackupTable } from '#shared/aws/s3-layout';
import { uniqueName } from '#test/support/aws';

export type Item = Record<string, AttributeValue>;

/** A table item as CloneSquad writes it; `expirationTime` in epoch seconds. */
export function tableItem(key: string, value: string, expirationTime?: number): Item {
  return {
    Key: { S: key },
    Value: { S: value },
    ...(expirationTime === undefined ? {} : { ExpirationTime: { N: String(expirationTime) } }),
  };
}

/** A deployment writing to `s3://bucket/prefix`, with fresh table names unless given. */
export function testDeployment(options: {
  bucket: string;
  prefix?: string;
  tables?: Partial<Record<BackupTable, string>>;
  kmsKeyArn?: string;
}): Deployment {
  const groupName = uniqueName('grp');
  return {
    groupName,
    accountId: '123456789012',
    region: 'eu-west-1',
    destination: { bucket: options.bucket, prefix: options.prefix ?? 'org/clonesquad' },
    tables: {
      configuration: options.tables?.configuration ?? uniqueName(`CloneSquad-${groupName}-Configuration`),
      scheduler: options.tables?.scheduler ?? uniqueName(`CloneSquad-${groupName}-Scheduler`),
    },
    ...(options.kmsKeyArn ? { kmsKeyArn: options.kmsKeyArn } : {}),
    timeZone: 'UTC',
    cloneSquadStackName: `CloneSquad-${groupName}`,
    userSuppliedJsonMetadata: '',
  };
}

/** Creates a CloneSquad-shaped table holding `items` and returns its name. */
export async function createTable(
  dynamodb: DynamoDBClient,
  items: Item[],
  name = uniqueName('table'),
): Promise<string> {
  await createCloneSquadTable(dynamodb, name);
  await writeItems(
    dynamodb,
    name,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
  return name;
}

export async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

export async function headObject(s3: S3Client, bucket: string, key: string) {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

/** Every key in the bucket (under `prefix`), sorted. */
export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) keys.push(object.Key!);
  }
  return keys.sort();
}

/** Every object in the bucket, key → ETag: what a later look compares to tell a change from none. */
export async function objectETags(s3: S3Client, bucket: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket })) {
    for (const object of page.Contents ?? []) found[object.Key!] = object.ETag!;
  }
  return found;
}

/**
 * Creates a symmetric KMS key in the emulator and returns its ARN. The project has no KMS client
 * (the product only passes a key ARN to S3), so this speaks the KMS JSON protocol directly; the
 * emulator reads the region from the credential scope and does not check signatures.
 */
export async function createEmulatorKmsKey(region = process.env.AWS_REGION ?? 'eu-west-1'): Promise<string> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('createEmulatorKmsKey: AWS_ENDPOINT_URL is not set; it only works on the emulator');
  const response = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'TrentService.CreateKey',
      Authorization: `AWS4-HMAC-SHA256 Credential=testing/20240101/${region}/kms/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify({ Description: 'backup tests' }),
  });
  if (!response.ok)
    throw new Error(`KMS CreateKey failed on the emulator: ${response.status} ${await response.text()}`);
  const { KeyMetadata } = (await response.json()) as { KeyMetadata: { Arn: string } };
  return KeyMetadata.Arn;
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
