/** Clients on the shared test emulator, and helpers to make fresh, isolated resources in it. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';

export function emulatorClients() {
  return { dynamodb: new DynamoDBClient(clientSettings()), s3: new S3Client(s3ClientSettings()) };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createBucket(s3: S3Client, name = uniqueName('test-bucket')): Promise<string> {
  await s3.send(
    new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
  );
  return name;
}

/**
 * Empties the shared emulator. moto answers every DescribeInstances by filtering all the instances of
 * the region, so a suite that seeds a large fleet calls this when it is done: later suites would
 * otherwise run many times slower.
 */
export async function resetEmulator(): Promise<void> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('resetEmulator: AWS_ENDPOINT_URL is not set (the emulator suites set it)');
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`the emulator refused its reset: HTTP ${response.status}`);
}
