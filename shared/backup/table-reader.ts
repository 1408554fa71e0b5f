/**
 * Reads a whole CloneSquad Configuration or Scheduler table (docs/cmdb.md): paginated, strongly
 * consistent Scan; TTL-expired rows and malformed rows are left out, each malformed one reported.
 */
import { DynamoDBClient, paginateScan, ResourceNotFoundException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import type { TableRow } from '#shared/catalog/table-rows';

export interface TableContents {
  rows: TableRow[];
  /** Rows left out because they cannot be represented, each with the reason. */
  warnings: string[];
  /** Keys of the rows left out because their TTL has passed (DynamoDB deletes them lazily). */
  expiredKeys: string[];
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
  const contents: TableContents = { rows: [], warnings: [], expiredKeys: [], pages: 0 };
  const pages = paginateScan({ client: dynamodb }, { TableName: options.tableName, ConsistentRead: true });
  try {
    for await (const page of pages) {
      contents.pages += 1;
      for (const item of page.Items ?? []) {
        const row = rowFromItem(item, contents.warnings);
        if (!row) continue;
        if (row.expirationTime !== undefined && row.expirationTime < nowSeconds) {
          contents.expiredKeys.push(row.key);
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
    const found = item.Value ? `its Value is ${typeInWords(item.Value)}, not a string` : 'it has no "Value" attribute';
    warnings.push(
      `skipped key ${quoteInput(key)}: ${found}; CloneSquad only reads string values. ` +
        'Fix: write the value again as a string (DynamoDB type S)',
    );
    return undefined;
  }
  const row: TableRow = { key, value };
  const ttl = item.ExpirationTime?.N;
  if (ttl !== undefined && Number.isFinite(Number(ttl))) row.expirationTime = Number(ttl);
  return row;
}

const TYPE_WORDS: Record<string, string> = {
  S: 'a string',
  N: 'a number',
  B: 'binary',
  SS: 'a string set',
  NS: 'a number set',
  BS: 'a binary set',
  M: 'a map',
  L: 'a list',
  NULL: 'a null',
  BOOL: 'a boolean',
};

/** `a map (M)`: the DynamoDB type of an attribute value as an operator reads it, code included. */
function typeInWords(value: AttributeValue): string {
  const code = Object.keys(value)[0];
  const words = TYPE_WORDS[code];
  return words ? `${words} (${code})` : `of type ${code}`;
}
