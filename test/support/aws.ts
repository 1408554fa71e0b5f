/** Clients on the shared test emulator, and helpers to make fresh, isolated resources in it. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { clientSettings, s3ClientSettings } from '#shared/aws-clients';

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
