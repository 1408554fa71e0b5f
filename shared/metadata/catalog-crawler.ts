/**
 * The `catalog` part of a run: the Glue crawler registers the partitions an export created, and is
 * started only when one was created (every metadata part says whether its partition folder is new),
 * so that in the steady state no crawl runs and costs nothing. A crawler already running picks the
 * new partitions up; one that does not exist here (a member account, whose catalog is central) is a
 * skip with the reason: the central account's own trigger registers them.
 */
import { GlueClient, StartCrawlerCommand } from '@aws-sdk/client-glue';
import { describeError } from '#shared/aws/errors';
import { failedPart, type PartResult } from '#shared/run/summary';

export const CATALOG_PART = 'catalog';

/** Whether any metadata part result says it created a partition folder. */
export function createdPartition(parts: readonly unknown[]): boolean {
  return parts.some((part) => (part as { newPartition?: unknown } | null)?.newPartition === true);
}

export async function updateCatalog(
  glue: GlueClient,
  crawlerName: string | undefined,
  parts: readonly unknown[],
): Promise<PartResult> {
  if (!crawlerName) {
    return { part: CATALOG_PART, status: 'skipped', reason: 'no crawler configured (GlueCrawlerName is empty)' };
  }
  if (!createdPartition(parts)) {
    return {
      part: CATALOG_PART,
      status: 'skipped',
      reason: 'no new partition, the catalog knows every partition written',
    };
  }
  try {
    await glue.send(new StartCrawlerCommand({ Name: crawlerName }));
    return { part: CATALOG_PART, status: 'ok', reason: `started crawler ${crawlerName} for the new partitions` };
  } catch (error) {
    switch (describeError(error).name) {
      case 'CrawlerRunningException':
        return {
          part: CATALOG_PART,
          status: 'ok',
          reason: `crawler ${crawlerName} was already running; it picks up the new partitions`,
        };
      case 'EntityNotFoundException':
        return {
          part: CATALOG_PART,
          status: 'skipped',
          reason:
            `crawler ${crawlerName} does not exist in this account and region: the catalog's own account registers ` +
            'new partitions (its catalog stack reacts to them); or deploy the catalog stack here, or set ' +
            'GlueCrawlerName (empty to skip)',
        };
      default:
        return failedPart(CATALOG_PART, error);
    }
  }
}
