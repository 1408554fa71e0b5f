import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { currentDeployment } from '#shared/run/deployment-cache';
import { isString, requireField } from '#shared/aws/handler-input';
import type { MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { exportMaintenanceWindows } from '#shared/metadata/maintenance-windows';
import { isRequested, notRequestedPart } from '#shared/run/run-request';
import { boundedPart, type PartResult } from '#shared/run/summary';

const clients = {
  ssm: new SSMClient(clientSettings()),
  ec2: new EC2Client(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
};

/** Event: `{ executionStartTime: ISO-8601, requestedParts? }`. Answers the `metadata/maintenance-windows` part result. */
export async function handler(event: unknown): Promise<MetadataPartResult | PartResult> {
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  if (!isRequested(event, 'metadata/maintenance-windows')) {
    return notRequestedPart('metadata/maintenance-windows');
  }
  return boundedPart(await exportMaintenanceWindows(clients, currentDeployment(), { executionStartTime }));
}
