import { withLambdaContext } from '#shared/aws/log';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettings, clientsPerRegion, s3ClientSettings } from '#shared/aws/clients';
import { isArray, requireField } from '#shared/aws/handler-input';
import { BACKUP_TABLES } from '#shared/aws/s3-layout';
import { publishLatestBackups, type BackupPartResult } from '#shared/backup/backup';
import { CATALOG_PART, updateCatalog } from '#shared/metadata/catalog-crawler';
import { currentSettings } from '#shared/run/deployment-cache';
import { groupTask, skippedParts } from '#shared/run/group-plan';
import { boundedParts, concludeExecution, flattenParts, type ExecutionSummary } from '#shared/run/summary';

const s3 = clientsPerRegion(() => new S3Client(s3ClientSettings()));
const glue = clientsPerRegion(() => new GlueClient(clientSettings()));

/**
 * Event: `{ parts, group, executionStartTime, requestedParts? }`, the results of the export branches.
 * Makes the `archive` part (each `latest-` moved to its new archive) and the `catalog` part (the
 * crawler started when an export created a partition), then concludes the execution: answers its
 * summary, or throws it as `PartsFailed` when a part failed. One step, not two: each state a group's
 * execution enters is billed, every hour, for every group.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<ExecutionSummary> => {
  const settings = currentSettings();
  const task = groupTask(event, settings);
  const parts = flattenParts(requireField(event, 'parts', isArray, 'the array of branch results'));
  const backups = parts.filter((part): part is BackupPartResult => part.part.startsWith('backup/'));
  const archive =
    skippedParts(
      task,
      BACKUP_TABLES.map((table) => `backup/${table}`),
    )?.map((part) => ({ ...part, part: 'archive' }))[0] ?? (await publishLatestBackups(s3(), task.deployment, backups));
  const catalog = task.group.skipReason
    ? { part: CATALOG_PART, status: 'skipped' as const, reason: task.group.skipReason }
    : await updateCatalog(glue(), settings.glueCrawlerName, parts);
  const finished = boundedParts([archive, catalog]);
  return concludeExecution(task.group.groupName, task.executionStartTime, [...parts, ...finished], task.group.warnings);
});
