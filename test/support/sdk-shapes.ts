/**
 * Compares a table's explicit columns with the shape the AWS SDK deserializes, read from the SDK's
 * own schema objects (`Instance$`, `Volume$`, …), so that a field the SDK adds after an upgrade is
 * named by a failing test instead of being dropped silently by the catalog. Also builds, from the
 * same schema objects, sample objects with every member set, for record tests.
 */
import { NormalizedSchema } from '@smithy/core/schema';
import type { Column, ColumnType } from '#shared/catalog/schema';

type SchemaRef = Parameters<typeof NormalizedSchema.of>[0];

function kindProblems(sdk: NormalizedSchema, column: ColumnType, path: string): string[] {
  if (sdk.isStructSchema()) {
    if (column.kind !== 'struct') return [`${path}: the SDK has a structure, the schema ${column.kind}`];
    return membersProblems(sdk, column.fields, path);
  }
  if (sdk.isListSchema()) {
    if (column.kind !== 'array') return [`${path}: the SDK has a list, the schema ${column.kind}`];
    return kindProblems(sdk.getValueSchema(), column.of, `${path}[]`);
  }
  const expected = sdk.isBooleanSchema()
    ? ['boolean']
    : sdk.isNumericSchema()
      ? ['int', 'bigint', 'double']
      : sdk.isStringSchema() || sdk.isTimestampSchema()
        ? ['string']
        : [];
  if (expected.length === 0) return [`${path}: the SDK type is not handled by this comparison`];
  return expected.includes(column.kind) ? [] : [`${path}: expected ${expected.join(' or ')}, got ${column.kind}`];
}

function membersProblems(sdk: NormalizedSchema, fields: Column[], path: string): string[] {
  const byName = new Map(fields.map((field) => [field.name, field]));
  const problems: string[] = [];
  for (const [name, member] of sdk.structIterator()) {
    const where = path ? `${path}.${name}` : name;
    const field = byName.get(name);
    if (!field) problems.push(`${where}: the SDK carries it, the schema has no such column`);
    else problems.push(...kindProblems(member, field.type, where));
    byName.delete(name);
  }
  if (path) problems.push(...[...byName.keys()].map((name) => `${path}.${name}: not in the SDK shape`));
  return problems;
}

/**
 * Differences between the SDK structure `shape` and `columns`; columns named in `extra` are the
 * ones the product adds at the top level. Empty when they match.
 */
export function sdkShapeProblems(shape: SchemaRef, columns: Column[], extra: string[]): string[] {
  const top = columns.filter((column) => !extra.includes(column.name));
  const sdk = NormalizedSchema.of(shape);
  const sdkMembers = new Set([...sdk.structIterator()].map(([name]) => name));
  return [
    ...membersProblems(sdk, top, ''),
    ...top.filter((column) => !sdkMembers.has(column.name)).map((column) => `${column.name}: not in the SDK shape`),
  ];
}

/** The instant every timestamp member of an {@link sdkSample} holds. */
export const SAMPLE_TIME = new Date('2024-04-30T08:15:30.000Z');

function sampleOf(schema: NormalizedSchema, name: string, depth: number): unknown {
  if (depth > 32) throw new Error(`sdkSample: ${name} nests deeper than 32 levels (a recursive shape?)`);
  if (schema.isStructSchema()) {
    return Object.fromEntries(
      [...schema.structIterator()].map(([member, memberSchema]) => [member, sampleOf(memberSchema, member, depth + 1)]),
    );
  }
  if (schema.isListSchema()) return [sampleOf(schema.getValueSchema(), name, depth + 1)];
  if (schema.isMapSchema()) return { [`${name}Key`]: sampleOf(schema.getValueSchema(), name, depth + 1) };
  if (schema.isBooleanSchema()) return true;
  if (schema.isNumericSchema()) return 1;
  if (schema.isTimestampSchema()) return new Date(SAMPLE_TIME);
  if (schema.isStringSchema()) return `${name}-value`;
  throw new Error(`sdkSample: ${name} has an SDK type this sample does not handle`);
}

/**
 * An object of the SDK structure `shape` with every member set, as the SDK deserializes it:
 * `Date` for timestamps, `1` for numbers, `true` for booleans, `"{member}-value"` for strings, one
 * element per list.
 */
export function sdkSample<T>(shape: SchemaRef): T {
  return sampleOf(NormalizedSchema.of(shape), 'value', 0) as T;
}
