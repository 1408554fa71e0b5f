import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettings, s3ClientSettings } from '#shared/aws-clients';
import { currentDeployment } from '#shared/deployment-cache';
import { isString, requireField } from '#shared/handler-input';
import { exportInstancesAndVolumes, type InstancesExportResult } from '#shared/metadata/instances';

const clients = { ec2: new EC2Client(clientSettings()), s3: new S3Client(s3ClientSettings()) };

/** Event: `{ executionStartTime: ISO-8601 }`. Returns the `metadata/instances` and `metadata/volumes` parts. */
export async function handler(event: unknown): Promise<InstancesExportResult> {
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  return exportInstancesAndVolumes(clients, currentDeployment(), { executionStartTime });
}
