import { S3Client } from '@aws-sdk/client-s3';
import { s3ClientSettings } from '#shared/aws/clients';
import { publishLatestBackups, type BackupPartResult } from '#shared/backup/backup';
import { currentDeployment } from '#shared/run/deployment-cache';
import { isArray, requireField } from '#shared/aws/handler-input';
import { isRequested, notRequestedPart } from '#shared/run/run-request';
import { BACKUP_TABLES } from '#shared/aws/s3-layout';
import { boundedPart, flattenParts, type PartResult } from '#shared/run/summary';

const s3 = new S3Client(s3ClientSettings());

/** Event: `{ parts: PartResult[], requestedParts? }`, the results of the export branches. */
export async function handler(event: unknown): Promise<PartResult> {
  if (!BACKUP_TABLES.some((table) => isRequested(event, `backup/${table}`))) return notRequestedPart('archive');
  const parts = flattenParts(requireField(event, 'parts', isArray, 'the array of branch results'));
  const backups = parts.filter((part): part is BackupPartResult => part.part.startsWith('backup/'));
  return boundedPart(await publishLatestBackups(s3, currentDeployment(), backups));
}
