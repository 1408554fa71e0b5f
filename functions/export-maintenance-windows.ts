import { withLambdaContext } from '#shared/aws/log';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientSettings, clientsPerRegion, s3ClientSettings } from '#shared/aws/clients';
import { exportMaintenanceWindows } from '#shared/metadata/maintenance-windows';
import { currentSettings } from '#shared/run/deployment-cache';
import { groupTask, skippedParts } from '#shared/run/group-plan';
import { boundedPart, partsOrFailure, type PartResult } from '#shared/run/summary';

const clients = clientsPerRegion(() => ({
  ssm: new SSMClient(clientSettings()),
  ec2: new EC2Client(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
}));

/** Event: `{ group, executionStartTime, requestedParts? }`. Answers the `metadata/maintenance-windows` part. */
export const handler = withLambdaContext(async (event: unknown): Promise<PartResult> => {
  const task = groupTask(event, currentSettings());
  const skipped = skippedParts(task, ['metadata/maintenance-windows']);
  if (skipped) return skipped[0];
  const [part] = await partsOrFailure(['metadata/maintenance-windows'], async () => [
    await exportMaintenanceWindows(clients(), task.deployment, { executionStartTime: task.executionStartTime }),
  ]);
  return boundedPart(part);
});
