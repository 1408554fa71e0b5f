import { withLambdaContext } from '#shared/aws/log';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { clientSettings, clientsPerRegion, s3ClientSettings } from '#shared/aws/clients';
import { reconcileGroups, type ReconcileReport } from '#shared/groups/reconcile';
import { currentSettings } from '#shared/run/deployment-cache';
import { affectsBackupCron } from '#shared/schedule/backup-cron';

const clients = clientsPerRegion(() => ({
  cloudformation: new CloudFormationClient(clientSettings()),
  dynamodb: new DynamoDBClient(clientSettings()),
  scheduler: new SchedulerClient(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
}));

/**
 * Event: anything — its 15-minute schedule, a CloudFormation stack change, or (single-group mode) a
 * batch of Configuration-table stream records filtered to the rows `backup.cron` depends on; each
 * brings every group's schedule up to date. Fails when any group failed (after doing the others).
 */
export const handler = withLambdaContext(async (event: unknown): Promise<ReconcileReport | { skipped: string }> => {
  const records = (event as { Records?: { dynamodb?: { Keys?: { Key?: { S?: string } } } }[] } | null)?.Records;
  // The stream's filter lets every parameter-set row through: only rows backup.cron depends on matter.
  if (records && !records.some((record) => affectsBackupCron(record.dynamodb?.Keys?.Key?.S ?? ''))) {
    return { skipped: 'no changed row can change backup.cron' };
  }
  const report = await reconcileGroups(clients(), currentSettings());
  const failed = report.groups.filter((group) => group.error);
  if (failed.length > 0) {
    throw new Error(
      `${failed.length} group(s) failed: ${failed.map((group) => `${group.groupName}: ${group.error}`).join('; ')}`,
    );
  }
  return report;
});
