/**
 * Compares a table's explicit columns with the shape the AWS SDK deserializes, read from the SDK's
 * own schema objects (`Instance$`, `Volume$`, …), so that a field the SDK adds after an upgrade is
 * named by a failing test instead of being dropped silently by the catalog. Also builds, from the
 * same schema objects, sample objects with every member set, for record tests.
 */
import { NormalizedSchema } from '@smithy/core/schema';
import type { Column, ColumnType } from '#shared/catalog/schema';

type SchemaRef = Parameters<typeof NormalizedSchema.of>[0];

/** Deliberate departures of a table from the SDK shape, by path (`NetworkInterfaces[].Ipv6Addresses`). */
export interface ShapeDepartures {
  /** Columns the product adds, at any depth (`_Hostname`, `NetworkInterfaces[]._Ipv6Addresses`). */
  added?: string[];
  /** SDK lists of structures the product writes as lists of strings (the original CloneSquad's form). */
  stringLists?: string[];
}

function kindProblems(sdk: NormalizedSchema, column: ColumnType, path: string, departures: ShapeDepartures): string[] {
  if (departures.stringLists?.includes(path)) {
    const isStringList = column.kind === 'array' && column.of.kind === 'string';
    return sdk.isListSchema() && isStringList ? [] : [`${path}: expected an SDK list written as array<string>`];
  }
  if (sdk.isStructSchema()) {
    if (column.kind !== 'struct') return [`${path}: the SDK has a structure, the schema ${column.kind}`];
    return membersProblems(sdk, column.fields, path, departures);
  }
  if (sdk.isListSchema()) {
    if (column.kind !== 'array') return [`${path}: the SDK has a list, the schema ${column.kind}`];
    return kindProblems(sdk.getValueSchema(), column.of, `${path}[]`, departures);
  }
  const expected = sdk.isBooleanSchema()
    ? ['boolean']
    : sdk.isNumericSchema()
      ? ['int', 'bigint', 'double']
      : sdk.isTimestampSchema()
        ? ['timestamp']
        : sdk.isStringSchema()
          ? ['string']
          : [];
  if (expected.length === 0) return [`${path}: the SDK type is not handled by this comparison`];
  return expected.includes(column.kind) ? [] : [`${path}: expected ${expected.join(' or ')}, got ${column.kind}`];
}

function membersProblems(sdk: NormalizedSchema, fields: Column[], path: string, departures: ShapeDepartures): string[] {
  const byName = new Map(fields.map((field) => [field.name, field]));
  const problems: string[] = [];
  const at = (name: string) => (path ? `${path}.${name}` : name);
  for (const [name, member] of sdk.structIterator()) {
    const field = byName.get(name);
    if (!field) problems.push(`${at(name)}: the SDK carries it, the schema has no such column`);
    else problems.push(...kindProblems(member, field.type, at(name), departures));
    byName.delete(name);
  }
  for (const name of byName.keys()) {
    if (!departures.added?.includes(at(name))) problems.push(`${at(name)}: not in the SDK shape`);
  }
  return problems;
}

/**
 * Differences between the SDK structure `shape` and `columns`, but the `departures` the product
 * makes on purpose. Empty when they match.
 */
export function sdkShapeProblems(shape: SchemaRef, columns: Column[], departures: ShapeDepartures = {}): string[] {
  return membersProblems(NormalizedSchema.of(shape), columns, '', departures);
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
