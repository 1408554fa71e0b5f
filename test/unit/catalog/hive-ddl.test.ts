import { expect } from 'chai';
import fc from 'fast-check';
import {
  HiveDdlError,
  formatHiveType,
  nodePath,
  parseCreateTables,
  parseHiveType,
  tableNodes,
  type HiveType,
} from '#test/support/hive-ddl';

const primitive = (name: string, parameters?: number[]): HiveType => ({
  kind: 'primitive',
  name,
  ...(parameters ? { parameters } : {}),
});

function refusal(text: string): string {
  try {
    parseHiveType(text);
  } catch (error) {
    expect(error).to.be.instanceOf(HiveDdlError);
    return (error as Error).message;
  }
  throw new Error(`parseHiveType(${JSON.stringify(text)}) did not throw`);
}

describe('Hive DDL reader (test support)', () => {
  describe('parseHiveType', () => {
    it('reads the primitive types, keywords in any case, lower-cased', () => {
      for (const name of ['timestamp', 'bigint', 'int', 'double', 'float', 'boolean', 'string', 'date', 'binary']) {
        expect(parseHiveType(name), name).to.deep.equal(primitive(name));
        expect(parseHiveType(name.toUpperCase()), name.toUpperCase()).to.deep.equal(primitive(name));
      }
      expect(parseHiveType('double precision')).to.deep.equal(primitive('double'));
      expect(parseHiveType('decimal(10, 2)')).to.deep.equal(primitive('decimal', [10, 2]));
      expect(parseHiveType('decimal')).to.deep.equal(primitive('decimal'));
      expect(parseHiveType('VARCHAR(255)')).to.deep.equal(primitive('varchar', [255]));
    });

    it('reads nested struct, array and map types, with backticks, spaces and newlines anywhere', () => {
      const text = [
        'array < struct <',
        '    `DeviceName` : string ,',
        '    `Ebs`:struct<`AttachTime`:timestamp,',
        '        VolumeId:string>,',
        '    `Ratios`: map<string, array<float>>',
        '> >',
      ].join('\n');
      expect(parseHiveType(text)).to.deep.equal({
        kind: 'array',
        element: {
          kind: 'struct',
          fields: [
            { name: 'DeviceName', type: primitive('string') },
            {
              name: 'Ebs',
              type: {
                kind: 'struct',
                fields: [
                  { name: 'AttachTime', type: primitive('timestamp') },
                  { name: 'VolumeId', type: primitive('string') },
                ],
              },
            },
            {
              name: 'Ratios',
              type: { kind: 'map', key: primitive('string'), value: { kind: 'array', element: primitive('float') } },
            },
          ],
        },
      });
    });

    it('keeps the case of names and reads a doubled backtick inside a quoted name as one', () => {
      expect(parseHiveType('struct<`_InstanceType`:int,`odd``name`:string,Plain:bigint>')).to.deep.equal({
        kind: 'struct',
        fields: [
          { name: '_InstanceType', type: primitive('int') },
          { name: 'odd`name', type: primitive('string') },
          { name: 'Plain', type: primitive('bigint') },
        ],
      });
    });

    it('keeps a struct field comment', () => {
      expect(parseHiveType("struct<a:int COMMENT 'the ''a'' field'>")).to.deep.equal({
        kind: 'struct',
        fields: [{ name: 'a', type: primitive('int'), comment: "the ''a'' field" }],
      });
    });

    it('refuses what is not a type, naming the offset and what it expected', () => {
      expect(refusal('strin')).to.equal('Hive DDL, offset 0: unknown Hive type "strin"');
      expect(refusal('array<string')).to.equal('Hive DDL, offset 12: expected ">", found the end of the text');
      expect(refusal('struct<a string>')).to.equal('Hive DDL, offset 9: expected ":", found "string"');
      expect(refusal('string string')).to.equal('Hive DDL, offset 7: expected the end of the type, found "string"');
      expect(refusal('varchar')).to.equal('Hive DDL, offset 0: varchar takes 1 parameters, not 0');
      expect(refusal('map<string>')).to.equal('Hive DDL, offset 10: expected ",", found ">"');
      expect(refusal('`string`')).to.equal('Hive DDL, offset 0: expected a Hive type, found "string"');
      expect(refusal('array<int>>')).to.equal('Hive DDL, offset 10: expected the end of the type, found ">"');
      expect(refusal('struct<`a:int>')).to.equal('Hive DDL, offset 7: a backtick-quoted name is not closed');
    });

    it('reads back every type from its canonical text, and from a spaced, backtick-quoted writing of it', () => {
      const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
      const scalar = fc.constantFrom(
        ...['tinyint', 'smallint', 'int', 'bigint', 'float', 'double', 'string', 'boolean', 'binary', 'date'].map(
          (kind) => primitive(kind),
        ),
        primitive('timestamp'),
        primitive('decimal', [12, 3]),
        primitive('varchar', [40]),
      );
      const { type } = fc.letrec<{ type: HiveType }>((tie) => ({
        type: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          scalar,
          fc.record({ kind: fc.constant('array' as const), element: tie('type') }),
          fc.record({ kind: fc.constant('map' as const), key: scalar, value: tie('type') }),
          fc.record({
            kind: fc.constant('struct' as const),
            fields: fc.uniqueArray(fc.record({ name, type: tie('type') }), {
              minLength: 1,
              maxLength: 4,
              selector: (field) => field.name.toLowerCase(),
            }),
          }),
        ),
      }));
      const spaced = (type: HiveType): string => {
        switch (type.kind) {
          case 'primitive':
            return formatHiveType(type).toUpperCase().replace(',', ' , ');
          case 'array':
            return `ARRAY <\n ${spaced(type.element)} >`;
          case 'map':
            return `Map< ${spaced(type.key)} ,\n${spaced(type.value)}>`;
          case 'struct':
            return `struct<\n${type.fields.map((field) => `  \`${field.name}\` : ${spaced(field.type)}`).join(',\n')}\n>`;
        }
      };
      fc.assert(
        fc.property(type, (value) => {
          expect(parseHiveType(formatHiveType(value))).to.deep.equal(value);
          expect(parseHiveType(spaced(value))).to.deep.equal(value);
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('parseCreateTables', () => {
    const DDL = [
      '-- a comment; with a semicolon',
      'CREATE EXTERNAL TABLE IF NOT EXISTS `db`.`my-table` (',
      "  `Key` string COMMENT 'the key',",
      '  Tags array<struct<`Key`:string,`Value`:string>>,',
      '  Extra map<string,bigint>',
      ')',
      "COMMENT 'one line per row'",
      'PARTITIONED BY (accountid string, `Region` string)',
      "ROW FORMAT serde 'org.apache.hive.hcatalog.data.JsonSerDe'",
      "LOCATION 's3://bucket/path';",
      'MSCK REPAIR TABLE db.my-table;',
      'create table second (a int)',
    ].join('\n');

    it('reads each CREATE TABLE statement: name, columns, comments and partition columns; skips other statements', () => {
      const tables = parseCreateTables(DDL);
      expect(tables.map((table) => table.name)).to.deep.equal(['db.my-table', 'second']);
      expect(tables[0]).to.deep.equal({
        name: 'db.my-table',
        comment: 'one line per row',
        columns: [
          { name: 'Key', type: primitive('string'), comment: 'the key' },
          {
            name: 'Tags',
            type: {
              kind: 'array',
              element: {
                kind: 'struct',
                fields: [
                  { name: 'Key', type: primitive('string') },
                  { name: 'Value', type: primitive('string') },
                ],
              },
            },
          },
          { name: 'Extra', type: { kind: 'map', key: primitive('string'), value: primitive('bigint') } },
        ],
        partitionColumns: [
          { name: 'accountid', type: primitive('string') },
          { name: 'Region', type: primitive('string') },
        ],
      });
      expect(tables[1]).to.deep.equal({
        name: 'second',
        columns: [{ name: 'a', type: primitive('int') }],
        partitionColumns: [],
      });
    });

    it('lists every node of a table depth first: columns, fields, array elements, map keys and values, partitions', () => {
      const nodes = tableNodes(parseCreateTables(DDL)[0]).map((node) => [
        nodePath(node.segments),
        node.role,
        formatHiveType(node.type),
      ]);
      expect(nodes).to.deep.equal([
        ['Key', 'column', 'string'],
        ['Tags', 'column', 'array<struct<Key:string,Value:string>>'],
        ['Tags[]', 'element', 'struct<Key:string,Value:string>'],
        ['Tags[].Key', 'field', 'string'],
        ['Tags[].Value', 'field', 'string'],
        ['Extra', 'column', 'map<string,bigint>'],
        ['Extra{key}', 'key', 'string'],
        ['Extra{value}', 'value', 'bigint'],
        ['accountid', 'partition', 'string'],
        ['Region', 'partition', 'string'],
      ]);
    });

    it('refuses a column list it cannot read, naming the offset', () => {
      expect(() => parseCreateTables('CREATE TABLE t (a int, b)')).to.throw(
        HiveDdlError,
        'Hive DDL, offset 24: expected a Hive type, found ")"',
      );
      expect(() => parseCreateTables('CREATE TABLE t (a int')).to.throw(
        HiveDdlError,
        'Hive DDL, offset 21: expected ")", found the end of the text',
      );
    });
  });
});
