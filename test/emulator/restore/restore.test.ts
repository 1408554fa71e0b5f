import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  paginateScan,
  PutItemCommand,
  type BatchWriteItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { writeItems } from '#local/seed';
import { invoke } from '#cli/main';
import { WRITE_PROGRESS_EVERY } from '#cli/restore';
import { clientSettings } from '#shared/aws/clients';
import { backupTable, publishLatestBackups } from '#shared/backup/backup';
import type { Deployment } from '#shared/run/deployment';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import {
  applyRestore,
  checkRestorable,
  describePlan,
  parseBackupSource,
  planRestore,
  type RestorePlan,
} from '#shared/restore/restore';
import { archiveBackupKey, archiveStamp, latestBackupKey, type BackupTable } from '#shared/aws/s3-layout';
import { readTable } from '#shared/backup/table-reader';
import { compareCodePoints, type TableRow } from '#shared/catalog/table-rows';
import { dumpBackupYaml, loadBackupYaml } from '#shared/backup/yaml-codec';
import { createBucket, emulatorClients, uniqueName } from '#test/support/aws';
import {
  createTable,
  headObject,
  readObject,
  rejection,
  tableItem,
  testDeployment,
  type Item,
} from '#test/support/backup-fixtures';
import { hostileText, longString } from '#test/support/hostile-strings';

const rows = (entries: Record<string, string>): TableRow[] =>
  Object.entries(entries).map(([key, value]) => ({ key, value }));

/** Drops a surrogate half that cutting a string in UTF-16 units left at its end. */
const wellFormed = (text: string) => text.replace(/[\ud800-\udbff]$/, '');

const sorted = (list: TableRow[]) =>
  list.map(({ key, value }) => ({ key, value })).sort((a, b) => compareCodePoints(a.key, b.key));

describe('restore (docs/backup-format.md)', () => {
  describe('planRestore', () => {
    const current = rows({ a: '1', b: '2', c: '3' });

    it('merge: adds and changes the document keys, leaves the others alone, does not rewrite equal ones', () => {
      // Act
      const plan = planRestore(current, rows({ a: '1', b: 'two', d: '4' }), 'merge');

      // Assess
      expect(plan).to.deep.equal({
        mode: 'merge',
        put: [
          { key: 'b', before: '2', after: 'two' },
          { key: 'd', after: '4' },
        ],
        delete: [],
        unchanged: ['a'],
      });
    });

    it('merge: an empty value deletes the key, and is a no-op for a key the table does not have', () => {
      const plan = planRestore(current, rows({ b: '', z: '' }), 'merge');

      expect(plan.put).to.deep.equal([]);
      expect(plan.delete).to.deep.equal([{ key: 'b', before: '2' }]);
      expect(plan.unchanged).to.deep.equal(['z']);
    });

    it('restore: also deletes every key the document does not have', () => {
      const plan = planRestore(current, rows({ a: '1', b: '', d: '4' }), 'restore');

      expect(plan.put).to.deep.equal([{ key: 'd', after: '4' }]);
      expect(plan.delete).to.deep.equal([
        { key: 'b', before: '2' },
        { key: 'c', before: '3' },
      ]);
      expect(plan.unchanged).to.deep.equal(['a']);
    });

    it('restores nested parameter sets as [name]subkey rows', () => {
      // Prepare
      const document = loadBackupYaml('app.x: "1"\nnightly:\n  app.x: "0"\n  app.y: ""\n', 'doc.yaml');

      // Act
      const plan = planRestore(rows({ '[nightly]app.y': 'old', '[nightly]app.x': '0' }), document, 'restore');

      // Assess
      expect(plan.put).to.deep.equal([{ key: 'app.x', after: '1' }]);
      expect(plan.delete).to.deep.equal([{ key: '[nightly]app.y', before: 'old' }]);
      expect(plan.unchanged).to.deep.equal(['[nightly]app.x']);
    });

    it('orders changes by code point, as backups are', () => {
      const plan = planRestore([], rows({ '😀': 'x', '\uffff': 'x', b: 'x', '#c': 'x' }), 'merge');

      expect(plan.put.map((change) => change.key)).to.deep.equal(['#c', 'b', '\uffff', '😀']);
    });

    it('restoring an identical document plans nothing, in either mode', () => {
      for (const mode of ['merge', 'restore'] as const) {
        const plan = planRestore(current, current, mode);
        expect(plan.put.length + plan.delete.length, mode).to.equal(0);
        expect(plan.unchanged).to.deep.equal(['a', 'b', 'c']);
      }
    });
  });

  describe('describePlan and quoteInput', () => {
    it('shows added, changed and deleted rows with quoted values, then the counts', () => {
      const plan = planRestore(rows({ a: '1', b: '2' }), rows({ a: 'yes', c: '' + 'x\ny' }), 'restore');

      expect(describePlan(plan)).to.deep.equal([
        '~ "a": "1" → "yes"',
        '+ "c" = "x\\ny"',
        '- "b" (was "2")',
        '1 to add, 1 to change, 1 to delete, 0 unchanged (restore mode)',
      ]);
    });

    it('escapes controls and invisible or bidirectional characters, and cuts long values by characters', () => {
      expect(quoteInput('a\u202eb\u0085\u0000')).to.equal('"a\\u202eb\\u0085\\u0000"');
      expect(quoteInput('😀'.repeat(100), 3)).to.equal('"😀😀😀"… (100 characters)');
    });
  });

  describe('parseBackupSource', () => {
    it('reads every --from form', () => {
      expect(parseBackupSource('latest')).to.deep.equal({ kind: 'latest' });
      expect(parseBackupSource('archive 20240601T100000123Z')).to.deep.equal({
        kind: 'archive',
        stamp: '20240601T100000123Z',
      });
      expect(parseBackupSource('archive:2024-06-01T12:00:00.123+02:00')).to.deep.equal({
        kind: 'archive',
        stamp: '20240601T100000123Z',
      });
      expect(parseBackupSource('s3://my-bucket/a//b.yaml')).to.deep.equal({
        kind: 's3',
        bucket: 'my-bucket',
        key: 'a//b.yaml',
      });
      expect(parseBackupSource('./latest')).to.deep.equal({ kind: 'file', path: './latest' });
    });

    const refused: [string, RegExp][] = [
      ['', /it is empty/],
      ['archive', /STAMP is missing/],
      ['archive 2024-06-01', /neither YYYYMMDDTHHMMSSmmmZ/],
      ['archive 20240601T100000Z', /neither YYYYMMDDTHHMMSSmmmZ/],
      ['s3://my-bucket', /names no object key/],
      ['s3://my-bucket/folder/', /names no object key/],
      ['s3://My_Bucket/key', /bucket name "My_Bucket"/],
    ];
    for (const [from, message] of refused) {
      it(`refuses --from ${JSON.stringify(from)}`, () => {
        expect(() => parseBackupSource(from))
          .to.throw(UserInputError, message)
          .with.property('message')
          .that.includes('Fix: ');
      });
    }
  });

  describe('checkRestorable', () => {
    const cases: [string, TableRow[], RegExp][] = [
      ['an empty key', rows({ '': 'x' }), /a table Key cannot be empty/],
      ['a key over 2048 bytes', rows({ ['é'.repeat(1025)]: 'x' }), /2050 bytes long in UTF-8/],
      ['a row over 400 KB', rows({ k: 'x'.repeat(400 * 1024) }), /more than the 400 KB/],
      ['a lone surrogate', rows({ k: 'a\ud83d' }), /its value holds a lone UTF-16 surrogate/],
    ];
    for (const [name, document, message] of cases) {
      it(`refuses ${name}`, () => {
        expect(() => checkRestorable(document, 'doc.yaml')).to.throw(UserInputError, message);
      });
    }

    it('accepts a key of exactly 2048 bytes and a value just under 400 KB', () => {
      expect(() =>
        checkRestorable(rows({ ['k'.repeat(2048)]: 'x'.repeat(400 * 1024 - 2048 - 8) }), 'd'),
      ).not.to.throw();
    });
  });

  describe('applyRestore with a mocked DynamoDB', () => {
    // Mocks every DynamoDBClient while it is active, so only around these tests.
    let dynamodbMock: AwsClientStub<DynamoDBClient>;
    before(() => {
      dynamodbMock = mockClient(DynamoDBClient);
    });
    beforeEach(() => dynamodbMock.reset());
    after(() => dynamodbMock.restore());

    function planOf(puts: number, deletes: number): RestorePlan {
      return {
        mode: 'restore',
        put: Array.from({ length: puts }, (_, i) => ({ key: `p${i}`, after: `v${i}` })),
        delete: Array.from({ length: deletes }, (_, i) => ({ key: `d${i}`, before: 'x' })),
        unchanged: [],
      };
    }

    it('writes puts then deletes in batches of 25, without ExpirationTime', async () => {
      // Prepare
      dynamodbMock.on(BatchWriteItemCommand).resolves({});

      // Act
      const applied = await applyRestore(new DynamoDBClient({}), 'T', planOf(30, 30));

      // Assess
      const batches = dynamodbMock
        .commandCalls(BatchWriteItemCommand)
        .map((call) => (call.args[0].input as BatchWriteItemCommandInput).RequestItems!.T);
      expect(batches.map((batch) => batch.length)).to.deep.equal([25, 25, 10]);
      expect(batches[0][0]).to.deep.equal({ PutRequest: { Item: { Key: { S: 'p0' }, Value: { S: 'v0' } } } });
      expect(batches[1][5]).to.deep.equal({ DeleteRequest: { Key: { Key: { S: 'd0' } } } });
      expect(applied).to.deep.equal({ put: 30, deleted: 30 });
    });

    it('resends unprocessed items, after a pause, until all are done', async () => {
      // Prepare
      const plan = planOf(2, 1);
      const first = [{ PutRequest: { Item: { Key: { S: 'p1' }, Value: { S: 'v1' } } } }];
      const second = [{ DeleteRequest: { Key: { Key: { S: 'd0' } } } }];
      dynamodbMock
        .on(BatchWriteItemCommand)
        .resolvesOnce({ UnprocessedItems: { T: [...first, ...second] } })
        .resolvesOnce({ UnprocessedItems: { T: second } })
        .resolves({});
      const pauses: number[] = [];

      // Act
      const applied = await applyRestore(new DynamoDBClient({}), 'T', plan, {
        sleep: async (ms) => void pauses.push(ms),
      });

      // Assess
      const sent = dynamodbMock.commandCalls(BatchWriteItemCommand).map((call) => call.args[0].input.RequestItems!.T);
      expect(sent.map((batch) => batch.length)).to.deep.equal([3, 2, 1]);
      expect(pauses).to.have.length(2);
      expect(applied).to.deep.equal({ put: 2, deleted: 1 });
    });

    it('gives up when DynamoDB keeps processing nothing, saying what was done and that a rerun is safe', async () => {
      dynamodbMock.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => ({
        UnprocessedItems: input.RequestItems,
      }));

      const error = await rejection(applyRestore(new DynamoDBClient({}), 'T', planOf(1, 0), { sleep: async () => {} }));

      expect(error.message).to.match(/0 of 1 writes and 0 of 0 deletes done.*Run the same restore again/);
    });
  });

  describe('against the emulator', () => {
    let dynamodb: DynamoDBClient;
    let s3: S3Client;
    let sts: STSClient;
    const RUN = '2024-06-01T10:00:00.123Z';
    const STAMP = archiveStamp(RUN);

    before(() => {
      ({ dynamodb, s3 } = emulatorClients());
      sts = new STSClient(clientSettings());
    });

    /** What the last {@link restore} wrote on stderr. */
    let stderr: string[] = [];

    /** Runs `restore` in-process (stdin not a terminal unless `ask` is given); errors are thrown, not told. */
    async function runRestore(
      deployment: Deployment,
      args: string[],
      options: { table?: BackupTable; ask?: (question: string) => Promise<string> } = {},
    ): Promise<{ code: number; output: string[] }> {
      const table = options.table ?? 'configuration';
      const output: string[] = [];
      stderr = [];
      const code = await invoke(
        [
          'restore',
          '--group',
          deployment.groupName,
          '--table',
          table,
          '--table-name',
          deployment.tables[table],
          ...args,
        ],
        {
          print: (line) => output.push(line),
          stderr: (line) => stderr.push(line),
          ...(options.ask ? { ask: options.ask } : {}),
          env: {
            AWS_REGION: 'eu-west-1',
            METADATA_AND_BACKUP_S3_PATH: `s3://${deployment.destination!.bucket}/org/clonesquad`,
          },
          clients: { dynamodb, s3, sts },
        },
      );
      return { code, output };
    }

    /** Runs a restore that must succeed; answers its output, or throws what the CLI would report. */
    async function restore(deployment: Deployment, table: BackupTable, ...args: string[]): Promise<string[]> {
      const { code, output } = await runRestore(deployment, args, { table });
      expect(code).to.equal(0);
      return output;
    }

    async function tableRows(tableName: string): Promise<TableRow[]> {
      return sorted((await readTable(dynamodb, { tableName, parameterName: 'table' })).rows);
    }

    async function rawItems(tableName: string): Promise<Item[]> {
      const items: Item[] = [];
      for await (const page of paginateScan({ client: dynamodb }, { TableName: tableName, ConsistentRead: true })) {
        items.push(...(page.Items ?? []));
      }
      return items.sort((a, b) => compareCodePoints(a.Key.S!, b.Key.S!));
    }

    /**
     * A deployment whose configuration table was backed up (archive and latest-) holding
     * `backedUp`, then changed to hold `now`.
     */
    async function givenBackup(backedUp: Item[], now: Item[]): Promise<Deployment> {
      const deployment = testDeployment({ bucket: await createBucket(s3) });
      const tableName = deployment.tables.configuration;
      await createTable(dynamodb, backedUp, tableName);
      const backup = await backupTable({ dynamodb, s3 }, deployment, {
        table: 'configuration',
        executionStartTime: RUN,
      });
      expect((await publishLatestBackups(s3, deployment, [backup])).status).to.equal('ok');
      await wipe(tableName);
      await writeItems(
        dynamodb,
        tableName,
        now.map((Item) => ({ PutRequest: { Item } })),
      );
      return deployment;
    }

    async function wipe(tableName: string): Promise<void> {
      const items = await rawItems(tableName);
      await writeItems(
        dynamodb,
        tableName,
        items.map((item) => ({ DeleteRequest: { Key: { Key: item.Key } } })),
      );
    }

    const BACKED_UP = [tableItem('a', '1'), tableItem('b', 'yes'), tableItem('[nightly]c', '0755')];
    const CHANGED = [tableItem('a', 'changed'), tableItem('[nightly]c', '0755'), tableItem('extra', 'x')];
    const MERGED = rows({ a: '1', b: 'yes', '[nightly]c': '0755', extra: 'x' });
    const RESTORED = rows({ a: '1', b: 'yes', '[nightly]c': '0755' });

    it('--from latest, merge mode (the default): writes the document keys and keeps the others', async () => {
      const deployment = await givenBackup(BACKED_UP, CHANGED);

      const output = await restore(deployment, 'configuration', '--from', 'latest', '--account', '123456789012');

      expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(MERGED));
      expect(output.join('\n')).to.include('~ "a": "changed" → "1"').and.include('+ "b" = "yes"');
      expect(output.at(-1)).to.equal('Done: 2 rows written, 0 rows deleted.');
    });

    it('--from latest takes the account from STS when --account is not given', async () => {
      const deployment = await givenBackup(BACKED_UP, []);

      await restore(deployment, 'configuration', '--from', 'latest');

      expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(RESTORED));
    });

    it('--from archive STAMP, restore mode: deletes the keys absent from the document, after printing them', async () => {
      const deployment = await givenBackup(BACKED_UP, CHANGED);

      const output = await restore(
        deployment,
        'configuration',
        '--from',
        'archive',
        STAMP,
        '--mode',
        'restore',
        '--yes',
      );

      expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(RESTORED));
      const deleting = output.indexOf('Deleting 1 row (marked -):');
      expect(deleting).to.be.greaterThan(-1);
      expect(output.indexOf('  - "extra" (was "x")')).to.be.greaterThan(deleting);
      expect(output.at(-1)).to.equal('Done: 2 rows written, 1 row deleted.');
    });

    it('--from "archive ISO-date-time" finds the same archive', async () => {
      const deployment = await givenBackup(BACKED_UP, []);

      await restore(deployment, 'configuration', '--from', `archive ${RUN}`);

      expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(RESTORED));
    });

    it('--from s3://bucket/key', async () => {
      const deployment = await givenBackup(BACKED_UP, CHANGED);
      const key = latestBackupKey(deployment.destination!, deployment, 'configuration');

      await restore(deployment, 'configuration', '--from', `s3://${deployment.destination!.bucket}/${key}`);

      expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(MERGED));
    });

    it('--from a local file, with nested parameter sets and empty values that delete', async () => {
      // Prepare
      const deployment = await givenBackup([], CHANGED);
      const file = join(await mkdtemp(join(tmpdir(), 'restore-')), 'backup.yaml');
      await writeFile(file, 'a: "1"\nextra: ""\nnightly:\n  c: "1"\n  d: "2"\n');

      // Act
      await restore(deployment, 'configuration', '--from', file, '--yes');

      // Assess
      expect(await tableRows(deployment.tables.configuration)).to.deep.equal(
        sorted(rows({ a: '1', '[nightly]c': '1', '[nightly]d': '2' })),
      );
    });

    it('--dry-run prints the diff and writes nothing', async () => {
      // Prepare
      const deployment = await givenBackup(BACKED_UP, CHANGED);
      const before = await rawItems(deployment.tables.configuration);

      // Act
      const output = await restore(deployment, 'configuration', '--from', 'latest', '--mode', 'restore', '--dry-run');

      // Assess
      expect(await rawItems(deployment.tables.configuration)).to.deep.equal(before);
      expect(output.slice(1)).to.deep.equal([
        '  ~ "a": "changed" → "1"',
        '  + "b" = "yes"',
        '  - "extra" (was "x")',
        '  1 to add, 1 to change, 1 to delete, 1 unchanged (restore mode)',
        'Dry run: nothing was written.',
      ]);
    });

    it('--output json prints the plan, and what was written, as one JSON document', async () => {
      // Prepare
      const deployment = await givenBackup(BACKED_UP, CHANGED);
      const key = latestBackupKey(deployment.destination!, deployment, 'configuration');
      const location = `s3://${deployment.destination!.bucket}/${key}`;
      const bytes = (await headObject(s3, deployment.destination!.bucket, key)).ContentLength;
      const plan = {
        put: [
          { key: 'a', before: 'changed', after: '1' },
          { key: 'b', after: 'yes' },
        ],
        delete: [{ key: 'extra', before: 'x' }],
        unchanged: ['[nightly]c'],
      };
      const common = { source: { location, keys: 3, bytes }, table: deployment.tables.configuration, mode: 'restore' };
      const args = ['--from', 'latest', '--mode', 'restore', '--output', 'json'];

      // Act
      const dryRun = await restore(deployment, 'configuration', ...args, '--dry-run');
      const written = await restore(deployment, 'configuration', ...args, '--yes');

      // Assess
      const nothingExpired = { replaced: [], emptied: [], unnamed: [] };
      expect(dryRun).to.have.length(1);
      expect(JSON.parse(dryRun[0])).to.deep.equal({
        ...common,
        outcome: 'dry run',
        plan,
        warnings: [],
        expired: nothingExpired,
      });
      expect(JSON.parse(written.join('\n'))).to.deep.equal({
        ...common,
        outcome: 'written',
        plan,
        written: { put: 2, deleted: 1 },
        warnings: [],
        expired: nothingExpired,
      });
      expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(RESTORED));
    });

    it('shows on stderr how many rows a large restore has written', async function () {
      // Prepare
      this.timeout(120_000);
      const deployment = await givenBackup([], []);
      const file = join(await mkdtemp(join(tmpdir(), 'restore-')), 'large.yaml');
      const { groupName, accountId, region } = deployment;
      const rowsToWrite = 2 * WRITE_PROGRESS_EVERY + 500;
      await writeFile(
        file,
        dumpBackupYaml(
          Array.from({ length: rowsToWrite }, (_, i) => ({ key: `k${i}`, value: 'v' })),
          { table: 'configuration', groupName, accountId, region },
        ),
      );

      // Act
      const output = await restore(deployment, 'configuration', '--from', file);

      // Assess
      const table = deployment.tables.configuration;
      expect(stderr).to.deep.equal([
        `writing ${table}: ${WRITE_PROGRESS_EVERY} of ${rowsToWrite} rows written or deleted`,
        `writing ${table}: ${2 * WRITE_PROGRESS_EVERY} of ${rowsToWrite} rows written or deleted`,
      ]);
      expect(output.at(-1)).to.equal(`Done: ${rowsToWrite} rows written, 0 rows deleted.`);
    });

    it('leaves an equal row untouched (its TTL too), and replaces an expired row by one without TTL', async () => {
      // Prepare
      const future = Math.floor(Date.now() / 1000) + 3600;
      const deployment = await givenBackup(BACKED_UP, [tableItem('a', '1', future), tableItem('b', 'yes', 1000)]);

      // Act
      await restore(deployment, 'configuration', '--from', 'latest');

      // Assess
      expect(await rawItems(deployment.tables.configuration)).to.deep.equal([
        tableItem('[nightly]c', '0755'),
        tableItem('a', '1', future),
        tableItem('b', 'yes'),
      ]);
      expect(stderr).to.deep.equal([
        'note: past TTL and named by the document, so replaced by its value (with no TTL): 1 row ("b")',
      ]);
    });

    it('says what happens to each row past TTL: replaced when the document names it, else left for TTL to delete', async () => {
      // Prepare
      const past = 1000;
      const deployment = await givenBackup(
        [],
        [
          tableItem('a', 'live'),
          tableItem('named', 'old', past),
          tableItem('emptied', 'old', past),
          tableItem('unnamed1', 'old', past),
          tableItem('unnamed2', 'old', past),
        ],
      );
      const file = join(await mkdtemp(join(tmpdir(), 'restore-')), 'backup.yaml');
      await writeFile(file, 'a: live\nemptied: ""\nnamed: new\n');

      // Act
      await restore(deployment, 'configuration', '--from', file, '--mode', 'restore');

      // Assess
      expect(stderr.filter((line) => line.startsWith('note: past TTL'))).to.deep.equal([
        'note: past TTL and named by the document, so replaced by its value (with no TTL): 1 row ("named")',
        'note: past TTL and given an empty value by the document, so left for DynamoDB\'s TTL to delete: 1 row ("emptied")',
        'note: past TTL and not named by the document, so left for DynamoDB\'s TTL to delete: 2 rows ("unnamed1", "unnamed2")',
      ]);
      expect(await rawItems(deployment.tables.configuration)).to.deep.equal([
        tableItem('a', 'live'),
        tableItem('emptied', 'old', past),
        tableItem('named', 'new'),
        tableItem('unnamed1', 'old', past),
        tableItem('unnamed2', 'old', past),
      ]);
    });

    it('leaves rows it cannot read as they are, with a warning', async () => {
      const deployment = await givenBackup(BACKED_UP, []);
      await dynamodb.send(
        new PutItemCommand({
          TableName: deployment.tables.configuration,
          Item: { Key: { S: 'n' }, Value: { N: '1' } },
        }),
      );

      await restore(deployment, 'configuration', '--from', 'latest', '--mode', 'restore');

      expect(stderr).to.deep.equal([
        'warning: skipped key "n": its Value is a number (N), not a string; CloneSquad only reads string values. ' +
          'Fix: write the value again as a string (DynamoDB type S); the row was left as it is',
      ]);
      expect((await rawItems(deployment.tables.configuration)).map((item) => item.Key.S)).to.include('n');
    });

    it('shows its progress on stderr while it reads a large document', async function () {
      // Prepare
      this.timeout(120_000);
      const deployment = await givenBackup([], []);
      const file = join(await mkdtemp(join(tmpdir(), 'restore-')), 'big.yaml');
      const { groupName, accountId, region } = deployment;
      const provenance = { table: 'configuration', groupName, accountId, region };
      await writeFile(
        file,
        dumpBackupYaml(
          Array.from({ length: 100_000 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
          provenance,
        ),
      );

      // Act
      const output = await restore(deployment, 'configuration', '--from', file, '--dry-run');

      // Assess
      expect(stderr).to.deep.equal([
        `reading ${file}: 100000 of 100001 lines`,
        `reading ${file}: all 100001 lines read, now checking its keys`,
      ]);
      expect(output.at(-2)).to.equal('  100000 to add, 0 to change, 0 to delete, 0 unchanged (merge mode)');
    });

    describe('asks before it deletes rows', () => {
      /** A table with rows `a` and `extra`, and a backup that holds only `a`: restore mode deletes `extra`. */
      async function givenExtraRow(): Promise<Deployment> {
        return givenBackup([tableItem('a', '1')], [tableItem('a', '1'), tableItem('extra', 'x')]);
      }

      it('on a terminal: asks "Delete N rows from TABLE? [y/N]" and deletes on y or yes', async () => {
        for (const answer of ['y', 'yes', 'Y', ' YES ']) {
          // Prepare
          const deployment = await givenExtraRow();
          const asked: string[] = [];

          // Act
          const { code, output } = await runRestore(deployment, ['--from', 'latest', '--mode', 'restore'], {
            ask: async (question) => {
              asked.push(question);
              return answer;
            },
          });

          // Assess
          expect(asked, answer).to.deep.equal([`Delete 1 row from ${deployment.tables.configuration}? [y/N] `]);
          expect(code).to.equal(0);
          expect(output.at(-1)).to.equal('Done: 0 rows written, 1 row deleted.');
          expect(await tableRows(deployment.tables.configuration)).to.deep.equal(rows({ a: '1' }));
        }
      });

      it('on a terminal: any other answer aborts, exit 1, nothing written', async () => {
        for (const answer of ['', 'n', 'no', 'yess', 'oui']) {
          const deployment = await givenExtraRow();

          const { code, output } = await runRestore(deployment, ['--from', 'latest', '--mode', 'restore'], {
            ask: async () => answer,
          });

          expect(code, answer).to.equal(1);
          expect(output.at(-1)).to.equal('Aborted: nothing was written.');
          expect(await tableRows(deployment.tables.configuration)).to.deep.equal(rows({ a: '1', extra: 'x' }));
        }
      });

      it('not on a terminal: refuses to delete without --yes, exit 2, nothing written', async () => {
        // Prepare
        const deployment = await givenBackup(
          [tableItem('a', '1')],
          [tableItem('a', 'changed'), tableItem('extra', 'x'), tableItem('more', 'y')],
        );

        // Act
        const error = await rejection(runRestore(deployment, ['--from', 'latest', '--mode', 'restore']));

        // Assess
        expect(error).to.be.instanceOf(UserInputError);
        expect(error.message).to.equal(
          `table ${deployment.tables.configuration}: this restore deletes 2 rows (marked - above), and stdin is not ` +
            'a terminal to confirm it. Fix: check the rows marked -, then run it again with --yes',
        );
        expect(await tableRows(deployment.tables.configuration)).to.deep.equal(
          rows({ a: 'changed', extra: 'x', more: 'y' }),
        );
      });

      it('with --yes: deletes without asking', async () => {
        const deployment = await givenExtraRow();

        const { code } = await runRestore(deployment, ['--from', 'latest', '--mode', 'restore', '--yes'], {
          ask: async () => expect.fail('asked although --yes was given'),
        });

        expect(code).to.equal(0);
        expect(await tableRows(deployment.tables.configuration)).to.deep.equal(rows({ a: '1' }));
      });

      it('asks nothing on a dry run, nor when nothing is deleted', async () => {
        const deployment = await givenExtraRow();
        const ask = async () => expect.fail('asked');

        const dryRun = await runRestore(deployment, ['--from', 'latest', '--mode', 'restore', '--dry-run'], { ask });
        const merge = await runRestore(deployment, ['--from', 'latest'], { ask });

        expect([dryRun.code, merge.code]).to.deep.equal([0, 0]);
        expect(await tableRows(deployment.tables.configuration)).to.deep.equal(rows({ a: '1', extra: 'x' }));
      });
    });

    describe('checks that the document is a backup of the table it restores', () => {
      const FIX_TABLE_GROUP = 'Fix: check --table and --group (and --from), or pass --force to restore it anyway';

      /** A configuration backup of one group, and another group whose Scheduler table has two rows. */
      async function givenOtherGroup(): Promise<{ backedUp: Deployment; other: Deployment; key: string }> {
        const backedUp = await givenBackup(BACKED_UP, BACKED_UP);
        const other = testDeployment({ bucket: backedUp.destination!.bucket });
        await createTable(dynamodb, [tableItem('x', '1'), tableItem('y', '2')], other.tables.scheduler);
        return { backedUp, other, key: latestBackupKey(backedUp.destination!, backedUp, 'configuration') };
      }

      async function localCopy(deployment: Deployment, key: string, name = 'copy.yaml'): Promise<string> {
        const file = join(await mkdtemp(join(tmpdir(), 'restore-')), name);
        await writeFile(file, await readObject(s3, deployment.destination!.bucket, key));
        return file;
      }

      it('refuses a backup of another group and table named by its S3 key, writing nothing', async () => {
        // Prepare
        const { backedUp, other, key } = await givenOtherGroup();
        const from = `s3://${backedUp.destination!.bucket}/${key}`;

        // Act
        const error = await rejection(restore(other, 'scheduler', '--from', from, '--mode', 'restore'));

        // Assess
        expect(error).to.be.instanceOf(UserInputError);
        expect(error.message).to.equal(
          `${from}: it is a backup of table configuration, group ${backedUp.groupName} (its S3 key says so), ` +
            `but this restore writes table scheduler, group ${other.groupName}. ${FIX_TABLE_GROUP}`,
        );
        expect(await tableRows(other.tables.scheduler)).to.deep.equal(rows({ x: '1', y: '2' }));
      });

      it('refuses a downloaded copy by its first line', async () => {
        const { backedUp, other, key } = await givenOtherGroup();
        const file = await localCopy(backedUp, key);

        const error = await rejection(restore(other, 'scheduler', '--from', file, '--mode', 'restore'));

        expect(error.message).to.equal(
          `${file}: it is a backup of table configuration, group ${backedUp.groupName} (its first line says so), ` +
            `but this restore writes table scheduler, group ${other.groupName}. ${FIX_TABLE_GROUP}`,
        );
        expect(await tableRows(other.tables.scheduler)).to.deep.equal(rows({ x: '1', y: '2' }));
      });

      it('refuses another account or region named by the first line', async () => {
        // Prepare
        const deployment = await givenBackup([], BACKED_UP);
        const line = (account: string, region: string) =>
          `# clonesquad-backup table=configuration group=${deployment.groupName} account=${account} region=${region}\n`;
        const folder = await mkdtemp(join(tmpdir(), 'restore-'));
        const [otherAccount, otherRegion] = [join(folder, 'account.yaml'), join(folder, 'region.yaml')];
        await writeFile(otherAccount, `${line('999999999999', 'eu-west-1')}a: "1"\n`);
        await writeFile(otherRegion, `${line('123456789012', 'us-east-1')}a: "1"\n`);

        // Act
        const accountError = await rejection(restore(deployment, 'configuration', '--from', otherAccount));
        const regionError = await rejection(restore(deployment, 'configuration', '--from', otherRegion));

        // Assess
        expect(accountError.message).to.equal(
          `${otherAccount}: it is a backup of account 999999999999 (its first line says so), but this restore ` +
            'writes account 123456789012. Fix: check --account (and --from), or pass --force to restore it anyway',
        );
        expect(regionError.message).to.equal(
          `${otherRegion}: it is a backup of region us-east-1 (its first line says so), but this restore ` +
            'writes region eu-west-1. Fix: check --region (and --from), or pass --force to restore it anyway',
        );
        expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(RESTORED));
      });

      it('restores it anyway with --force, saying so on stderr', async () => {
        const { backedUp, other, key } = await givenOtherGroup();
        const from = `s3://${backedUp.destination!.bucket}/${key}`;

        await restore(other, 'scheduler', '--from', from, '--mode', 'restore', '--yes', '--force');

        expect(await tableRows(other.tables.scheduler)).to.deep.equal(sorted(RESTORED));
        expect(stderr).to.deep.equal([
          `warning: ${from}: it is a backup of table configuration, group ${backedUp.groupName} (its S3 key says so), ` +
            `but this restore writes table scheduler, group ${other.groupName}; restoring it anyway (--force)`,
        ]);
      });

      it('accepts a document that names nothing (written by hand), saying so on stderr', async () => {
        // Prepare
        const deployment = await givenBackup([], []);
        const file = join(await mkdtemp(join(tmpdir(), 'restore-')), 'hand.yaml');
        await writeFile(file, 'a: "1"\n');
        const key = 'hand-made/a.yaml';
        await s3.send(new PutObjectCommand({ Bucket: deployment.destination!.bucket, Key: key, Body: 'b: "2"\n' }));

        // Act
        await restore(deployment, 'configuration', '--from', file);
        const fromFile = stderr;
        await restore(deployment, 'configuration', '--from', `s3://${deployment.destination!.bucket}/${key}`);

        // Assess
        expect(fromFile).to.deep.equal([
          `note: ${file} does not say what it is a backup of (no "# clonesquad-backup" first line); ` +
            'restoring it without checking its table and group',
        ]);
        expect(stderr).to.deep.equal([
          `note: s3://${deployment.destination!.bucket}/${key} does not say what it is a backup of ` +
            '(no "# clonesquad-backup" first line, and not a backup key); restoring it without checking its table and group',
        ]);
        expect(await tableRows(deployment.tables.configuration)).to.deep.equal(rows({ a: '1', b: '2' }));
      });

      it('says nothing of a backup of the table it restores, nor of one older than the provenance line', async () => {
        // Prepare
        const deployment = await givenBackup(BACKED_UP, []);
        const key = latestBackupKey(deployment.destination!, deployment, 'configuration');
        const copy = await localCopy(deployment, key);
        const stamp = archiveStamp('2023-01-01T00:00:00.000Z');
        const old = archiveBackupKey(deployment.destination!, deployment, 'configuration', stamp);
        await s3.send(new PutObjectCommand({ Bucket: deployment.destination!.bucket, Key: old, Body: 'a: old\n' }));

        // Act and Assess
        for (const from of ['latest', copy, `s3://${deployment.destination!.bucket}/${key}`, `archive ${stamp}`]) {
          await restore(deployment, 'configuration', '--from', from);
          expect(stderr, from).to.deep.equal([]);
        }
        expect(await tableRows(deployment.tables.configuration)).to.deep.equal(
          sorted(rows({ a: 'old', b: 'yes', '[nightly]c': '0755' })),
        );
      });
    });

    describe('refuses, with a message naming the input and the fix', () => {
      async function refusal(deployment: Deployment, ...args: string[]): Promise<Error> {
        return rejection(restore(deployment, 'configuration', ...args));
      }

      it('an unknown archive stamp, listing the nearest existing archives', async () => {
        const deployment = await givenBackup(BACKED_UP, []);
        const other = await backupTable({ dynamodb, s3 }, deployment, {
          table: 'configuration',
          executionStartTime: '2024-06-03T10:00:00.000Z',
        });

        const error = await refusal(deployment, '--from', 'archive', '20240602T000000000Z');

        expect(error).to.be.instanceOf(UserInputError);
        expect(error.message).to.include('no configuration archive has the stamp 20240602T000000000Z');
        expect(error.message).to.include(
          `Fix: use one of the nearest existing archives: ${STAMP}, 20240603T100000000Z`,
        );
        expect(other.status).to.equal('ok');
      });

      it('a missing latest- backup', async () => {
        const deployment = testDeployment({ bucket: await createBucket(s3) });
        await createTable(dynamodb, [], deployment.tables.configuration);

        const error = await refusal(deployment, '--from', 'latest');

        expect(error.message).to.match(
          /no latest configuration backup exists for group grp-.* in account 123456789012/,
        );
        expect(error.message).to.include('Fix: check --group');
      });

      it('a missing S3 object and a missing file', async () => {
        const deployment = await givenBackup(BACKED_UP, []);
        const bucket = deployment.destination!.bucket;

        expect((await refusal(deployment, '--from', `s3://${bucket}/nope.yaml`)).message).to.equal(
          `s3://${bucket}/nope.yaml: no such object exists. Fix: check the key (npm run backups -- list shows the backups of a group)`,
        );
        expect((await refusal(deployment, '--from', '/nonexistent/backup.yaml')).message).to.match(
          /^--from \/nonexistent\/backup.yaml: no such file exists\. Fix: /,
        );
      });

      it('a table that does not exist, or is not a CloneSquad table', async () => {
        const deployment = await givenBackup(BACKED_UP, []);
        const missing = { ...deployment, tables: { ...deployment.tables, configuration: uniqueName('missing') } };

        const error = await refusal(missing, '--from', 'latest');

        expect(error.message).to.match(/^--table-name "missing-.*": no DynamoDB table of that name exists/);
        await dynamodb.send(
          new CreateTableCommand({
            TableName: missing.tables.configuration,
            AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        expect((await refusal(missing, '--from', 'latest')).message).to.include('it is not a CloneSquad table');
      });

      const documents: [string, string, RegExp][] = [
        ['not a mapping', '- a\n- b\n', /its top level is not a mapping/],
        ['a non-string value', 'a: yes\n', /its value true is not a string \(YAML read it as boolean\)/],
        ['a value nested too deep', 'a:\n  b:\n    c: "1"\n', /its value is a mapping, not a string/],
        ['not UTF-8', '\xff\xfe', /it is not UTF-8 text/],
      ];
      const emptyDocuments: [string, string][] = [
        ['a 0-byte file', ''],
        ['~', '~\n'],
        ['null', 'null\n'],
        ['a comment', '# nothing here\n'],
        ['an empty document between markers', '---\n...\n'],
      ];
      for (const [name, text] of emptyDocuments) {
        it(`an empty document (${name}) in restore mode, which would otherwise delete every row`, async () => {
          // Prepare
          const deployment = await givenBackup([], BACKED_UP);
          const file = join(await mkdtemp(join(tmpdir(), 'restore-')), 'empty.yaml');
          await writeFile(file, text);

          // Act
          const error = await refusal(deployment, '--from', file, '--mode', 'restore');

          // Assess
          expect(error).to.be.instanceOf(UserInputError);
          expect(error.message).to.equal(
            `${file}: it holds no mapping (the document is empty, only comments, or a null such as ~). ` +
              'Fix: restore a backup this service wrote; a backup of an empty table is {} ' +
              '(restore {} to empty the table on purpose)',
          );
          expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(RESTORED));
        });
      }

      for (const [name, text, message] of documents) {
        it(`a document that is ${name}`, async () => {
          const deployment = await givenBackup([], BACKED_UP);
          const file = join(await mkdtemp(join(tmpdir(), 'restore-')), 'bad.yaml');
          await writeFile(file, Buffer.from(text, 'latin1'));

          const error = await refusal(deployment, '--from', file, '--mode', 'restore');

          expect(error).to.be.instanceOf(UserInputError);
          expect(error.message).to.match(message);
          expect(await tableRows(deployment.tables.configuration)).to.have.length(3);
        });
      }
    });

    describe('properties', () => {
      /** An empty value means "delete this key" to restore (docs/backup-format.md), so a table row never holds one. */
      const value = fc.oneof(
        { weight: 30, arbitrary: hostileText.filter((text) => text !== '') },
        {
          weight: 1,
          arbitrary: fc.integer({ min: 1000, max: 60_000 }).map((length) => wellFormed(longString(length))),
        },
      );
      const setName = fc.oneof(fc.constantFrom('web', 'yes', '~', '10:30', ' ', 'a b', '#'), hostileText);
      const psetKey = fc.tuple(setName, hostileText).map(([name, subkey]) => `[${name}]${subkey}`);
      const commentKey = fc.tuple(fc.constantFrom('#', '# ', '#!'), hostileText).map(([mark, text]) => mark + text);
      const key = fc
        .oneof(hostileText, setName, psetKey, commentKey)
        .filter((text) => text !== '' && Buffer.byteLength(text) <= 2048);
      const table = fc
        .uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 15 })
        .map((entries) => entries.map(([k, v]) => ({ key: k, value: v })));
      const RUNS = Number(process.env.RESTORE_FUZZ_RUNS ?? 100);

      let deployment: Deployment;
      let run = 0;
      before(async () => {
        deployment = testDeployment({ bucket: await createBucket(s3) });
        await createTable(dynamodb, [], deployment.tables.configuration);
      });

      async function fill(content: TableRow[]): Promise<void> {
        await wipe(deployment.tables.configuration);
        await writeItems(
          dynamodb,
          deployment.tables.configuration,
          content.map(({ key: k, value: v }) => ({ PutRequest: { Item: tableItem(k, v) } })),
        );
      }

      /** Backs the table up as a workflow execution does: archive, then latest-. */
      async function backup(): Promise<void> {
        run += 1;
        const executionStartTime = new Date(Date.UTC(2030, 0, 1) + run * 1000).toISOString();
        const result = await backupTable({ dynamodb, s3 }, deployment, { table: 'configuration', executionStartTime });
        expect((await publishLatestBackups(s3, deployment, [result])).status).to.equal('ok');
      }

      it('any table → backup → wipe → restore from latest gives back the identical rows', async function () {
        this.timeout(240_000);
        await fc.assert(
          fc.asyncProperty(table, async (content) => {
            await fill(content);
            await backup();
            await wipe(deployment.tables.configuration);
            expect(await rawItems(deployment.tables.configuration)).to.deep.equal([]);

            await restore(deployment, 'configuration', '--from', 'latest', '--mode', 'restore');

            expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(content));
          }),
          { numRuns: RUNS },
        );
      });

      it('merge onto a changed table gives the union, the backup winning on shared keys', async function () {
        this.timeout(240_000);
        await fc.assert(
          fc.asyncProperty(table, table, async (backedUp, changed) => {
            await fill(backedUp);
            await backup();
            await fill(changed);

            await restore(deployment, 'configuration', '--from', 'latest');

            const union = new Map([...changed, ...backedUp].map((row) => [row.key, row.value]));
            expect(await tableRows(deployment.tables.configuration)).to.deep.equal(
              sorted([...union].map(([k, v]) => ({ key: k, value: v }))),
            );
          }),
          { numRuns: Math.ceil(RUNS / 2) },
        );
      });

      it('restore mode onto a changed table gives exactly the backup, and a dry run changes nothing', async function () {
        this.timeout(240_000);
        await fc.assert(
          fc.asyncProperty(table, table, async (backedUp, changed) => {
            await fill(backedUp);
            await backup();
            await fill(changed);
            const before = await rawItems(deployment.tables.configuration);

            await restore(deployment, 'configuration', '--from', 'latest', '--mode', 'restore', '--dry-run');
            expect(await rawItems(deployment.tables.configuration)).to.deep.equal(before);
            await restore(deployment, 'configuration', '--from', 'latest', '--mode', 'restore', '--yes');

            expect(await tableRows(deployment.tables.configuration)).to.deep.equal(sorted(backedUp));
          }),
          { numRuns: Math.ceil(RUNS / 2) },
        );
      });

      it('the backup YAML of a restored table is byte-identical to the one restored', async () => {
        const content = rows({ a: 'yes', '[s]b': '0755', '#c': ' x ', [longString(50)]: longString(5000) });
        await fill(content);
        await backup();
        const first = dumpBackupYaml(await tableRows(deployment.tables.configuration));
        await wipe(deployment.tables.configuration);

        await restore(deployment, 'configuration', '--from', 'latest', '--mode', 'restore');

        expect(dumpBackupYaml(await tableRows(deployment.tables.configuration))).to.equal(first);
      });
    });
  });
});
