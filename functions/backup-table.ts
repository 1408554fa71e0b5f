import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { currentDeployment } from '#shared/run/deployment-cache';
import { isOneOf, isString, requireField } from '#shared/aws/handler-input';
import { isRequested } from '#shared/run/run-request';
import { BACKUP_TABLES } from '#shared/aws/s3-layout';
import { boundedParts, type PartResult } from '#shared/run/summary';
import { exportTable } from '#shared/backup/table-export';

const clients = { dynamodb: new DynamoDBClient(clientSettings()), s3: new S3Client(s3ClientSettings()) };

/**
 * Event: `{ table: "configuration" | "scheduler", executionStartTime: ISO-8601, requestedParts? }`.
 * Answers two parts: the table's backup and its metadata export (skipped when not requested).
 */
export async function handler(event: unknown): Promise<PartResult[]> {
  const table = requireField(event, 'table', isOneOf(BACKUP_TABLES), 'one of ' + BACKUP_TABLES.join(', '));
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  const write = { backup: isRequested(event, `backup/${table}`), metadata: isRequested(event, `metadata/${table}`) };
  return boundedParts(await exportTable(clients, currentDeployment(), { table, executionStartTime, write }));
}
