/**
 * The backup YAML is written into one buffer (a 100k-row table must not be held as rows, lines, a
 * joined string and a buffer at once): these pin the bytes to those the line-by-line writer gave.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { dumpBackupYaml, dumpBackupYamlBytes } from '#shared/backup/yaml-dump';
import type { TableRow } from '#shared/catalog/table-rows';
import { ALL_HOSTILE, longString } from '#test/support/hostile-strings';

const PROVENANCE = {
  table: 'configuration',
  groupName: 'demo',
  accountId: '123456789012',
  region: 'eu-west-1',
} as const;

/** Rows of every shape: plain and quoted, parameter sets, set names that are also keys, long keys, hostile text. */
function mixedRows(): TableRow[] {
  const rows: TableRow[] = [
    { key: 'ec2.schedule.min_instance_count', value: '2' },
    { key: 'app.run_period', value: '10:30' },
    { key: '[nightly]ec2.schedule.desired_instance_count', value: '0' },
    { key: '[nightly]note', value: 'yes' },
    { key: 'clash', value: 'plain' },
    { key: '[clash]sub', value: 'kept raw' },
    { key: 'note.unicode', value: 'Zürich — 東京 𝄞' },
    { key: longString(1500), value: 'after a long key' },
    { key: 'long.value', value: longString(70_000) },
  ];
  ALL_HOSTILE.forEach((text, index) => {
    rows.push({ key: `hostile.value.${index}`, value: text });
    rows.push({ key: `${text}`, value: `key ${index}` });
    rows.push({ key: `[set${index % 3}]${text}`, value: text });
  });
  for (let index = 0; index < 2000; index += 1) {
    rows.push({ key: `generated.${index}`, value: index % 3 === 0 ? `v ${'x'.repeat(index % 200)}` : `${index}` });
  }
  return rows;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('dumpBackupYamlBytes', () => {
  it('writes the exact bytes of the line-by-line writer, provenance line first', () => {
    expect(sha256(dumpBackupYamlBytes(mixedRows(), PROVENANCE))).to.equal(PINNED_WITH_PROVENANCE);
  });

  it('writes the exact bytes of the line-by-line writer without provenance', () => {
    expect(sha256(dumpBackupYamlBytes(mixedRows()))).to.equal(PINNED_WITHOUT_PROVENANCE);
  });

  it('writes a small document byte for byte', () => {
    const rows = [
      { key: 'b', value: 'yes' },
      { key: 'a', value: 'plain text' },
      { key: '[set]k', value: '0755' },
    ];
    expect(dumpBackupYamlBytes(rows).toString('utf8')).to.equal('a: plain text\nb: "yes"\nset:\n  k: "0755"\n');
  });

  it('writes an empty table as {}', () => {
    expect(dumpBackupYamlBytes([]).toString('utf8')).to.equal('{}\n');
  });

  it('answers the same text as dumpBackupYaml', () => {
    const rows = mixedRows();
    expect(dumpBackupYamlBytes(rows, PROVENANCE).toString('utf8')).to.equal(dumpBackupYaml(rows, PROVENANCE));
  });
});

/** SHA-256 of the line-by-line writer's output for {@link mixedRows}, recorded before the change. */
const PINNED_WITH_PROVENANCE = '32b7dd61a718ec14bb1d05a1db9589bc84fea67d39c3897f2ceef138d2a67c68';
const PINNED_WITHOUT_PROVENANCE = 'f772399423a77aad1da4b0d21461488cc52863c517caadf1fb098bdececb98b0';
