import { expect } from 'chai';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { parseDocument, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import { provenanceLine, readProvenance, type BackupProvenance } from '#shared/backup/provenance';
import { UserInputError } from '#shared/aws/errors';
import { compareCodePoints, splitParameterSetKey, type TableRow } from '#shared/catalog/table-rows';
import { dumpBackupYaml, formatScalar, loadBackupYaml } from '#shared/backup/yaml-codec';
import { ALL_HOSTILE, hostileText, longString } from '#test/support/hostile-strings';
import { PyYaml, PyYamlError } from '#test/support/pyyaml';

let pyyaml: PyYaml;

type Reader = (text: string) => Promise<unknown>;

function yamlPackageReader(options: ParseOptions & DocumentOptions & SchemaOptions): Reader {
  return async (text) => {
    const document = parseDocument(text, options);
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem) throw problem;
    return document.toJS({ mapAsMap: true });
  };
}

const READERS: [string, Reader][] = [
  ['PyYAML safe_load', (text) => pyyaml.load(text)],
  ['yaml 1.2 core', yamlPackageReader({ version: '1.2', schema: 'core' })],
  ['yaml 1.1', yamlPackageReader({ version: '1.1' })],
];

/**
 * A loaded backup document as table rows (nested parameter sets flattened back to `[name]subkey`),
 * refusing anything that is not a string.
 */
function flatten(document: unknown): Map<string, string> {
  if (!(document instanceof Map)) throw new Error(`top level is ${inspect(document)}, not a mapping`);
  const rows = new Map<string, string>();
  const add = (key: unknown, value: unknown) => {
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new Error(`row ${inspect(key)}: ${inspect(value)} is not a pair of strings`);
    }
    if (rows.has(key)) throw new Error(`row ${inspect(key)} appears twice`);
    rows.set(key, value);
  };
  for (const [key, node] of document) {
    if (node instanceof Map) for (const [subkey, value] of node) add(`[${key}]${subkey}`, value);
    else add(key, node);
  }
  return rows;
}

const byKey = ([a]: [string, string], [b]: [string, string]) => compareCodePoints(a, b);

function sortedRows(rows: Map<string, string>): [string, string][] {
  return [...rows].sort(byKey);
}

function tableRows(rows: Map<string, string>): TableRow[] {
  return [...rows].map(([key, value]) => ({ key, value }));
}

/** Dumps the rows and checks that every reader gives them back, and in code-point order. */
async function expectRoundTrip(rows: Map<string, string>, provenance?: BackupProvenance): Promise<string> {
  const text = dumpBackupYaml(tableRows(rows), provenance);
  for (const [name, read] of READERS) {
    let document: unknown;
    try {
      document = await read(text);
    } catch (error) {
      throw new Error(`${name} could not read ${inspect(text.slice(0, 2000))}: ${String(error)}`);
    }
    const what = `${name} reading ${inspect(text.slice(0, 2000))}`;
    expect(sortedRows(flatten(document)), what).to.deep.equal(sortedRows(rows));
    const topKeys = [...(document as Map<string, unknown>).keys()];
    expect(topKeys, `${what}: keys in code-point order`).to.deep.equal([...topKeys].sort(compareCodePoints));
  }
  return text;
}

const rowsOf = (...entries: [string, string][]) => new Map(entries);

/** The message of the UserInputError `read` throws, to compare whole. */
function refusalOf(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect(error).to.be.instanceOf(UserInputError);
    return (error as Error).message;
  }
  return expect.fail('nothing was refused');
}

describe('YAML codec (docs/backup-format.md)', function () {
  before(async function () {
    this.timeout(120_000);
    pyyaml = await PyYaml.start();
  });
  after(async () => {
    await pyyaml?.close();
  });

  describe('the PyYAML co-process', () => {
    it('answers safe_load results with their Python types', async () => {
      const loaded = await pyyaml.load('a: yes\nb: 0755\nc: 1:20\nd: .nan\ne: 2021-01-01\nf: ~\n1: "x"\n');
      expect(loaded).to.be.instanceOf(Map);
      const map = loaded as Map<unknown, unknown>;
      expect([...map.keys()]).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f', 1]);
      expect(map.get('a')).to.equal(true);
      expect(map.get('b')).to.equal(0o755);
      expect(map.get('c')).to.equal(80);
      expect(Number.isNaN(map.get('d'))).to.equal(true);
      expect(map.get('e')).to.deep.equal(new Date('2021-01-01T00:00:00Z'));
      expect(map.get('f')).to.equal(null);
    });

    it('carries astral characters and lone surrogates both ways', async () => {
      expect(await pyyaml.load('"😀東京é"')).to.equal('😀東京é');
      expect(await pyyaml.load('"\\U0001F600"')).to.equal('😀');
      // Answers: PyYAML decodes the escape to a lone surrogate, which must come back unpaired.
      expect(await pyyaml.load('"a\\uD800b"')).to.equal('a\uD800b');
      expect(await pyyaml.load('"\\uDE00\\uD83D"')).to.equal('\uDE00\uD83D');
      // Requests: a raw lone surrogate must reach PyYAML as itself (it then refuses it), not as U+FFFD.
      const refused = await pyyaml.load('"a\uD800b"').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).to.be.instanceOf(PyYamlError);
      expect(String(refused)).to.include('#xd800');
    });

    it('reports PyYAML errors with their type', async () => {
      const error = await pyyaml.load('a: [').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(PyYamlError);
      expect(String(error)).to.match(/ParserError/);
    });

    it('handles thousands of pipelined requests', async () => {
      const answers = await Promise.all(Array.from({ length: 2000 }, (_, i) => pyyaml.load(`k${i}: "${i}"`)));
      expect(answers[1999]).to.deep.equal(new Map([['k1999', '1999']]));
    });
  });

  describe('dumpBackupYaml', () => {
    it('keeps plain-safe keys and values unquoted and quotes the rest', () => {
      const text = dumpBackupYaml([
        { key: 'ec2.schedule.min_instance_count', value: '2' },
        { key: 'app.disable', value: 'yes' },
        { key: 'cloudwatch.dashboard.use_default', value: 'Yes please' },
        { key: 'ec2.schedule.desired_instance_count', value: '-1' },
        { key: 'app.run_period', value: 'seconds=20' },
        { key: 'notes', value: 'a/b-c_d.e' },
      ]);
      expect(text).to.equal(
        [
          'app.disable: "yes"',
          'app.run_period: "seconds=20"',
          'cloudwatch.dashboard.use_default: Yes please',
          'ec2.schedule.desired_instance_count: "-1"',
          'ec2.schedule.min_instance_count: "2"',
          'notes: a/b-c_d.e',
          '',
        ].join('\n'),
      );
    });

    it('quotes a bare exponent, which the yaml package reads as a YAML 1.1 float', () => {
      expect(formatScalar('e5')).to.equal('"e5"');
      expect(formatScalar('E0')).to.equal('"E0"');
      expect(formatScalar('e-5')).to.equal('"e-5"');
      expect(formatScalar('e')).to.equal('e');
      expect(formatScalar('e5x')).to.equal('e5x');
    });

    it('writes keys longer than 1024 characters as explicit "? key" entries', () => {
      const k = (length: number) => 'k'.repeat(length);
      expect(dumpBackupYaml([{ key: k(1024), value: 'v' }])).to.equal(`${k(1024)}: v\n`);
      expect(dumpBackupYaml([{ key: k(1025), value: 'v' }])).to.equal(`? ${k(1025)}\n: v\n`);
      // Counted on the written key: quotes and escapes included.
      expect(dumpBackupYaml([{ key: `"${k(1020)}`, value: 'v' }])).to.equal(`"\\"${k(1020)}": v\n`);
      expect(dumpBackupYaml([{ key: `"${k(1021)}`, value: 'v' }])).to.equal(`? "\\"${k(1021)}"\n: v\n`);
      expect(dumpBackupYaml([{ key: `[${k(1025)}]${k(1025)}`, value: 'v' }])).to.equal(
        `? ${k(1025)}\n:\n  ? ${k(1025)}\n  : v\n`,
      );
    });

    it('escapes what a reader must not see raw', () => {
      expect(formatScalar('')).to.equal('""');
      expect(formatScalar('a "b" \\ c')).to.equal('"a \\"b\\" \\\\ c"');
      expect(formatScalar('\0\x07\b\t\n\v\f\r\x1b')).to.equal('"\\0\\a\\b\\t\\n\\v\\f\\r\\e"');
      expect(formatScalar('\x01\x7f\x85\x9f')).to.equal('"\\x01\\x7F\\x85\\x9F"');
      expect(formatScalar('\u2028\u2029\ufeff\ufffe\uffff')).to.equal('"\\u2028\\u2029\\uFEFF\\uFFFE\\uFFFF"');
      expect(formatScalar('\uD800')).to.equal('"\\uD800"');
      expect(formatScalar('é東京😀\u00a0')).to.equal('"é東京😀\u00a0"');
    });

    it('nests parameter-set rows under their set name', () => {
      const text = dumpBackupYaml([
        { key: '[web]ec2.schedule.min_instance_count', value: '3' },
        { key: 'app.disable', value: 'no' },
        { key: '[web]app.disable', value: 'yes' },
        { key: '[db]x', value: 'y' },
      ]);
      expect(text).to.equal(
        'app.disable: "no"\ndb:\n  x: "y"\nweb:\n  app.disable: "yes"\n  ec2.schedule.min_instance_count: "3"\n',
      );
    });

    it('keeps raw [name]subkey keys when the set name is also a plain key', async () => {
      const rows = rowsOf(['web', 'plain'], ['[web]a', '1'], ['[web]b', '2'], ['[db]a', '3']);
      const text = await expectRoundTrip(rows);
      expect(text).to.equal('"[web]a": "1"\n"[web]b": "2"\ndb:\n  a: "3"\nweb: plain\n');
    });

    it('sorts keys by code point, as Python does, not by UTF-16 unit', async () => {
      expect(['\uE000', '😀'].sort()).to.deep.equal(['😀', '\uE000']);
      const rows = rowsOf(['😀', 'astral'], ['\uE000', 'private use'], ['b', '1'], ['B', '2'], ['[😀]x', '3']);
      rows.set('[\uE000]y', '4').set('[s]😀', '5').set('[s]\uE000', '6');
      expect(await expectRoundTrip(rows)).to.equal(
        [
          'B: "2"',
          '"[\uE000]y": "4"',
          '"[😀]x": "3"',
          'b: "1"',
          's:',
          '  "\uE000": "6"',
          '  "😀": "5"',
          '"\uE000": private use',
          '"😀": astral',
          '',
        ].join('\n'),
      );
    });

    it('writes an empty table as {}', async () => {
      expect(dumpBackupYaml([])).to.equal('{}\n');
      for (const [name, read] of READERS) expect(await read('{}\n'), name).to.deep.equal(new Map());
      expect(loadBackupYaml('{}\n', 'empty.yaml')).to.deep.equal([]);
    });

    it('keeps the last value of a key given twice', () => {
      expect(
        dumpBackupYaml([
          { key: 'a', value: '1' },
          { key: 'a', value: '2' },
        ]),
      ).to.equal('a: "2"\n');
    });
  });

  describe('reads back every hostile string identically under PyYAML, YAML 1.2 and YAML 1.1', () => {
    it('as a value', async () => {
      for (const value of ALL_HOSTILE) await expectRoundTrip(rowsOf(['key', value]));
    });

    it('as a key', async () => {
      for (const key of ALL_HOSTILE) await expectRoundTrip(rowsOf([key, 'value'], [`${key}x`, key]));
    });

    it('as a parameter-set name', async () => {
      for (const name of ALL_HOSTILE.filter((text) => text !== '' && !text.includes(']'))) {
        await expectRoundTrip(rowsOf([`[${name}]sub`, name], [`[${name}]${name}`, 'v']));
      }
    });

    it('as a parameter-set subkey', async () => {
      for (const subkey of ALL_HOSTILE.filter((text) => text !== '')) {
        await expectRoundTrip(rowsOf([`[set]${subkey}`, subkey], [`[${'yes'}]${subkey}`, 'v']));
      }
    });

    it('all at once, in one document', async () => {
      const rows = new Map<string, string>();
      ALL_HOSTILE.forEach((text, i) => rows.set(text, ALL_HOSTILE[(i + 1) % ALL_HOSTILE.length]));
      ALL_HOSTILE.forEach((text, i) => rows.set(`[p${i}]${text}x`, text));
      await expectRoundTrip(rows);
    });

    it('a lone surrogate (not table data, but the codec must still not corrupt it)', async () => {
      await expectRoundTrip(rowsOf(['a\uD800', '\uDC00b'], ['[\uDBFF]x', '\uDE00\uD83D']));
    });

    it('very long values (100 KB, 400 KB)', async () => {
      await expectRoundTrip(
        rowsOf(['a', longString(100_000)], ['b', longString(400_000)], ['[s]c', longString(100_000)]),
      );
    });

    it('keys at and beyond the 1024-character limit of implicit YAML keys', async () => {
      for (const length of [1000, 1023, 1024, 1025, 2048]) {
        const plain = 'k'.repeat(length);
        // Written as `"\x01…kk"`: exactly `length` characters too.
        const quoted = '\x01'.repeat(Math.floor((length - 2) / 4)) + 'k'.repeat((length - 2) % 4);
        expect(formatScalar(quoted)).to.have.length(length);
        await expectRoundTrip(
          rowsOf([plain, 'v'], [quoted, 'w'], [`[${plain}]s`, 'x'], [`[s]${quoted}`, 'y'], [`[${quoted}]s`, 'z']),
        );
      }
    });

    it('very long keys (100 KB, 400 KB)', async () => {
      await expectRoundTrip(rowsOf([longString(100_000), 'a'], [`[${longString(400_000).replaceAll(']', '')}]x`, 'b']));
    });
  });

  describe('loadBackupYaml', () => {
    it('inverts dumpBackupYaml', () => {
      const rows = [
        { key: 'a', value: 'yes' },
        { key: '[web]a', value: '' },
        { key: '[web]b', value: '0755' },
        { key: 'web.x', value: '\n' },
      ];
      const loaded = loadBackupYaml(dumpBackupYaml(rows), 'backup.yaml');
      expect(new Set(loaded.map((row) => JSON.stringify(row)))).to.deep.equal(
        new Set(rows.map((row) => JSON.stringify(row))),
      );
    });

    const refusals: [string, string, RegExp][] = [
      ['a sequence', '- a\n- b\n', /backup\.yaml: its top level is not a mapping/],
      ['a lone scalar', 'hello\n', /backup\.yaml: its top level is not a mapping/],
      ['an unquoted number', 'count: 2\n', /key "count": its value 2 is not a string .*Fix: quote it/],
      ['an unquoted boolean', 'a.b: yes\n', /key "a.b": its value true is not a string .*Fix: quote it/],
      ['an unquoted date', 'd: 2021-01-01\n', /key "d": .*a timestamp.*Fix: quote it/],
      ['a non-string subkey', 'web:\n  1: "x"\n', /key "web.1": its key 1 is not a string/],
      ['a nested mapping too deep', 'web:\n  a:\n    b: c\n', /key "\[web\]a": its value is a mapping, not a string/],
      ['a sequence value', 'a: [b]\n', /key "a": its value is a sequence, not a string/],
      ['an unquoted .nan', 'a: .nan\n', /key "a": its value NaN is not a string/],
      ['invalid YAML', 'a: [\n', /backup\.yaml: it is not valid YAML/],
      ['a duplicated key', 'a: "1"\na: "2"\n', /^backup\.yaml, key "a": it is given twice in the same mapping\. /],
      ['a duplicated subkey', 'web:\n  a: "1"\n  a: "2"\n', /^backup\.yaml, key "web\.a": it is given twice/],
      ['a duplicated key in a flow mapping', '{a: "1", a: "2"}\n', /^backup\.yaml, key "a": it is given twice/],
      ['a row given nested and raw', 'web:\n  a: "1"\n"[web]a": "2"\n', /backup\.yaml.*"\[web\]a".*twice/],
      ['an alias', 'a: &x "1"\nb: *x\n', /^backup\.yaml, key "b": its value is a YAML alias \(\*x\)\. /],
    ];
    for (const [what, text, message] of refusals) {
      it(`refuses ${what} with a clear message`, () => {
        expect(() => loadBackupYaml(text, 'backup.yaml'))
          .to.throw(UserInputError, message)
          .with.property('message')
          .that.includes('Fix: ');
      });
    }

    describe('cost: linear in the number of keys', () => {
      /**
       * The `yaml` package's node-type checks (isScalar, isMap…), spied both where its composer calls
       * them and where this codec does. The composer's duplicate-key check calls isScalar for every
       * key already read, so counting them counts the work done per key, with no clock involved.
       */
      const modules = [
        createRequire(__filename)('yaml'),
        createRequire(require.resolve('yaml'))('./nodes/identity.js'),
      ] as Record<string, () => unknown>[];
      const CHECKS = ['isAlias', 'isCollection', 'isMap', 'isNode', 'isPair', 'isScalar', 'isSeq'];

      /** Counts the calls (a spy that records each call would run out of memory on quadratic work). */
      function nodeChecks(read: () => unknown): number {
        let calls = 0;
        const originals: [Record<string, () => unknown>, string, () => unknown][] = [];
        try {
          for (const module of modules) {
            for (const name of CHECKS) {
              const original = module[name];
              originals.push([module, name, original]);
              module[name] = function (this: unknown, ...args: []) {
                calls += 1;
                return original.apply(this, args);
              };
            }
          }
          read();
          return calls;
        } finally {
          for (const [module, name, original] of originals) module[name] = original;
        }
      }

      /** `keys` rows, one in four nested in one of five parameter sets. */
      const backupOf = (keys: number) =>
        dumpBackupYaml(
          Array.from({ length: keys }, (_, i) => ({
            key: i % 4 === 0 ? `[set${i % 10}]key${i}` : `key${i}`,
            value: 'v',
          })),
        );
      const checksPerKey = (keys: number, read: (text: string) => unknown) => {
        const text = backupOf(keys);
        return nodeChecks(() => read(text)) / keys;
      };

      it("the probe sees quadratic work: yaml's own unique-key check compares each key with every earlier one", () => {
        const read = (text: string) => parseDocument(text, { version: '1.1', uniqueKeys: true });
        expect(checksPerKey(4000, read)).to.be.greaterThan(4 * checksPerKey(500, read));
      });

      it('loadBackupYaml does no more node checks per key at 4,000 keys than at 500', () => {
        const read = (text: string) => loadBackupYaml(text, 'big.yaml');
        const small = checksPerKey(500, read);
        expect(small).to.be.greaterThan(0);
        expect(checksPerKey(4000, read)).to.be.at.most(small);
      });
    });

    it('reports its progress on large documents, by lines read', () => {
      // Prepare
      const text = dumpBackupYaml(Array.from({ length: 2500 }, (_, i) => ({ key: `key${i}`, value: 'v' })));
      const progress: string[] = [];

      // Act
      const rows = loadBackupYaml(text, 'big.yaml', { onProgress: (line) => progress.push(line), progressEvery: 1000 });

      // Assess
      expect(rows).to.have.length(2500);
      expect(progress).to.deep.equal([
        'reading big.yaml: 1000 of 2500 lines',
        'reading big.yaml: 2000 of 2500 lines',
        'reading big.yaml: all 2500 lines read, now checking its keys',
      ]);
    });

    it('reports no progress on documents shorter than one step', () => {
      const progress: string[] = [];

      loadBackupYaml('a: b\nc: d', 'small.yaml', { onProgress: (line) => progress.push(line), progressEvery: 3 });

      expect(progress).to.deep.equal([]);
    });

    for (const empty of ['', '\n', '~', 'null', 'Null', '# a comment only\n', '---\n...\n', '--- ~\n']) {
      it(`refuses the empty document ${JSON.stringify(empty)}: a backup of an empty table is {}`, () => {
        expect(refusalOf(() => loadBackupYaml(empty, 'empty.yaml'))).to.equal(
          'empty.yaml: it holds no mapping (the document is empty, only comments, or a null such as ~). ' +
            'Fix: restore a backup this service wrote; a backup of an empty table is {} ' +
            '(restore {} to empty the table on purpose)',
        );
      });
    }
  });

  describe('provenance line', () => {
    const WEB: BackupProvenance = {
      table: 'configuration',
      groupName: 'web',
      accountId: '123456789012',
      region: 'eu-west-1',
    };
    const WEB_LINE = '# clonesquad-backup table=configuration group=web account=123456789012 region=eu-west-1';

    it('starts a backup with one comment line naming table, group, account and region', async () => {
      const text = await expectRoundTrip(rowsOf(['a', '1'], ['[s]b', 'yes']), WEB);

      expect(text).to.equal(`${WEB_LINE}\na: "1"\ns:\n  b: "yes"\n`);
      expect(readProvenance(text, 'backup.yaml')).to.deep.equal(WEB);
    });

    it("starts an empty table's backup too, then {}", async () => {
      const text = dumpBackupYaml([], WEB);

      expect(text).to.equal(`${WEB_LINE}\n{}\n`);
      for (const [name, read] of READERS) expect(await read(text), name).to.deep.equal(new Map());
      expect(loadBackupYaml(text, 'backup.yaml')).to.deep.equal([]);
    });

    it('percent-encodes what is not a letter, a digit or one of _ . ~ -, so the line stays one parseable line', () => {
      const odd = { table: 'scheduler', groupName: 'a b=c%d#\n', accountId: 'é', region: '' };

      const line = provenanceLine(odd);

      expect(line).to.equal('# clonesquad-backup table=scheduler group=a%20b%3Dc%25d%23%0A account=%C3%A9 region=');
      expect(readProvenance(`${line}\n{}\n`, 'backup.yaml')).to.deep.equal(odd);
    });

    it('any values: one ASCII line that reads back as them, and every reader still reads the same mapping', async () => {
      const value = hostileText.filter((text) => !/\p{Cs}/u.test(text));
      const provenance = fc.record({ table: value, groupName: value, accountId: value, region: value });
      await fc.assert(
        fc.asyncProperty(provenance, async (given) => {
          const line = provenanceLine(given);
          expect(line).to.match(/^# clonesquad-backup [\x21-\x7e ]*$/);
          expect(readProvenance(`${line}\r\nx: y\n`, 'backup.yaml')).to.deep.equal(given);
          await expectRoundTrip(rowsOf(['a', 'b']), given);
        }),
        { numRuns: 300 },
      );
    });

    it('is not there in a document whose first line is anything else', () => {
      for (const text of ['', 'a: b\n# clonesquad-backup table=x\n', '# a comment\n', '#clonesquad-backup table=x\n']) {
        expect(readProvenance(text, 'backup.yaml'), JSON.stringify(text)).to.equal(undefined);
      }
      expect(readProvenance('# clonesquad-backups table=x\n', 'backup.yaml')).to.equal(undefined);
    });

    const FIX =
      'Fix: write it as # clonesquad-backup table=TABLE group=GROUP account=ACCOUNT region=REGION, ' +
      'or delete the line to restore the document without checking where it comes from';
    const malformed: [string, string][] = [
      ['# clonesquad-backup', 'it names nothing'],
      ['# clonesquad-backup table=configuration group=web', 'it does not give account, region'],
      [`${WEB_LINE} group=db`, 'it gives group twice'],
      [`${WEB_LINE}  note=x`, 'it has an empty field (two spaces in a row)'],
      [`${WEB_LINE} note`, 'its field "note" is not NAME=VALUE'],
      [`${WEB_LINE} note=a,b`, 'the value of its field "note=a,b" is not percent-encoded'],
      [`${WEB_LINE} note=%FF`, 'the value of its field "note=%FF" is not percent-encoded UTF-8'],
    ];
    for (const [line, problem] of malformed) {
      it(`refuses the malformed provenance line ${JSON.stringify(line)}`, () => {
        expect(refusalOf(() => readProvenance(`${line}\na: b\n`, 'backup.yaml'))).to.equal(
          `backup.yaml, line 1: it starts as a provenance line ("# clonesquad-backup") but ${problem}. ${FIX}`,
        );
      });
    }

    it('ignores fields it does not know, so that later versions may add some', () => {
      expect(readProvenance(`${WEB_LINE} format=2\n{}\n`, 'backup.yaml')).to.deep.equal(WEB);
    });
  });

  describe("reads a document as PyYAML safe_load (CloneSquad's import) does", () => {
    /** Rows as `[key, value]` pairs in code-point order. */
    const loaded = (text: string) =>
      sortedRows(new Map(loadBackupYaml(text, 'backup.yaml').map((row) => [row.key, row.value])));
    const pythonRows = async (text: string) => sortedRows(flatten(await pyyaml.load(text)));

    const TAG_FIX =
      'Fix: remove the tag, and quote the value if YAML would read it as something else than a string (such as yes or 0755)';
    const refusedByPyYaml = (what: string, tag: string) =>
      `its ${what} has the tag ${tag}, which PyYAML safe_load (CloneSquad's import) refuses. ${TAG_FIX}`;
    const notAString = (what: string, tag: string) =>
      `its ${what} has the tag ${tag}, and a backup holds only strings, untagged or !!str. ${TAG_FIX}`;

    const tagged: [string, string, 'refused' | 'not a string'][] = [
      [
        'a: !!python/object:os.system x\n',
        `backup.yaml, key "a": ${refusedByPyYaml('value', '!!python/object:os.system')}`,
        'refused',
      ],
      [
        'a: !!python/object/apply:os.system ["id"]\n',
        `backup.yaml, key "a": ${refusedByPyYaml('value', '!!python/object/apply:os.system')}`,
        'refused',
      ],
      ['!custom a: x\n', `backup.yaml, key "a": ${refusedByPyYaml('key', '!custom')}`, 'refused'],
      ['web:\n  a: !custom x\n', `backup.yaml, key "[web]a": ${refusedByPyYaml('value', '!custom')}`, 'refused'],
      ['web:\n  !custom a: x\n', `backup.yaml, key "web.a": ${refusedByPyYaml('key', '!custom')}`, 'refused'],
      ['web: !custom\n  a: x\n', `backup.yaml, key "web": ${refusedByPyYaml('value', '!custom')}`, 'refused'],
      ['--- !custom\na: x\n', `backup.yaml: ${refusedByPyYaml('top level', '!custom')}`, 'refused'],
      [
        '%TAG !e! tag:example.com,2000:\n---\na: !e!foo x\n',
        `backup.yaml, key "a": ${refusedByPyYaml('value', '!<tag:example.com,2000:foo>')}`,
        'refused',
      ],
      ['a: !!str {b: c}\n', `backup.yaml, key "a": ${refusedByPyYaml('value', '!!str')}`, 'refused'],
      ['a: !!merge x\n', `backup.yaml, key "a": ${refusedByPyYaml('value', '!!merge')}`, 'refused'],
      ['a: !!int "5"\n', `backup.yaml, key "a": ${notAString('value', '!!int')}`, 'not a string'],
      ['a: ! 5\n', `backup.yaml, key "a": ${notAString('value', '!')}`, 'not a string'],
      ['a: !!binary aGVsbG8=\n', `backup.yaml, key "a": ${notAString('value', '!!binary')}`, 'not a string'],
      ['!!omap [{a: "1"}]\n', `backup.yaml: ${notAString('top level', '!!omap')}`, 'not a string'],
    ];
    for (const [text, message, python] of tagged) {
      it(`refuses the tag in ${JSON.stringify(text)}, naming the key and the tag`, async () => {
        expect(refusalOf(() => loadBackupYaml(text, 'backup.yaml'))).to.equal(message);
        const pythonOutcome = await pyyaml.load(text).then(
          (document) => {
            try {
              return flatten(document);
            } catch {
              return 'not a string';
            }
          },
          (error: unknown) => (/^PyYamlError: ConstructorError: /.test(String(error)) ? 'refused' : String(error)),
        );
        expect(pythonOutcome, 'PyYAML safe_load').to.equal(python);
      });
    }

    const untagged: [string, [string, string][]][] = [
      ['a: !!str yes\n', [['a', 'yes']]],
      ['!!map {a: !!str 0755}\n', [['a', '0755']]],
      ['a: !<tag:yaml.org,2002:str> x\n', [['a', 'x']]],
      ['web: !!map\n  !!str a: b\n', [['[web]a', 'b']]],
    ];
    for (const [text, rows] of untagged) {
      it(`reads the tags !!str and !!map as plain strings and mappings: ${JSON.stringify(text)}`, async () => {
        expect(loaded(text)).to.deep.equal(rows);
        expect(await pythonRows(text)).to.deep.equal(rows);
      });
    }

    const merges: [string, string, [string, string][]][] = [
      [
        'a merged key does not override the key the mapping names (after the merge)',
        '<<: {a: "1", b: "2"}\nb: "3"\n',
        [
          ['a', '1'],
          ['b', '3'],
        ],
      ],
      [
        'a merged key does not override the key the mapping names (before the merge)',
        'b: "3"\n<<: {a: "1", b: "2"}\n',
        [
          ['a', '1'],
          ['b', '3'],
        ],
      ],
      [
        'inside a parameter set',
        'web:\n  <<: {a: "1", c: "4"}\n  a: "2"\n  b: "3"\n',
        [
          ['[web]a', '2'],
          ['[web]b', '3'],
          ['[web]c', '4'],
        ],
      ],
      [
        'a merged parameter set is replaced whole, not merged',
        '<<: {web: {a: "1"}}\nweb: {b: "2"}\n',
        [['[web]b', '2']],
      ],
      [
        'a list of mappings',
        '<<: [{a: "1"}, {b: "2"}]\n',
        [
          ['a', '1'],
          ['b', '2'],
        ],
      ],
      ['a key two merges give, but the mapping names', '<<: [{ab: "1"}, {ab: "2"}]\nab: "3"\n', [['ab', '3']]],
      [
        'merges within merges',
        '<<: {<<: {a: "1"}, b: "2"}\n',
        [
          ['a', '1'],
          ['b', '2'],
        ],
      ],
      ['the merge tag', '!!merge <<: {a: "1"}\n', [['a', '1']]],
      [
        'a tag on the merged mapping, which is never constructed',
        '<<: !custom [!!python/object:x {a: "1"}]\n',
        [['a', '1']],
      ],
      ['a quoted "<<", which is a plain key', '"<<": {a: "1"}\n', [['[<<]a', '1']]],
      ['an empty merge', '<<: {}\na: "1"\n', [['a', '1']]],
    ];
    for (const [name, text, rows] of merges) {
      it(`merge keys (<<): ${name}`, async () => {
        expect(loaded(text)).to.deep.equal(rows);
        expect(await pythonRows(text)).to.deep.equal(rows);
      });
    }

    const AMBIGUOUS =
      'two merged mappings (<<) give it a value, and which one PyYAML safe_load keeps depends on its version, ' +
      "even on the key's length. Fix: name the key in the mapping itself, or merge it from one mapping only";
    const NOT_MERGEABLE =
      'it is a merge key, but its value is not a mapping or a list of mappings. ' +
      'Fix: give << a mapping, or write its entries out as keys';
    const mergeRefusals: [string, string][] = [
      ['<<: {a: "1"}\n<<: {a: "2"}\n', `backup.yaml, key "a": ${AMBIGUOUS}`],
      ['<<: [{app.x: "1"}, {app.x: "2"}]\n', `backup.yaml, key "app.x": ${AMBIGUOUS}`],
      ['web:\n  <<: [{x: "1"}, {x: "2"}]\n', `backup.yaml, key "web.x": ${AMBIGUOUS}`],
      ['<<: "x"\n', `backup.yaml, key "<<": ${NOT_MERGEABLE}`],
      ['<<: [{a: "1"}, "x"]\n', `backup.yaml, key "<<": ${NOT_MERGEABLE}`],
      ['web:\n  <<: x\n', `backup.yaml, key "web.<<": ${NOT_MERGEABLE}`],
      [
        'base: &b {a: "1"}\nweb:\n  <<: *b\n',
        'backup.yaml, key "web.<<": its value is a YAML alias (*b). Fix: write each value out in full, as backups do',
      ],
    ];
    for (const [text, message] of mergeRefusals) {
      it(`refuses the merge in ${JSON.stringify(text)}`, () => {
        expect(refusalOf(() => loadBackupYaml(text, 'backup.yaml'))).to.equal(message);
      });
    }

    it('(why two merges of one key are refused: PyYAML 6 keeps the first or the last by string identity)', async () => {
      expect(await pyyaml.load('<<: {a: "1"}\n<<: {a: "2"}\n')).to.deep.equal(new Map([['a', '1']]));
      expect(await pyyaml.load('<<: {ab: "1"}\n<<: {ab: "2"}\n')).to.deep.equal(new Map([['ab', '2']]));
    });

    it('refuses what PyYAML refuses in a merge', async () => {
      for (const text of ['<<: "x"\n', '<<: [{a: "1"}, "x"]\n']) {
        const error = await pyyaml.load(text).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(String(error)).to.match(/^PyYamlError: ConstructorError: while constructing a mapping/);
      }
    });
  });

  describe('properties', () => {
    const text = hostileText;
    /** A few names, so that sets often share a name with each other or with a plain key. */
    const setName = fc.oneof(fc.constantFrom('web', 'yes', '~', '10:30', ' ', 'a b'), text);
    const psetKey = fc.tuple(setName, text).map(([name, subkey]) => `[${name}]${subkey}`);
    const key = fc.oneof(text, setName, psetKey);
    const table = fc
      .uniqueArray(fc.tuple(key, text), { selector: ([k]) => k, maxLength: 10 })
      .map((entries) => new Map(entries));

    it('dumped tables read back identically under PyYAML, YAML 1.2 core and YAML 1.1', async () => {
      await fc.assert(
        fc.asyncProperty(table, async (rows) => {
          await expectRoundTrip(rows);
        }),
        { numRuns: Number(process.env.YAML_FUZZ_RUNS ?? 3000) },
      );
    });

    it('loadBackupYaml(dumpBackupYaml(rows)) gives back the same rows', () => {
      fc.assert(
        fc.property(table, (rows) => {
          const loaded = loadBackupYaml(dumpBackupYaml(tableRows(rows)), 'backup.yaml');
          expect(loaded).to.have.length(rows.size);
          expect(sortedRows(new Map(loaded.map((row) => [row.key, row.value])))).to.deep.equal(sortedRows(rows));
        }),
        { numRuns: 3000 },
      );
    });

    it('nests exactly the parameter-set rows whose set name is not also a plain key', () => {
      fc.assert(
        fc.property(table, (rows) => {
          const document = parseDocument(dumpBackupYaml(tableRows(rows))).toJS({ mapAsMap: true }) as Map<
            string,
            unknown
          >;
          for (const [key, node] of document) {
            const split = splitParameterSetKey(key);
            if (node instanceof Map) expect(rows.has(key), `set ${inspect(key)} is also a plain key`).to.equal(false);
            else if (split) expect(rows.has(split.set), `${inspect(key)} could have nested`).to.equal(true);
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
});
