import { withLambdaContext } from '#shared/aws/log';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettings, clientsPerRegion, s3ClientSettings } from '#shared/aws/clients';
import { exportDiscovery } from '#shared/metadata/discovery';
import { currentSettings } from '#shared/run/deployment-cache';
import { groupTask, skippedParts } from '#shared/run/group-plan';
import { boundedPart, partsOrFailure, type PartResult } from '#shared/run/summary';

const clients = clientsPerRegion(() => ({
  cloudformation: new CloudFormationClient(clientSettings()),
  organizations: new OrganizationsClient(clientSettings()),
  ec2: new EC2Client(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
  lambda: new LambdaClient(clientSettings()),
}));

/** Event: `{ group, executionStartTime, requestedParts? }`. Answers the `metadata/discovery` part. */
export const handler = withLambdaContext(async (event: unknown): Promise<PartResult> => {
  const settings = currentSettings();
  const task = groupTask(event, settings);
  const skipped = skippedParts(task, ['metadata/discovery']);
  if (skipped) return skipped[0];
  const [part] = await partsOrFailure(['metadata/discovery'], async () => [
    await exportDiscovery(clients(), task.deployment, {
      executionStartTime: task.executionStartTime,
      timeZoneOverride: settings.timeZone,
    }),
  ]);
  return boundedPart(part);
});
