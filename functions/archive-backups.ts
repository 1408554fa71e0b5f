import { S3Client } from '@aws-sdk/client-s3';
import { s3ClientSettings } from '#shared/aws-clients';
import { publishLatestBackups, type BackupPartResult } from '#shared/backup';
import { currentDeployment } from '#shared/deployment-cache';
import { isArray, requireField } from '#shared/handler-input';
import { flattenParts, type PartResult } from '#shared/summary';

const s3 = new S3Client(s3ClientSettings());

/** Event: `{ parts: PartResult[] }`, the results of the export branches. */
export async function handler(event: unknown): Promise<PartResult> {
  const parts = flattenParts(requireField(event, 'parts', isArray, 'the array of branch results'));
  const backups = parts.filter((part): part is BackupPartResult => part.part.startsWith('backup/'));
  return publishLatestBackups(s3, currentDeployment(), backups);
}
