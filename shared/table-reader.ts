/**
 * Reads a whole CloneSquad Configuration or Scheduler table (SPEC §3): paginated, strongly
 * consistent Scan; TTL-expired rows and malformed rows are left out, each malformed one reported.
 */
import { DynamoDBClient, paginateScan, ResourceNotFoundException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { quoteInput, UserInputError } from './errors.ts';
import type { TableRow } from './table-rows.ts';

export interface TableContents {
  rows: TableRow[];
  /** Rows left out because they cannot be represented, each with the reason. */
  warnings: string[];
  expiredRows: number;
  /** Scan pages read (1 MB each at most), for cost accounting. */
  pages: number;
}

export interface ReadTableOptions {
  /** The table's name, and the deployment parameter that names it (for error messages). */
  tableName: string;
  parameterName: string;
  now?: Date;
}

export async function readTable(dynamodb: DynamoDBClient, options: ReadTableOptions): Promise<TableContents> {
  const nowSeconds = (options.now ?? new Date()).getTime() / 1000;
  const contents: TableContents = { rows: [], warnings: [], expiredRows: 0, pages: 0 };
  const pages = paginateScan({ client: dynamodb }, { TableName: options.tableName, ConsistentRead: true });
  try {
    for await (const page of pages) {
      contents.pages += 1;
      for (const item of page.Items ?? []) {
        const row = rowFromItem(item, contents.warnings);
        if (!row) continue;
        if (row.expirationTime !== undefined && row.expirationTime < nowSeconds) {
          contents.expiredRows += 1;
          continue;
        }
        contents.rows.push(row);
      }
    }
  } catch (error) {
    if (error instanceof ResourceNotFoundException) {
      throw new UserInputError(
        `${options.parameterName} ${quoteInput(options.tableName)}`,
        'no DynamoDB table of that name exists in this account and region',
        `check that the CloneSquad deployment exists here, or redeploy with ${options.parameterName} set to its table name`,
      );
    }
    throw error;
  }
  return contents;
}

/** The row an item stands for, or `undefined` (with a warning) when it lacks a string Key or Value. */
export function rowFromItem(item: Record<string, AttributeValue>, warnings: string[]): TableRow | undefined {
  const key = item.Key?.S;
  if (key === undefined) {
    warnings.push(
      `skipped an item without a string "Key" attribute (attributes: ${Object.keys(item).sort().join(', ') || 'none'}). ` +
        'Fix: delete the item, or give it a string Key',
    );
    return undefined;
  }
  const value = item.Value?.S;
  if (value === undefined) {
    const found = item.Value ? `a ${Object.keys(item.Value)[0]} value` : 'no "Value" attribute';
    warnings.push(
      `skipped key ${quoteInput(key)}: it has ${found}, not a string; CloneSquad only reads string values. ` +
        'Fix: write the value again as a string (DynamoDB type S)',
    );
    return undefined;
  }
  const row: TableRow = { key, value };
  const ttl = item.ExpirationTime?.N;
  if (ttl !== undefined && Number.isFinite(Number(ttl))) row.expirationTime = Number(ttl);
  return row;
}
