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
import { boundedParts, flattenParts, type PartResult } from '#shared/run/summary';

const s3 = clientsPerRegion(() => new S3Client(s3ClientSettings()));
const glue = clientsPerRegion(() => new GlueClient(clientSettings()));

/**
 * Event: `{ parts, group, executionStartTime, requestedParts? }`, the results of the export branches.
 * Answers the `archive` part (each `latest-` moved to its new archive) and the `catalog` part (the
 * crawler started when an export created a partition).
 */
export const handler = withLambdaContext(async (event: unknown): Promise<PartResult[]> => {
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
  return boundedParts([archive, catalog]);
});
