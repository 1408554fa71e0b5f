import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { PARTITION_COLUMNS, TABLES, recordProblems } from '#shared/catalog/schema';
import { mirrorFolder } from '#local/mirror';
import { PROJECT_ROOT } from '#local/python-env';
import { cacheFolder, formatResult, savedQuery, syncMetadata } from '#cli/query';
import { QUERIES_FOLDER, SqlEngine, StatementError, type LocalBucket } from '#local/sql-engine';
import type { Deployment } from '#shared/run/deployment';
import { UserInputError } from '#shared/aws/errors';
import { TranslationError } from '#local/athena-translator';
import { naiveUtc } from '#shared/metadata/records';
import { writeMetadataTable } from '#shared/metadata/jsonl-writer';
import { metadataKey, type MetadataTable, type PartitionIdentity } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { createBucket, emulatorClients } from '#test/support/aws';

const LOCATION: S3Location = { bucket: 'cmdb-query-test', prefix: 'org/clonesquad' };
const NOW = naiveUtc(new Date());
const THREE_HOURS_AGO = naiveUtc(Date.now() - 3 * 3600_000);
const THREE_DAYS_AGO = naiveUtc(Date.now() - 3 * 24 * 3600_000);
const WEB: PartitionIdentity = { accountId: '111122223333', region: 'eu-west-1', groupName: 'web' };
const BATCH: PartitionIdentity = { accountId: '444455556666', region: 'us-east-1', groupName: 'batch' };

/** Two deployments in two accounts and regions; `batch` last exported three hours ago. */
const FIXTURES: { id: PartitionIdentity; table: MetadataTable; records: Record<string, unknown>[] }[] = [
  {
    id: WEB,
    table: 'discovery',
    records: [
      {
        InteractAPIGWUrl: 'https://web.example/',
        CloneSquadVersion: 'v0.27',
        AccountName: 'Web team',
        AccountEmail: 'web@example.com',
        MetadataRecordLastUpdatedAt: NOW,
      },
    ],
  },
  {
    id: BATCH,
    table: 'discovery',
    records: [
      {
        InteractAPIGWUrl: 'https://batch.example/',
        CloneSquadVersion: 'v0.26',
        AccountName: 'Batch team',
        AccountEmail: 'batch@example.com',
        MetadataRecordLastUpdatedAt: THREE_HOURS_AGO,
      },
    ],
  },
  {
    id: WEB,
    table: 'instances',
    records: [
      {
        InstanceId: 'i-web1',
        State: { Code: 16, Name: 'running' },
        LaunchTime: THREE_DAYS_AGO,
        _Hostname: 'web-1',
        MetadataRecordLastUpdatedAt: NOW,
      },
      {
        InstanceId: 'i-web2',
        State: { Code: 80, Name: 'stopped' },
        LaunchTime: NOW,
        _Hostname: 'web-2',
        _SubfleetName: 'spot',
        MetadataRecordLastUpdatedAt: NOW,
      },
    ],
  },
  {
    id: BATCH,
    table: 'instances',
    records: [
      {
        InstanceId: 'i-batch1',
        State: { Code: 16, Name: 'running' },
        _Hostname: null,
        MetadataRecordLastUpdatedAt: THREE_HOURS_AGO,
      },
    ],
  },
  {
    id: WEB,
    table: 'maintenance-windows',
    records: [
      {
        Fleet: '__main__',
        IsMaintenanceTime: true,
        NextMaintenanceWindowDetails: {
          StartTime: '2024-05-01 09:00:00.000',
          EndTime: '2024-05-01 14:00:00.000',
          MatchingWindow: {
            WindowId: 'mw-0123456789abcdef0',
            Name: 'CS-web',
            Enabled: true,
            Duration: 2,
            NextExecutionTime: '2024-05-02 09:00:00.000',
            Tags: [],
            _ActivePeriod: true,
            _StartTime: '2024-05-01 09:00:00.000',
            _EndTime: '2024-05-01 11:00:00.000',
            _FutureNextExecutionTime: '2024-05-02 09:00:00.000',
          },
        },
        MetadataRecordLastUpdatedAt: NOW,
      },
      { Fleet: 'spot', IsMaintenanceTime: false, MetadataRecordLastUpdatedAt: NOW },
    ],
  },
  {
    id: WEB,
    table: 'configuration',
    records: [
      { Key: 'ec2.schedule.min_instance_count', Value: '2', MetadataRecordLastUpdatedAt: NOW },
      { Key: '[night]ec2.schedule.min_instance_count', Value: '0', MetadataRecordLastUpdatedAt: NOW },
    ],
  },
];

function gzipLines(records: object[]): Buffer {
  return gzipSync(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
}

/** Writes the fixtures as a local run leaves them: `<out>/s3/<bucket>/<key>`. */
function writeMirror(out: string): LocalBucket {
  for (const { id, table, records } of FIXTURES) {
    const file = join(mirrorFolder(out, LOCATION.bucket), ...metadataKey(LOCATION, id, table).split('/'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, gzipLines(records));
  }
  return { folder: mirrorFolder(out, LOCATION.bucket), location: LOCATION };
}

const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin', 'clonesquad-backup'), 'query', ...args], {
    cwd: PROJECT_ROOT,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

const SHIPPED_VIEW = readFileSync(join(PROJECT_ROOT, 'glue', 'views', 'displayallhostnames.sql'), 'utf8');

describe('local Athena SQL on the exports (DuckDB)', () => {
  let out: string;
  let engine: SqlEngine;
  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'cmdb-query-'));
    engine = await SqlEngine.open(writeMirror(out));
  });
  after(() => {
    engine?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('has fixtures that the schemas accept', () => {
    for (const { table, records } of FIXTURES) {
      for (const record of records) expect(recordProblems(TABLES[table], record), table).to.deep.equal([]);
    }
  });

  it('creates every shipped view', () => {
    expect(engine.viewProblems).to.deep.equal([]);
  });

  it('joins instances with their deployment in displayallhostnames', async () => {
    const result = await engine.run(
      'SELECT Hostname, AccountId, AccountName, Region, GroupName, SubfleetName, CloneSquadVersion FROM displayallhostnames ORDER BY AccountId, Hostname',
    );
    expect(result.rows).to.deep.equal([
      ['web-1', WEB.accountId, 'Web team', 'eu-west-1', 'web', null, 'v0.27'],
      ['web-2', WEB.accountId, 'Web team', 'eu-west-1', 'web', 'spot', 'v0.27'],
      [null, BATCH.accountId, 'Batch team', 'us-east-1', 'batch', null, 'v0.26'],
    ]);
  });

  it('runs the shipped view text pasted as a statement, then a query on it', async () => {
    const result = await engine.run(`${SHIPPED_VIEW};\nSELECT count(*) AS n FROM displayallhostnames`);
    expect(result).to.deep.equal({ columns: ['n'], rows: [[3]] });
  });

  it('runs default.- and awsdatacatalog.default.-qualified queries, leaving strings and quoted names alone', async () => {
    const result = await engine.run(
      `SELECT 'default.x' AS "default.text", count(*) AS n FROM default.clonesquad_instances i
       JOIN AwsDataCatalog.Default . clonesquad_discovery d ON i.accountid = d.accountid AND i.region = d.region`,
    );
    expect(result).to.deep.equal({ columns: ['default.text', 'n'], rows: [['default.x', 3]] });
  });

  it('shows each table with its schema columns, then the partition columns in Athena order', async () => {
    const result = await engine.run('SELECT * FROM default.clonesquad_configuration ORDER BY "key"');
    expect(result.columns).to.deep.equal([...TABLES.configuration.columns.map((c) => c.name), ...PARTITION_COLUMNS]);
    expect(result.rows.map((row) => row.slice(-3))).to.deep.equal([
      [WEB.accountId, 'eu-west-1', 'web'],
      [WEB.accountId, 'eu-west-1', 'web'],
    ]);
  });

  it('gives a table without any file yet zero rows with the same columns', async () => {
    const result = await engine.run('SELECT * FROM default.clonesquad_volumes');
    expect(result).to.deep.equal({
      columns: [...TABLES.volumes.columns.map((c) => c.name), ...PARTITION_COLUMNS],
      rows: [],
    });
    expect((await engine.run('SELECT count(*) FROM clonesquad_scheduler')).rows).to.deep.equal([[0]]);
  });

  it('runs every saved query of glue/queries', async () => {
    const names = readdirSync(QUERIES_FOLDER).map((file) => file.replace(/\.sql$/, ''));
    expect(names).to.include.members(['fleet-size', 'maintenance-now', 'configuration-key', 'stale-deployments']);
    for (const name of names) await engine.run(await savedQuery(name));
  });

  it('answers the saved questions on the fixtures', async () => {
    const fleet = await engine.run(await savedQuery('fleet-size'));
    expect(fleet.rows).to.deep.equal([
      [WEB.accountId, 'eu-west-1', 1, 2, 1],
      [BATCH.accountId, 'us-east-1', 1, 1, 1],
    ]);
    const maintenance = await engine.run(await savedQuery('maintenance-now'));
    expect(maintenance.rows.map((row) => row.slice(0, 5))).to.deep.equal([
      [WEB.accountId, 'Web team', 'eu-west-1', 'web', '__main__'],
    ]);
    const key = await engine.run(await savedQuery('configuration-key'));
    expect(key.rows).to.deep.equal([
      [WEB.accountId, 'eu-west-1', 'web', '2'],
      [BATCH.accountId, 'us-east-1', 'batch', null],
    ]);
    const stale = await engine.run(await savedQuery('stale-deployments'));
    expect(stale.rows.map((row) => row[3])).to.deep.equal(['batch']);
    const sets = await engine.run(`SELECT ParameterSet, "Value" FROM configurationvalues WHERE "key" LIKE '[%'`);
    expect(sets.rows).to.deep.equal([['night', '0']]);
  });

  it("reads the matching window's fields that the original names with a leading underscore", async () => {
    const { rows } = await engine.run(
      'SELECT "w"."fleet", "w"."nextmaintenancewindowdetails"."matchingwindow"."_activeperiod",\n' +
        '  date_diff(\'hour\', "w"."nextmaintenancewindowdetails"."matchingwindow"."_starttime",\n' +
        '    "w"."nextmaintenancewindowdetails"."matchingwindow"."_endtime")\n' +
        'FROM default.clonesquad_maintenance_windows w WHERE "w"."nextmaintenancewindowdetails" IS NOT NULL',
    );
    expect(rows).to.deep.equal([['__main__', true, 2]]);
  });

  it('compares and subtracts instance times as Athena does with the original tables', async () => {
    const result = await engine.run(
      `SELECT InstanceId, date_diff('day', LaunchTime, now()) AS days FROM clonesquad_instances
       WHERE LaunchTime < current_timestamp ORDER BY InstanceId`,
    );
    expect(result).to.deep.equal({
      columns: ['InstanceId', 'days'],
      rows: [
        ['i-web1', 3],
        ['i-web2', 0],
      ],
    });
  });

  it("names the failing statement, its Athena text, DuckDB's message and the DuckDB text it ran as", async () => {
    const error = await engine.run('SELECT 1;\nSELECT nosuchcolumn FROM default.clonesquad_instances').catch((e) => e);
    expect(error).to.be.instanceOf(StatementError);
    expect(error.message).to.match(/^statement 2 of 2 failed: Binder Error: .*nosuchcolumn/);
    expect(error.message).to.match(
      /\n {2}in: SELECT nosuchcolumn FROM default\.clonesquad_instances\n {2}ran as \(DuckDB\): SELECT nosuchcolumn FROM "default"\.clonesquad_instances$/,
    );
  });

  it('runs no statement of a script that cannot be translated', async () => {
    const error = await engine
      .run('CREATE OR REPLACE VIEW half_done AS SELECT 1 AS one; SELECT count(* FROM half_done')
      .catch((e) => e);
    expect(error).to.be.instanceOf(TranslationError);
    expect(
      (await engine.run("SELECT count(*) FROM information_schema.tables WHERE table_name = 'half_done'")).rows,
    ).to.deep.equal([[0]]);
  });

  describe('output formats', () => {
    const result = {
      columns: ['name', 'n', 'tags', 'name'],
      rows: [
        ['a, "b"', 1, ['x', 'y'], null],
        ['line\nbreak', 22, null, 'z'],
      ],
    };

    it('prints JSON as an array of objects', () => {
      expect(JSON.parse(formatResult(result, 'json'))).to.deep.equal([
        { name: 'a, "b"', n: 1, tags: ['x', 'y'], name_2: null },
        { name: 'line\nbreak', n: 22, tags: null, name_2: 'z' },
      ]);
    });

    it('prints CSV with a header line and quoted fields', () => {
      expect(formatResult(result, 'csv')).to.equal(
        'name,n,tags,name\n"a, ""b""",1,"[""x"",""y""]",\n"line\nbreak",22,,z',
      );
    });

    it('prints an aligned table', () => {
      expect(formatResult(result, 'table')).to.equal(
        [
          'name        |  n | tags      | name',
          '------------+----+-----------+-----',
          'a, "b"      |  1 | ["x","y"] | NULL',
          'line\\nbreak | 22 | NULL      | z',
          '(2 rows)',
        ].join('\n'),
      );
    });
  });

  describe('clonesquad-backup query', () => {
    const s3Path = `s3://${LOCATION.bucket}/${LOCATION.prefix}`;

    it('queries the local mirror and prints JSON', async () => {
      const run = await cli([
        '--out',
        out,
        '--s3-path',
        s3Path,
        '--output',
        'json',
        'SELECT count(*) AS n FROM displayallhostnames',
      ]);
      expect(run.stderr).to.equal('');
      expect(JSON.parse(run.stdout)).to.deep.equal([{ n: 3 }]);
    });

    it('still takes --format, the former name of --output, saying so on stderr', async () => {
      const sql = 'SELECT count(*) AS n FROM displayallhostnames';
      const run = await cli(['--out', out, '--s3-path', s3Path, '--format', 'csv', sql]);
      const both = await cli(['--out', out, '--s3-path', s3Path, '--format', 'csv', '--output', 'json', sql]);

      expect(run).to.deep.equal({ code: 0, stdout: 'n\n3\n', stderr: 'note: --format is deprecated; use --output\n' });
      expect(both).to.deep.include({
        code: 2,
        stdout: '',
        stderr:
          'note: --format is deprecated; use --output\n' +
          'error: --format csv and --output json disagree; give --output alone\n' +
          '(clonesquad-backup query --help shows the usage)\n',
      });
    });

    it('runs a saved query by name', async () => {
      const run = await cli(['--out', out, '--s3-path', s3Path, '--output', 'csv', '--saved', 'stale-deployments']);
      expect(run.stdout.split('\n')[0]).to.equal('AccountId,AccountName,Region,GroupName,LastExport');
    });

    it('prints 0 rows of a table without files when the location holds other tables', async () => {
      const run = await cli([
        '--out',
        out,
        '--s3-path',
        s3Path,
        '--output',
        'csv',
        'SELECT count(*) AS n FROM clonesquad_volumes',
      ]);
      expect(run).to.deep.equal({ code: 0, stdout: 'n\n0\n', stderr: '' });
    });

    it('fails, naming the folder and the fix, when the --out folder holds no export', async () => {
      const missing = join(out, 'no-such-folder');
      const run = await cli(['--out', missing, '--s3-path', s3Path, 'SELECT count(*) FROM clonesquad_instances']);
      expect(run).to.deep.include({ code: 1, stdout: '' });
      expect(run.stderr).to.equal(
        `error: --out ${missing}: it holds no metadata exported to ${s3Path} ` +
          `(looked in ${join(mirrorFolder(missing, LOCATION.bucket), LOCATION.prefix, 'metadata')}). ` +
          `Fix: run npm run local -- --out ${missing} --s3-path ${s3Path} first, or check --out and --s3-path\n`,
      );
    });

    it('fails with the statement and DuckDB message', async () => {
      const run = await cli([
        '--out',
        out,
        '--s3-path',
        s3Path,
        'SELECT 1; SELECT nosuchcolumn FROM clonesquad_instances',
      ]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(
        /^error: statement 2 of 2 failed: Binder Error: [\s\S]*\n {2}in: SELECT nosuchcolumn FROM clonesquad_instances\n$/,
      );
    });

    it("fails with the statement, sqlglot's message and the position when it cannot be translated", async () => {
      const run = await cli(['--out', out, '--s3-path', s3Path, 'SELECT 1; SELEC 2']);
      expect(run).to.deep.include({
        code: 1,
        stdout: '',
        stderr:
          'error: statement 2 of 2 could not be translated from Athena SQL: sqlglot: Invalid expression / Unexpected token (line 1, column 17)\n' +
          '  in: SELEC 2\n',
      });
    });
  });

  describe('--out folders whose names DuckDB could read as globs', () => {
    const s3Path = `s3://${LOCATION.bucket}/${LOCATION.prefix}`;
    const names = ['out [a]*?{b}', "it's a \\ {b}"];
    let parent: string;
    before(() => {
      parent = mkdtempSync(join(tmpdir(), 'cmdb-query-glob-'));
      for (const name of names) writeMirror(join(parent, name));
      // A folder the glob `out [a]*?{b}` matches: its rows must not be read.
      const decoy = join(
        mirrorFolder(join(parent, 'out a-x{b}'), LOCATION.bucket),
        metadataKey(LOCATION, WEB, 'instances'),
      );
      mkdirSync(dirname(decoy), { recursive: true });
      writeFileSync(decoy, gzipLines([{ InstanceId: 'i-decoy', MetadataRecordLastUpdatedAt: NOW }]));
    });
    after(() => rmSync(parent, { recursive: true, force: true }));

    for (const name of names) {
      it(`reads exactly the files of "${name}"`, async () => {
        const odd = await SqlEngine.open({
          folder: mirrorFolder(join(parent, name), LOCATION.bucket),
          location: LOCATION,
        });
        try {
          const result = await odd.run('SELECT InstanceId FROM default.clonesquad_instances ORDER BY InstanceId');
          expect(result.rows).to.deep.equal([['i-batch1'], ['i-web1'], ['i-web2']]);
        } finally {
          odd.close();
        }
      });
    }

    it('queries such a folder from the command line', async () => {
      const args = ['--s3-path', s3Path, '--output', 'csv', 'SELECT count(*) AS n FROM displayallhostnames'];
      const run = await cli(['--out', join(parent, names[0]), ...args]);
      expect(run).to.deep.equal({ code: 0, stdout: 'n\n3\n', stderr: '' });
    });

    it('refuses a folder holding both \\ and a glob character, which DuckDB cannot name', async () => {
      const folder = join(parent, 'a\\b [x]');
      writeMirror(folder);
      const file = join(mirrorFolder(folder, LOCATION.bucket), metadataKey(LOCATION, WEB, 'discovery'));

      const error = await SqlEngine.open({ folder: mirrorFolder(folder, LOCATION.bucket), location: LOCATION }).catch(
        (caught: Error) => caught,
      );

      expect(error).to.be.instanceOf(UserInputError);
      expect((error as Error).message).to.equal(
        `${file}: DuckDB cannot read a file whose path holds both "\\" and one of "*", "?", "[". ` +
          'Fix: use a folder (--out) whose path has no "\\" or none of those three characters',
      );
    });
  });

  describe('--from s3:// (the emulator)', () => {
    const { s3 } = emulatorClients();
    let bucket: string;
    let location: S3Location;
    const deployment = (id: PartitionIdentity): Deployment => ({
      ...id,
      destination: location,
      tables: { configuration: 'c', scheduler: 's' },
      timeZone: 'UTC',
      cloneSquadStackName: `CloneSquad-${id.groupName}`,
      userSuppliedJsonMetadata: '',
    });
    before(async () => {
      bucket = await createBucket(s3);
      location = { bucket, prefix: 'cmdb' };
      for (const { id, table, records } of FIXTURES) await writeMetadataTable(s3, deployment(id), table, records);
    });

    it('downloads the metadata objects once, then only changes, and queries them', async () => {
      const cache = cacheFolder(out, bucket);
      expect(await syncMetadata(s3, location, cache)).to.deep.equal({
        downloaded: FIXTURES.length,
        unchanged: 0,
        removed: 0,
      });
      await writeMetadataTable(s3, deployment(BATCH), 'instances', []);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: metadataKey(location, WEB, 'configuration') }));
      expect(await syncMetadata(s3, location, cache)).to.deep.equal({
        downloaded: 1,
        unchanged: FIXTURES.length - 2,
        removed: 1,
      });
      const local = await SqlEngine.open({ folder: cache, location });
      try {
        expect((await local.run('SELECT count(*) FROM displayallhostnames')).rows).to.deep.equal([[2]]);
        expect((await local.run('SELECT count(*) FROM default.clonesquad_configuration')).rows).to.deep.equal([[0]]);
      } finally {
        local.close();
      }
    });

    it('reports its downloads when there are more than ten', async () => {
      // Prepare: 25 deployments' discovery records
      const many: S3Location = { bucket, prefix: 'many' };
      const ids = Array.from({ length: 25 }, (_, n) => ({ ...WEB, groupName: `group-${n}` }));
      for (const id of ids) {
        await writeMetadataTable(s3, { ...deployment(id), destination: many }, 'discovery', FIXTURES[0].records);
      }
      const lines: string[] = [];

      // Act
      const synced = await syncMetadata(s3, many, join(out, 'many-cache'), (line) => lines.push(line));

      // Assess
      expect(synced).to.deep.equal({ downloaded: 25, unchanged: 0, removed: 0 });
      expect(lines).to.deep.equal([
        `s3://${bucket}/many: downloading 10 of 25 objects`,
        `s3://${bucket}/many: downloading 20 of 25 objects`,
      ]);
    });

    it('works from the command line through AWS_ENDPOINT_URL', async () => {
      const run = await cli([
        '--out',
        out,
        '--from',
        `s3://${bucket}/cmdb`,
        '--output',
        'csv',
        'SELECT count(*) AS n FROM default.clonesquad_discovery',
      ]);
      expect(run.stdout).to.equal('n\n2\n');
      expect(run.stderr).to.match(new RegExp(`^s3://${bucket}/cmdb: \\d+ downloaded, \\d+ unchanged, 0 removed`));
    });

    it('fails, naming the location and the fix, when it holds no metadata', async () => {
      const run = await cli([
        '--out',
        out,
        '--from',
        `s3://${bucket}/wrong-prefix`,
        'SELECT 1 FROM clonesquad_instances',
      ]);
      expect(run).to.deep.include({ code: 1, stdout: '' });
      expect(run.stderr).to.equal(
        `s3://${bucket}/wrong-prefix: 0 downloaded, 0 unchanged, 0 removed (${relative(PROJECT_ROOT, cacheFolder(out, bucket))})\n` +
          `error: --from s3://${bucket}/wrong-prefix: no metadata object is under s3://${bucket}/wrong-prefix/metadata/. ` +
          'Fix: check the bucket and prefix; they are the MetadataAndBackupS3Path of the deployment\n',
      );
    });
  });
});
