import { withLambdaContext } from '#shared/aws/log';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettings, clientsPerRegion, s3ClientSettings } from '#shared/aws/clients';
import { exportInstancesAndVolumes } from '#shared/metadata/instances';
import { currentSettings } from '#shared/run/deployment-cache';
import { groupTask, skippedParts } from '#shared/run/group-plan';
import { boundedParts, partsOrFailure, type PartResult } from '#shared/run/summary';

const clients = clientsPerRegion(() => ({
  ec2: new EC2Client(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
}));

/**
 * Event: `{ group, executionStartTime, requestedParts? }`. Answers the `metadata/instances` and
 * `metadata/volumes` parts, produced together from one DescribeInstances pass (a plan asks for both or neither).
 */
export const handler = withLambdaContext(async (event: unknown): Promise<PartResult[]> => {
  const task = groupTask(event, currentSettings());
  const skipped = skippedParts(task, ['metadata/instances', 'metadata/volumes']);
  if (skipped) return skipped;
  return boundedParts(
    await partsOrFailure(['metadata/instances', 'metadata/volumes'], () =>
      exportInstancesAndVolumes(clients(), task.deployment, { executionStartTime: task.executionStartTime }),
    ),
  );
});
