/**
 * Athena's answers from the local engine where DuckDB's own would differ: functions and syntax that
 * DuckDB names or reads otherwise, and the meanings it gives the same text. Literals only, on a
 * bucket without exports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SqlEngine } from '#local/sql-engine';

describe('Athena SQL semantics in the local engine', () => {
  let folder: string;
  let engine: SqlEngine;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'athena-sql-'));
    engine = await SqlEngine.open({ folder, location: { bucket: 'b', prefix: '' } }, { viewsFolder: null });
  });
  after(() => {
    engine?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const rows = async (sql: string) => (await engine.run(sql)).rows;

  it('divides integers as integers', async () => {
    expect(await rows('SELECT 5 / 2, -5 / 2, 5.0 / 2, CAST(5 AS double) / 2')).to.deep.equal([[2, -2, 2.5, 2.5]]);
  });

  it('counts whole units in date_diff', async () => {
    expect(
      await rows(`SELECT date_diff('day', timestamp '2024-01-01 23:59:00', timestamp '2024-01-02 00:01:00'),
        date_diff('hour', timestamp '2024-01-01 10:30:00', timestamp '2024-01-01 12:29:00'),
        date_diff('day', from_iso8601_timestamp('2024-01-01T00:00:00Z'), timestamp '2024-01-31 00:00:00')`),
    ).to.deep.equal([[0, 1, 30]]);
  });

  it('reads JSON text with json_extract_scalar and json_extract, NULL for text that is not JSON', async () => {
    expect(
      await rows(`SELECT json_extract_scalar(j, '$.Owner'), json_extract_scalar(j, '$["Cost Center"]'),
          json_extract_scalar(j, '$.Tags'), json_extract(j, '$.Tags')
        FROM (VALUES '{"Owner": "platform-team", "Cost Center": 42, "Tags": ["a"]}', 'not JSON at all') AS t(j)`),
    ).to.deep.equal([
      ['platform-team', '42', null, '["a"]'],
      [null, null, null, null],
    ]);
  });

  it('answers NULL for regexp_extract without a match and split_part past the last part', async () => {
    expect(
      await rows(`SELECT regexp_extract('[nightly]x', '^\\[([^\\]]+)\\]', 1), regexp_extract('plain.key', '^\\[([^\\]]+)\\]', 1),
        regexp_extract('abc', 'b'), split_part('a.b', '.', 2), split_part('a.b', '.', 3)`),
    ).to.deep.equal([['nightly', null, 'b', 'b', null]]);
  });

  it('counts distinct values exactly in approx_distinct on small sets', async () => {
    expect(await rows('SELECT approx_distinct(x) FROM UNNEST(sequence(1, 10)) AS t(x)')).to.deep.equal([[10]]);
  });

  it('gives the fields of an array of rows their own columns in UNNEST, with or without names', async () => {
    const tags = `ARRAY[CAST(ROW('Name', 'web') AS ROW(key varchar, value varchar)),
      CAST(ROW('team', 'a') AS ROW(key varchar, value varchar))]`;
    expect(
      await rows(`SELECT t.key, t.value FROM (SELECT ${tags} AS tags) i CROSS JOIN UNNEST(i.tags) AS t(key, value)`),
    ).to.deep.equal([
      ['Name', 'web'],
      ['team', 'a'],
    ]);
    expect(
      await rows(`SELECT t.value, t.key FROM (SELECT ${tags} AS tags) i, UNNEST(i.tags) AS t WHERE t.key = 'team'`),
    ).to.deep.equal([['a', 'team']]);
    expect(await rows(`SELECT t.tag.value FROM UNNEST(${tags}) AS t(tag) WHERE t.tag.key = 'Name'`)).to.deep.equal([
      ['web'],
    ]);
  });

  it('numbers the elements of UNNEST ... WITH ORDINALITY, and pads shorter arrays with NULL', async () => {
    expect(
      await rows(`SELECT x, y, n FROM UNNEST(ARRAY['a', 'b', 'c'], ARRAY[1]) WITH ORDINALITY AS t(x, y, n) ORDER BY n`),
    ).to.deep.equal([
      ['a', 1, 1],
      ['b', null, 2],
      ['c', null, 3],
    ]);
  });

  it('keeps the rows without elements in LEFT JOIN UNNEST ... ON true', async () => {
    expect(
      await rows(`SELECT f, w FROM (VALUES ('a', ARRAY[1, 2]), ('b', CAST(ARRAY[] AS array(integer)))) AS t(f, ws)
        LEFT JOIN UNNEST(ws) AS u(w) ON true ORDER BY f, w`),
    ).to.deep.equal([
      ['a', 1],
      ['a', 2],
      ['b', null],
    ]);
  });

  it('runs the functions of Athena that DuckDB names otherwise', async () => {
    expect(
      await rows(`SELECT cardinality(ARRAY[1, 2, 3]), regexp_like('CS-demo-Subfleet.api', 'Subfleet\\.'),
        split_part('a.b.c', '.', 2), element_at(ARRAY['x', 'y'], -1), element_at(MAP(ARRAY['k'], ARRAY['v']), 'k'),
        try_cast('x' AS integer), array_join(ARRAY['a', 'b'], ','),
        date_format(timestamp '2024-03-05 07:08:09', '%Y-%m-%d %H:%i:%s'), contains(ARRAY['a'], 'a')`),
    ).to.deep.equal([[3, true, 'b', 'y', 'v', null, 'a,b', '2024-03-05 07:08:09', true]]);
  });

  it('shows timestamps as Athena does, and compares them with current_timestamp', async () => {
    const result = await engine.run(`SELECT timestamp '2024-01-02 03:04:05.600',
      from_iso8601_timestamp('2024-01-02T03:04:05Z'),
      timestamp '2024-01-02 03:04:05' < current_timestamp - INTERVAL '2' HOUR`);
    expect(result).to.deep.equal({
      columns: ['_col0', '_col1', '_col2'],
      rows: [['2024-01-02 03:04:05.600', '2024-01-02 03:04:05.000 UTC', true]],
    });
  });

  it('runs window functions and WITH', async () => {
    expect(
      await rows(`WITH t AS (SELECT * FROM (VALUES ('a', 3), ('a', 1), ('b', 2)) AS v(g, x))
        SELECT g, x, row_number() OVER (PARTITION BY g ORDER BY x) FROM t ORDER BY g, x`),
    ).to.deep.equal([
      ['a', 1, 1],
      ['a', 3, 2],
      ['b', 2, 1],
    ]);
  });
});
