/**
 * An item's size as DynamoDB counts it against its 400 KB limit (Developer Guide, "DynamoDB item
 * sizes and formats"): every attribute name and value, names and strings in UTF-8 bytes, numbers by
 * their significant digits, binary by its raw bytes, 3 bytes for a list or map and 1 per element.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const sum = (sizes: number[]) => sizes.reduce((total, size) => total + size, 0);

export function dynamoDbItemBytes(item: Record<string, AttributeValue>): number {
  return sum(Object.entries(item).map(([name, value]) => utf8Bytes(name) + valueBytes(value)));
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return sum(value.SS.map(utf8Bytes));
  if (value.NS !== undefined) return sum(value.NS.map(numberBytes));
  if (value.BS !== undefined) return sum(value.BS.map((bytes) => bytes.byteLength));
  if (value.L !== undefined) return 3 + sum(value.L.map((element) => 1 + valueBytes(element)));
  if (value.M !== undefined) {
    return 3 + sum(Object.entries(value.M).map(([name, element]) => 1 + utf8Bytes(name) + valueBytes(element)));
  }
  throw new TypeError(`dynamoDbItemBytes: unknown attribute value ${JSON.stringify(value)}`);
}

/** Two significant digits a byte, plus one: sign, point, exponent and leading or trailing zeros are not digits. */
function numberBytes(text: string): number {
  const mantissa = text.trim().replace(/^[+-]/, '').split(/e/i)[0];
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.floor((digits.length + 1) / 2) + 1;
}
