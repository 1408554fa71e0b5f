import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { currentDeployment } from '#shared/run/deployment-cache';
import { isString, requireField } from '#shared/aws/handler-input';
import { exportInstancesAndVolumes, type InstancesExportResult } from '#shared/metadata/instances';
import { isRequested, notRequestedPart } from '#shared/run/run-request';
import { boundedParts, type PartResult } from '#shared/run/summary';

const clients = { ec2: new EC2Client(clientSettings()), s3: new S3Client(s3ClientSettings()) };

/**
 * Event: `{ executionStartTime: ISO-8601, requestedParts? }`. Returns the `metadata/instances` and
 * `metadata/volumes` parts, produced together from one DescribeInstances pass (a plan asks for both or neither).
 */
export async function handler(event: unknown): Promise<InstancesExportResult | PartResult[]> {
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  if (!isRequested(event, 'metadata/instances')) {
    return [notRequestedPart('metadata/instances'), notRequestedPart('metadata/volumes')];
  }
  return boundedParts(await exportInstancesAndVolumes(clients, currentDeployment(), { executionStartTime }));
}
