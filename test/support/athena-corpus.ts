/**
 * The Athena SQL corpus (test/fixtures/athena-corpus/): statements written for Athena over the
 * tables a local run of the sample group (local/sample-seed.yaml) exports, each with the rows it
 * gives, worked out from the seed. `NAME.sql` holds the statements (the last one's result counts);
 * `NAME.yaml` the expected result:
 *
 * ```yaml
 * # how the rows follow from the seed
 * sql: glue/queries/fleet-size.sql   # optional: the statements live there instead of NAME.sql
 * ordered: false                     # optional: the statement has no ORDER BY
 * columns: [state, instances]
 * rows:
 *   - [running, 3]
 *   - ['{exportedAt}', 1]            # {fact}: a value known only once the run is done
 *   - [api, '{hoursSinceInstall}']   # a whole value `{fact}` takes the fact's type (number, boolean)
 *   - when: batchInMaintenance       # a row expected only when that fact is true
 *     row: [batch, 1]
 * ```
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from '@duckdb/node-api';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '#local/python-env';

export const ATHENA_CORPUS_FOLDER = join(PROJECT_ROOT, 'test', 'fixtures', 'athena-corpus');

type ExpectedRow = Json[] | { when: string; row: Json[] };

export interface CorpusEntry {
  name: string;
  /** The statements' file, relative to the project root. */
  sqlFile: string;
  sql: string;
  ordered: boolean;
  columns: string[];
  rows: ExpectedRow[];
}

/** Values of a run that the expected rows name as `{name}` or `when: name` (boolean). */
export type CorpusFacts = Record<string, string | number | boolean>;

const EXPECTATION_FIELDS = ['sql', 'ordered', 'columns', 'rows'];

function loadEntry(name: string): CorpusEntry {
  const expectation = parse(readFileSync(join(ATHENA_CORPUS_FOLDER, `${name}.yaml`), 'utf8')) as Record<
    string,
    unknown
  >;
  const unknown = Object.keys(expectation).filter((field) => !EXPECTATION_FIELDS.includes(field));
  if (unknown.length > 0) throw new Error(`${name}.yaml: unknown fields ${unknown.join(', ')}`);
  if (!Array.isArray(expectation.columns) || !Array.isArray(expectation.rows)) {
    throw new Error(`${name}.yaml: columns and rows must be lists`);
  }
  const sqlFile = (expectation.sql as string | undefined) ?? `test/fixtures/athena-corpus/${name}.sql`;
  return {
    name,
    sqlFile,
    sql: readFileSync(join(PROJECT_ROOT, ...sqlFile.split('/')), 'utf8'),
    ordered: expectation.ordered !== false,
    columns: expectation.columns as string[],
    rows: expectation.rows as ExpectedRow[],
  };
}

export function loadAthenaCorpus(): CorpusEntry[] {
  return readdirSync(ATHENA_CORPUS_FOLDER)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => loadEntry(file.slice(0, -'.yaml'.length)))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function withFacts(value: Json, facts: CorpusFacts): Json {
  if (typeof value === 'string') {
    const whole = /^\{(\w+)\}$/.exec(value);
    if (whole) {
      if (!(whole[1] in facts)) throw new Error(`${value}: no such fact`);
      return facts[whole[1]];
    }
    return value.replace(/\{(\w+)\}/g, (placeholder, name: string) => {
      if (typeof facts[name] !== 'string') throw new Error(`${placeholder}: no such text fact`);
      return facts[name] as string;
    });
  }
  if (Array.isArray(value)) return value.map((item) => withFacts(item, facts));
  return value;
}

/** The rows an entry expects after a run with these facts. */
export function expectedRows(entry: CorpusEntry, facts: CorpusFacts): Json[][] {
  return entry.rows.flatMap((row) => {
    if (Array.isArray(row)) return [withFacts(row, facts) as Json[]];
    if (typeof facts[row.when] !== 'boolean') throw new Error(`${entry.name}: when ${row.when}: no such boolean fact`);
    return facts[row.when] ? [withFacts(row.row, facts) as Json[]] : [];
  });
}
