import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientSettings, s3ClientSettings } from '#shared/aws-clients';
import { currentDeployment } from '#shared/deployment-cache';
import { isString, requireField } from '#shared/handler-input';
import type { MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { exportMaintenanceWindows } from '#shared/metadata/maintenance-windows';

const clients = {
  ssm: new SSMClient(clientSettings()),
  ec2: new EC2Client(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
};

/** Event: `{ executionStartTime: ISO-8601 }`. Answers the `metadata/maintenance-windows` part result. */
export async function handler(event: unknown): Promise<MetadataPartResult> {
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  return exportMaintenanceWindows(clients, currentDeployment(), { executionStartTime });
}
