/**
 * What DynamoDB accepts as a CloneSquad table row, checked before anything is written, so that a
 * restore (or a seed) refuses a whole document up front instead of failing half-way through it.
 *
 * DynamoDB counts an item's size as the UTF-8 length of every attribute name plus every value
 * (a number: at most 21 bytes), and refuses an empty string or more than 2048 bytes as a partition
 * key.
 */
import { UserInputError } from './errors.ts';
import type { TableRow } from './table-rows.ts';

/** 400 KB, DynamoDB's item size limit. */
export const MAX_ITEM_BYTES = 400 * 1024;
/** DynamoDB's limit for a partition key value. */
export const MAX_KEY_BYTES = 2048;
/** The most a number attribute (the TTL) can take. */
const MAX_NUMBER_BYTES = 21;
/** Longest key shown in a message; longer ones are clipped. */
const SHOWN_KEY_LENGTH = 80;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** The size DynamoDB gives the item `{Key, Value[, ExpirationTime]}` of a row (an upper bound for the TTL). */
export function rowItemBytes(row: TableRow): number {
  const ttl = row.expirationTime === undefined ? 0 : utf8('ExpirationTime') + MAX_NUMBER_BYTES;
  return utf8('Key') + utf8(row.key) + utf8('Value') + utf8(row.value) + ttl;
}

/** Why DynamoDB would refuse the row's item, or `undefined` when it fits. */
export function rowLimitProblem(row: TableRow): string | undefined {
  if (row.key === '') return 'the key is empty, and DynamoDB refuses an empty key';
  const keyBytes = utf8(row.key);
  if (keyBytes > MAX_KEY_BYTES) {
    return `the key is ${keyBytes} bytes (UTF-8), over the ${MAX_KEY_BYTES} bytes DynamoDB allows for a key`;
  }
  const itemBytes = rowItemBytes(row);
  if (itemBytes > MAX_ITEM_BYTES) {
    return (
      `its value is ${utf8(row.value)} bytes (UTF-8), so the table item would be ${itemBytes} bytes, over ` +
      `DynamoDB's item limit of ${MAX_ITEM_BYTES} bytes (400 KB)`
    );
  }
  return undefined;
}

function shownKey(key: string): string {
  const characters = [...key];
  return characters.length > SHOWN_KEY_LENGTH ? `${characters.slice(0, SHOWN_KEY_LENGTH).join('')}…` : key;
}

/**
 * Throws a {@link UserInputError} naming `source` and the first row DynamoDB would refuse. Call it
 * on a whole document before writing any of it.
 *
 * @example
 * const rows = loadBackupYaml(text, 's3://bucket/…/latest-…-configuration-cs-web.yaml');
 * checkRowsFit(rows, 's3://bucket/…/latest-…-configuration-cs-web.yaml'); // then write
 */
export function checkRowsFit(rows: Iterable<TableRow>, source: string): void {
  for (const row of rows) {
    const problem = rowLimitProblem(row);
    if (problem) {
      throw new UserInputError(
        `${source}, key "${shownKey(row.key)}"`,
        problem,
        row.key === ''
          ? 'give the row a key, or remove it; nothing was written'
          : 'shorten it, or split it over several keys; nothing was written',
      );
    }
  }
}
