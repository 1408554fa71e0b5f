import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { DeleteTableCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetObjectAclCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type GetObjectCommandOutput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { backupPartName, backupTable, publishLatestBackups, type BackupPartResult } from '#shared/backup/backup';
import { s3ClientSettings } from '#shared/aws/clients';
import type { Deployment } from '#shared/run/deployment';
import { UserInputError } from '#shared/aws/errors';
import {
  ARCHIVE_TAG,
  archiveBackupKey,
  archiveStamp,
  BACKUP_TABLES,
  CONTENT_SHA256_METADATA,
  LATEST_ARCHIVE_STAMP_METADATA,
  latestBackupKey,
  type BackupTable,
} from '#shared/aws/s3-layout';
import type { RawPartResult } from '#shared/run/summary';
import { loadBackupYaml } from '#shared/backup/yaml-codec';
import { createBucket, emulatorClients, uniqueName } from '#test/support/aws';
import {
  createEmulatorKmsKey,
  createTable,
  headObject,
  listKeys,
  readObject,
  rejection,
  tableItem,
  testDeployment,
  type Item,
} from '#test/support/backup-fixtures';

const FIRST_RUN = '2024-06-01T10:00:00.123Z';

/** The first line of every backup: what it holds, without a time (identical tables give identical bytes). */
const provenance = (deployment: Deployment, table: BackupTable) =>
  `# clonesquad-backup table=${table} group=${deployment.groupName} account=123456789012 region=eu-west-1\n`;
const SECOND_RUN = '2024-06-01T11:00:00.456Z';

function sha256(body: Uint8Array, encoding: 'hex' | 'base64' = 'hex'): string {
  return createHash('sha256').update(body).digest(encoding);
}

function archiveKey(deployment: Deployment, table: BackupTable, executionStartTime: string): string {
  return archiveBackupKey(deployment.destination!, deployment, table, archiveStamp(executionStartTime));
}

function latestKey(deployment: Deployment, table: BackupTable): string {
  return latestBackupKey(deployment.destination!, deployment, table);
}

/** S3 error answers, as the SDK reports them. */
function s3Error(name: string, httpStatusCode: number, message: string): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message });
}
const notFound = () => s3Error('NotFound', 404, 'NotFound');
const forbidden = () => s3Error('Forbidden', 403, 'Forbidden');
const preconditionFailed = () =>
  s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');

/** An object's content, as GetObject answers it. */
const archiveBody = (text: string) =>
  ({ Body: { transformToByteArray: async () => Buffer.from(text) } }) as unknown as GetObjectCommandOutput;

/** A failed backup as the state machine's Catch branch hands it to the archive step. */
function caughtBackup(table: BackupTable, error: Error): RawPartResult {
  return {
    part: backupPartName(table),
    status: 'failed',
    caught: { Error: error.name, Cause: JSON.stringify({ errorType: error.name, errorMessage: error.message }) },
  };
}

describe('backupTable and publishLatestBackups (docs/reference/s3-layout.md, docs/backup-format.md)', () => {
  describe('against the emulator', () => {
    let dynamodb: DynamoDBClient;
    let s3: S3Client;

    before(() => {
      ({ dynamodb, s3 } = emulatorClients());
    });

    /** A fresh bucket and a deployment whose tables hold the given items (`null`: no such table). */
    async function givenDeployment(
      items: Record<BackupTable, Item[] | null>,
      options: { kmsKeyArn?: string } = {},
    ): Promise<Deployment> {
      const bucket = await createBucket(s3);
      const deployment = testDeployment({ bucket, ...options });
      for (const table of BACKUP_TABLES) {
        const rows = items[table];
        if (rows) await createTable(dynamodb, rows, deployment.tables[table]);
      }
      return deployment;
    }

    async function backupBoth(deployment: Deployment, executionStartTime: string): Promise<BackupPartResult[]> {
      const clients = { dynamodb, s3 };
      return Promise.all(BACKUP_TABLES.map((table) => backupTable(clients, deployment, { table, executionStartTime })));
    }

    async function read(deployment: Deployment, key: string): Promise<Buffer> {
      return readObject(s3, deployment.destination!.bucket, key);
    }

    it('backs up empty tables as {}', async () => {
      // Prepare
      const deployment = await givenDeployment({ configuration: [], scheduler: [] });

      // Act
      const results = await backupBoth(deployment, FIRST_RUN);

      // Assess
      for (const [index, table] of BACKUP_TABLES.entries()) {
        expect(results[index]).to.include({ status: 'ok', table, records: 0 });
        expect((await read(deployment, archiveKey(deployment, table, FIRST_RUN))).toString()).to.equal(
          `${provenance(deployment, table)}{}\n`,
        );
      }
    });

    it('writes each archive at its layout key, and latest- only when published, as a byte-equal copy', async () => {
      // Prepare
      const deployment = await givenDeployment({
        configuration: [tableItem('ec2.schedule.min_instance_count', '2'), tableItem('[nightly]app.disable', 'yes')],
        scheduler: [tableItem('nightly-off', 'cron(0 20 * * ? *),config.active_parameter_set=nightly')],
      });
      const archives = BACKUP_TABLES.map((table) => archiveKey(deployment, table, FIRST_RUN));
      const latest = BACKUP_TABLES.map((table) => latestKey(deployment, table));

      // Act
      const results = await backupBoth(deployment, FIRST_RUN);
      const keysBeforePublish = await listKeys(s3, deployment.destination!.bucket);
      const published = await publishLatestBackups(s3, deployment, results);

      // Assess
      expect(keysBeforePublish).to.deep.equal([...archives].sort());
      for (const [index, table] of BACKUP_TABLES.entries()) {
        expect(results[index]).to.deep.include({
          part: `backup/${table}`,
          status: 'ok',
          table,
          keys: [archives[index]],
          latestKey: latest[index],
        });
        expect(results[index].archive?.key).to.equal(archives[index]);
      }
      expect(published).to.deep.equal({ part: 'archive', status: 'ok', keys: latest, records: 2 });
      expect(await listKeys(s3, deployment.destination!.bucket)).to.deep.equal([...archives, ...latest].sort());
      for (const index of BACKUP_TABLES.keys()) {
        expect((await read(deployment, latest[index])).equals(await read(deployment, archives[index]))).to.equal(true);
      }
      const configuration = loadBackupYaml((await read(deployment, latest[0])).toString(), 'latest');
      expect(configuration).to.have.deep.members([
        { key: '[nightly]app.disable', value: 'yes' },
        { key: 'ec2.schedule.min_instance_count', value: '2' },
      ]);
    });

    it('adds an archive of the changed table only and replaces its latest-, keeping the first archive', async () => {
      // Prepare
      const deployment = await givenDeployment({ configuration: [tableItem('a', 'first')], scheduler: [] });
      await publishLatestBackups(s3, deployment, await backupBoth(deployment, FIRST_RUN));
      const firstArchive = await read(deployment, archiveKey(deployment, 'configuration', FIRST_RUN));
      await dynamodb.send(
        new PutItemCommand({ TableName: deployment.tables.configuration, Item: tableItem('a', 'second') }),
      );

      // Act
      await publishLatestBackups(s3, deployment, await backupBoth(deployment, SECOND_RUN));

      // Assess
      const keys = await listKeys(s3, deployment.destination!.bucket);
      const expected = [
        archiveKey(deployment, 'configuration', FIRST_RUN),
        archiveKey(deployment, 'configuration', SECOND_RUN),
        latestKey(deployment, 'configuration'),
        archiveKey(deployment, 'scheduler', FIRST_RUN),
        latestKey(deployment, 'scheduler'),
      ];
      expect(keys).to.deep.equal(expected.sort());
      expect(await read(deployment, archiveKey(deployment, 'configuration', FIRST_RUN))).to.deep.equal(firstArchive);
      expect((await read(deployment, latestKey(deployment, 'configuration'))).toString()).to.equal(
        `${provenance(deployment, 'configuration')}a: second\n`,
      );
      expect(firstArchive.toString()).to.equal(`${provenance(deployment, 'configuration')}a: first\n`);
    });

    it('refuses a second backup with the same stamp (If-None-Match) and leaves the first archive intact', async () => {
      // Prepare
      const deployment = await givenDeployment({ configuration: [tableItem('a', 'first')], scheduler: [] });
      const clients = { dynamodb, s3 };
      const request = { table: 'configuration', executionStartTime: FIRST_RUN } as const;
      const first = await backupTable(clients, deployment, request);
      await dynamodb.send(
        new PutItemCommand({ TableName: deployment.tables.configuration, Item: tableItem('a', 'second') }),
      );

      // Act
      const error = await rejection(backupTable(clients, deployment, request));

      // Assess
      expect(error.message).to.match(/already exists or changed meanwhile; it was left untouched/);
      expect(error.message).to.include(first.archive!.key);
      const head = await headObject(s3, deployment.destination!.bucket, first.archive!.key);
      expect(head.ETag).to.equal(first.archive!.etag);
      expect((await read(deployment, first.archive!.key)).toString()).to.equal(
        `${provenance(deployment, 'configuration')}a: first\n`,
      );
    });

    it('accepts a retried backup whose archive already holds exactly the same bytes', async () => {
      // Prepare: a first attempt that wrote the archive but whose answer was lost
      const deployment = await givenDeployment({ configuration: [tableItem('a', 'same')], scheduler: [] });
      const clients = { dynamodb, s3 };
      const request = { table: 'configuration', executionStartTime: FIRST_RUN } as const;
      const first = await backupTable(clients, deployment, request);

      // Act
      const retried = await backupTable(clients, deployment, request);

      // Assess
      expect(retried.archive).to.deep.equal(first.archive);
      expect(retried.sha256).to.equal(first.sha256);
    });

    it('backs up a table larger than one Scan page whole, and returns only a small summary', async () => {
      // Prepare: 300 rows of 4 KB, about 1.2 MB
      const items = Array.from({ length: 300 }, (_, index) =>
        tableItem(`key-${String(index).padStart(3, '0')}`, `${index} `.padEnd(4096, 'v')),
      );
      const deployment = await givenDeployment({ configuration: items, scheduler: [] });

      // Act
      const result = await backupTable({ dynamodb, s3 }, deployment, {
        table: 'configuration',
        executionStartTime: FIRST_RUN,
      });

      // Assess
      const body = await read(deployment, result.archive!.key);
      const rows = loadBackupYaml(body.toString(), result.archive!.key);
      expect(rows).to.deep.equal(items.map((item) => ({ key: item.Key.S, value: item.Value.S })));
      expect(result).to.include({ records: 300, bytes: body.byteLength, sha256: sha256(body) });
      expect(body.byteLength).to.be.greaterThan(1_200_000);
      expect(JSON.stringify(result).length).to.be.lessThan(2048);
    });

    it('keeps a value near the 400 KB item size limit byte for byte', async () => {
      // Prepare: DynamoDB counts attribute names and UTF-8 values against 400 KB (409,600 bytes);
      // the emulator stops at 405,000 bytes, so the item is made exactly 400,000 bytes.
      const key = 'big';
      const budget = 400_000 - Buffer.byteLength(`Key${key}Value`);
      const pattern = 'plain text: "quoted" \\ back\tslash\nnew line # é 漢字 😀 ~ yes 0755 10:30 ';
      const chars: string[] = [];
      let bytes = 0;
      for (const char of [...pattern.repeat(Math.ceil(budget / Buffer.byteLength(pattern)))]) {
        if (bytes + Buffer.byteLength(char) > budget) break;
        chars.push(char);
        bytes += Buffer.byteLength(char);
      }
      const value = chars.join('');
      const deployment = await givenDeployment({ configuration: [tableItem(key, value)], scheduler: [] });

      // Act
      const result = await backupTable({ dynamodb, s3 }, deployment, {
        table: 'configuration',
        executionStartTime: FIRST_RUN,
      });

      // Assess
      expect(Buffer.byteLength(value)).to.be.within(budget - 3, budget);
      const [row] = loadBackupYaml((await read(deployment, result.archive!.key)).toString(), 'archive');
      expect(row.key).to.equal(key);
      expect(Buffer.from(row.value, 'utf8').equals(Buffer.from(value, 'utf8'))).to.equal(true);
    });

    it('leaves rows whose TTL has passed out of the backup', async () => {
      // Prepare
      const now = Math.floor(Date.now() / 1000);
      const deployment = await givenDeployment({
        configuration: [],
        scheduler: [tableItem('expired', 'x', now - 60), tableItem('valid', 'kept', now + 3600)],
      });

      // Act
      const result = await backupTable({ dynamodb, s3 }, deployment, {
        table: 'scheduler',
        executionStartTime: FIRST_RUN,
      });

      // Assess
      expect(result.records).to.equal(1);
      expect((await read(deployment, result.archive!.key)).toString()).to.equal(
        `${provenance(deployment, 'scheduler')}valid: kept\n`,
      );
    });

    it('fails a backup whose table is missing with the parameter to fix, and writes nothing', async () => {
      // Prepare
      const deployment = await givenDeployment({ configuration: [], scheduler: null });

      // Act
      const error = await rejection(
        backupTable({ dynamodb, s3 }, deployment, { table: 'scheduler', executionStartTime: FIRST_RUN }),
      );

      // Assess
      expect(error).to.be.instanceOf(UserInputError);
      expect(error.message).to.match(
        new RegExp(`^SchedulerTable "${deployment.tables.scheduler}": no DynamoDB table .* Fix: .*SchedulerTable`),
      );
      expect(await listKeys(s3, deployment.destination!.bucket)).to.deep.equal([]);
    });

    it('fails with the MetadataAndBackupS3Path fix when the bucket does not exist', async () => {
      // Prepare
      const deployment = testDeployment({ bucket: uniqueName('no-such-bucket') });
      await createTable(dynamodb, [tableItem('a', 'b')], deployment.tables.configuration);

      // Act
      const error = await rejection(
        backupTable({ dynamodb, s3 }, deployment, { table: 'configuration', executionStartTime: FIRST_RUN }),
      );

      // Assess
      expect(error).to.be.instanceOf(UserInputError);
      expect(error.message).to.equal(
        `MetadataAndBackupS3Path (bucket "${deployment.destination!.bucket}"): the bucket does not exist. ` +
          'Fix: create the bucket or redeploy with MetadataAndBackupS3Path naming an existing one',
      );
    });

    it('grants the bucket owner full control of the archive and latest- objects', async () => {
      // Prepare
      const deployment = await givenDeployment({ configuration: [tableItem('a', 'b')], scheduler: [] });
      await publishLatestBackups(s3, deployment, await backupBoth(deployment, FIRST_RUN));

      for (const key of [archiveKey(deployment, 'configuration', FIRST_RUN), latestKey(deployment, 'configuration')]) {
        // Act
        const acl = await s3.send(new GetObjectAclCommand({ Bucket: deployment.destination!.bucket, Key: key }));

        // Assess
        const ownerGrants = (acl.Grants ?? []).filter((grant) => grant.Grantee?.ID === acl.Owner?.ID);
        expect(
          ownerGrants.map((grant) => grant.Permission),
          key,
        ).to.include('FULL_CONTROL');
      }
    });

    it('encrypts the archive and latest- objects with the configured KMS key', async () => {
      // Prepare
      const kmsKeyArn = await createEmulatorKmsKey();
      const deployment = await givenDeployment({ configuration: [tableItem('a', 'b')], scheduler: [] }, { kmsKeyArn });

      // Act
      await publishLatestBackups(s3, deployment, await backupBoth(deployment, FIRST_RUN));

      // Assess
      for (const key of [archiveKey(deployment, 'configuration', FIRST_RUN), latestKey(deployment, 'configuration')]) {
        const head = await headObject(s3, deployment.destination!.bucket, key);
        expect(head.ServerSideEncryption, key).to.equal('aws:kms');
        expect(head.SSEKMSKeyId, key).to.equal(kmsKeyArn);
      }
    });

    it("leaves latest- of a failed backup as it was, and publishes the other table's", async () => {
      // Prepare: a first execution publishes both tables; then the Scheduler table disappears
      const deployment = await givenDeployment({ configuration: [tableItem('a', 'first')], scheduler: [] });
      await publishLatestBackups(s3, deployment, await backupBoth(deployment, FIRST_RUN));
      const schedulerLatest = await headObject(s3, deployment.destination!.bucket, latestKey(deployment, 'scheduler'));
      await dynamodb.send(
        new PutItemCommand({ TableName: deployment.tables.configuration, Item: tableItem('a', 'second') }),
      );
      await dynamodb.send(new DeleteTableCommand({ TableName: deployment.tables.scheduler }));
      const configuration = await backupTable({ dynamodb, s3 }, deployment, {
        table: 'configuration',
        executionStartTime: SECOND_RUN,
      });
      const failure = await rejection(
        backupTable({ dynamodb, s3 }, deployment, { table: 'scheduler', executionStartTime: SECOND_RUN }),
      );
      const parts = [configuration, caughtBackup('scheduler', failure)] as BackupPartResult[];

      // Act
      const published = await publishLatestBackups(s3, deployment, parts);

      // Assess
      expect(published).to.deep.equal({
        part: 'archive',
        status: 'ok',
        keys: [latestKey(deployment, 'configuration')],
        records: 1,
      });
      const schedulerAfter = await headObject(s3, deployment.destination!.bucket, latestKey(deployment, 'scheduler'));
      expect(schedulerAfter.ETag).to.equal(schedulerLatest.ETag);
      expect(schedulerAfter.LastModified).to.deep.equal(schedulerLatest.LastModified);
      expect((await read(deployment, latestKey(deployment, 'configuration'))).toString()).to.equal(
        `${provenance(deployment, 'configuration')}a: second\n`,
      );
    });

    it('skips publishing when no backup succeeded, writing nothing', async () => {
      // Prepare
      const deployment = await givenDeployment({ configuration: null, scheduler: null });
      const failure = new Error('boom');
      const parts = BACKUP_TABLES.map((table) => caughtBackup(table, failure)) as BackupPartResult[];

      // Act
      const published = await publishLatestBackups(s3, deployment, parts);
      const none = await publishLatestBackups(s3, deployment, []);

      // Assess
      expect(published).to.deep.equal({
        part: 'archive',
        status: 'skipped',
        reason: 'no backup succeeded in this execution',
      });
      expect(none).to.deep.equal(published);
      expect(await listKeys(s3, deployment.destination!.bucket)).to.deep.equal([]);
    });

    describe('latest- never goes back in time, whatever order overlapping executions publish in', () => {
      /**
       * A client of its own for one execution's archive step, whose first write to `key` waits until
       * `release` settles: by then it has read what latest- holds, and the other execution runs.
       */
      function holdingBeforeWrite(key: string, release: Promise<unknown>) {
        const client = new S3Client(s3ClientSettings());
        let reached!: () => void;
        const waiting = new Promise<void>((resolve) => (reached = resolve));
        let held = false;
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const writes = ['PutObjectCommand', 'CopyObjectCommand'].includes(context.commandName ?? '');
            if (!held && writes && (args.input as { Key?: string }).Key === key) {
              held = true;
              reached();
              await release;
            }
            return next(args);
          },
          { step: 'initialize', name: 'holdBeforeWrite' },
        );
        return { client, waiting };
      }

      /** The older and the newer execution's backups of the Configuration table, of different contents. */
      async function olderAndNewer(): Promise<{
        deployment: Deployment;
        older: BackupPartResult;
        newer: BackupPartResult;
      }> {
        const deployment = await givenDeployment({ configuration: [tableItem('a', 'older')], scheduler: [] });
        const request = { table: 'configuration', executionStartTime: FIRST_RUN } as const;
        const older = await backupTable({ dynamodb, s3 }, deployment, request);
        await dynamodb.send(
          new PutItemCommand({ TableName: deployment.tables.configuration, Item: tableItem('a', 'newer') }),
        );
        const newer = await backupTable({ dynamodb, s3 }, deployment, { ...request, executionStartTime: SECOND_RUN });
        return { deployment, older, newer };
      }

      it('the older one read latest- before the newer one replaced it: the older one leaves it alone', async () => {
        // Prepare
        const { deployment, older, newer } = await olderAndNewer();
        let newerPublished!: () => void;
        const release = new Promise<void>((resolve) => (newerPublished = resolve));
        const held = holdingBeforeWrite(older.latestKey!, release);

        // Act
        const olderRun = publishLatestBackups(held.client, deployment, [older]);
        await held.waiting;
        const newerResult = await publishLatestBackups(s3, deployment, [newer]);
        newerPublished();
        const olderResult = await olderRun;

        // Assess
        expect((await read(deployment, older.latestKey!)).toString()).to.equal(
          `${provenance(deployment, 'configuration')}a: newer\n`,
        );
        expect(newerResult).to.deep.equal({ part: 'archive', status: 'ok', keys: [newer.latestKey], records: 1 });
        expect(olderResult).to.deep.equal({
          part: 'archive',
          status: 'ok',
          keys: [],
          records: 0,
          reason: `configuration: latest- already holds the newer archive ${archiveStamp(SECOND_RUN)}`,
        });
      });

      it('the newer one read latest- before the older one replaced it: the newer one reads again and wins', async () => {
        // Prepare
        const { deployment, older, newer } = await olderAndNewer();
        let olderPublished!: () => void;
        const release = new Promise<void>((resolve) => (olderPublished = resolve));
        const held = holdingBeforeWrite(newer.latestKey!, release);

        // Act
        const newerRun = publishLatestBackups(held.client, deployment, [newer]);
        await held.waiting;
        const olderResult = await publishLatestBackups(s3, deployment, [older]);
        olderPublished();
        const newerResult = await newerRun;

        // Assess
        expect((await read(deployment, newer.latestKey!)).toString()).to.equal(
          `${provenance(deployment, 'configuration')}a: newer\n`,
        );
        for (const result of [olderResult, newerResult]) {
          expect(result).to.deep.equal({ part: 'archive', status: 'ok', keys: [newer.latestKey], records: 1 });
        }
      });

      it('an execution publishing after a newer one leaves latest- alone', async () => {
        // Prepare
        const { deployment, older, newer } = await olderAndNewer();
        await publishLatestBackups(s3, deployment, [newer]);
        const before = await headObject(s3, deployment.destination!.bucket, newer.latestKey!);

        // Act
        const result = await publishLatestBackups(s3, deployment, [older]);

        // Assess
        expect(result.reason).to.equal(
          `configuration: latest- already holds the newer archive ${archiveStamp(SECOND_RUN)}`,
        );
        const after = await headObject(s3, deployment.destination!.bucket, newer.latestKey!);
        expect(after.ETag).to.equal(before.ETag);
        expect((await read(deployment, newer.latestKey!)).toString()).to.equal(
          `${provenance(deployment, 'configuration')}a: newer\n`,
        );
      });

      it('a retried archive step finds latest- holding its own archive and reports it published', async () => {
        // Prepare
        const { deployment, newer } = await olderAndNewer();
        await publishLatestBackups(s3, deployment, [newer]);

        // Act
        const retried = await publishLatestBackups(s3, deployment, [newer]);

        // Assess
        expect(retried).to.deep.equal({ part: 'archive', status: 'ok', keys: [newer.latestKey], records: 1 });
      });

      it('replaces a latest- that records no archive stamp (an earlier version, or CloneSquad, wrote it)', async () => {
        // Prepare
        const { deployment, older } = await olderAndNewer();
        const bucket = deployment.destination!.bucket;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: older.latestKey, Body: 'a: unstamped\n' }));

        // Act
        const result = await publishLatestBackups(s3, deployment, [older]);

        // Assess
        expect(result.keys).to.deep.equal([older.latestKey]);
        expect((await read(deployment, older.latestKey!)).toString()).to.equal(
          `${provenance(deployment, 'configuration')}a: older\n`,
        );
        const head = await headObject(s3, bucket, older.latestKey!);
        expect(head.Metadata).to.deep.equal({
          [LATEST_ARCHIVE_STAMP_METADATA]: archiveStamp(FIRST_RUN),
          [CONTENT_SHA256_METADATA]: older.sha256,
        });
      });
    });
  });

  describe('an archive only when the table changed since the archive latest- holds', () => {
    let dynamodb: DynamoDBClient;
    let s3: S3Client;
    const THIRD_RUN = '2024-06-01T12:00:00.789Z';

    before(() => {
      ({ dynamodb, s3 } = emulatorClients());
    });

    async function configurationDeployment(value: string): Promise<Deployment> {
      const bucket = await createBucket(s3);
      const deployment = testDeployment({ bucket });
      await createTable(dynamodb, [tableItem('a', value)], deployment.tables.configuration);
      return deployment;
    }

    async function setValue(deployment: Deployment, value: string): Promise<void> {
      await dynamodb.send(
        new PutItemCommand({ TableName: deployment.tables.configuration, Item: tableItem('a', value) }),
      );
    }

    function backup(deployment: Deployment, executionStartTime: string): Promise<BackupPartResult> {
      return backupTable({ dynamodb, s3 }, deployment, { table: 'configuration', executionStartTime });
    }

    async function backupAndPublish(deployment: Deployment, executionStartTime: string) {
      const result = await backup(deployment, executionStartTime);
      return { result, published: await publishLatestBackups(s3, deployment, [result]) };
    }

    const archivesOf = async (deployment: Deployment) =>
      (await listKeys(s3, deployment.destination!.bucket)).filter((key) => key.includes('/archive/'));

    it('tags archives for the retention rule, and never latest-', async () => {
      // Prepare
      const deployment = await configurationDeployment('first');
      const bucket = deployment.destination!.bucket;

      // Act
      const { result } = await backupAndPublish(deployment, FIRST_RUN);

      // Assess
      const tags = async (key: string) =>
        (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet;
      expect(await tags(result.archive!.key)).to.deep.equal([{ Key: ARCHIVE_TAG.key, Value: ARCHIVE_TAG.value }]);
      expect(await tags(result.latestKey!)).to.deep.equal([]);
    });

    it('records the SHA-256 of the content on the archive and on latest-', async () => {
      // Prepare
      const deployment = await configurationDeployment('first');
      const bucket = deployment.destination!.bucket;

      // Act
      const { result } = await backupAndPublish(deployment, FIRST_RUN);

      // Assess
      const content = await read(deployment, result.archive!.key);
      expect((await headObject(s3, bucket, result.archive!.key)).Metadata).to.deep.equal({
        [CONTENT_SHA256_METADATA]: sha256(content),
      });
      expect((await headObject(s3, bucket, result.latestKey!)).Metadata).to.deep.equal({
        [LATEST_ARCHIVE_STAMP_METADATA]: archiveStamp(FIRST_RUN),
        [CONTENT_SHA256_METADATA]: sha256(content),
      });
    });

    it('writes nothing for an unchanged table and says since when; latest- is left as it was', async () => {
      // Prepare
      const deployment = await configurationDeployment('same');
      const first = await backupAndPublish(deployment, FIRST_RUN);
      const latestBefore = await headObject(s3, deployment.destination!.bucket, first.result.latestKey!);

      // Act
      const { result, published } = await backupAndPublish(deployment, SECOND_RUN);

      // Assess
      expect(result).to.deep.equal({
        part: 'backup/configuration',
        status: 'ok',
        table: 'configuration',
        keys: [],
        records: 1,
        bytes: first.result.bytes,
        sha256: first.result.sha256,
        reason: `unchanged since ${archiveStamp(FIRST_RUN)}`,
      });
      expect(published).to.deep.equal({
        part: 'archive',
        status: 'ok',
        keys: [],
        records: 0,
        reason: `configuration: unchanged since ${archiveStamp(FIRST_RUN)}`,
      });
      expect(await archivesOf(deployment)).to.deep.equal([archiveKey(deployment, 'configuration', FIRST_RUN)]);
      const latestAfter = await headObject(s3, deployment.destination!.bucket, first.result.latestKey!);
      expect(latestAfter.ETag).to.equal(latestBefore.ETag);
      expect(latestAfter.LastModified).to.deep.equal(latestBefore.LastModified);
    });

    it('archives a content equal to an older archive but not to the one latest- holds (a change back)', async () => {
      // Prepare
      const deployment = await configurationDeployment('x');
      await backupAndPublish(deployment, FIRST_RUN);
      await setValue(deployment, 'y');
      await backupAndPublish(deployment, SECOND_RUN);
      await setValue(deployment, 'x');

      // Act
      const { result } = await backupAndPublish(deployment, THIRD_RUN);

      // Assess
      expect(result.keys).to.deep.equal([archiveKey(deployment, 'configuration', THIRD_RUN)]);
      expect(await archivesOf(deployment)).to.deep.equal(
        [FIRST_RUN, SECOND_RUN, THIRD_RUN].map((run) => archiveKey(deployment, 'configuration', run)),
      );
      expect((await read(deployment, result.latestKey!)).toString()).to.equal(
        `${provenance(deployment, 'configuration')}a: x\n`,
      );
    });

    it('two overlapping executions of equal content both archive, and latest- ends at the newer', async () => {
      // Prepare: both back up before either publishes, so neither sees the other's archive
      const deployment = await configurationDeployment('same');
      const older = await backup(deployment, FIRST_RUN);
      const newer = await backup(deployment, SECOND_RUN);

      // Act
      await publishLatestBackups(s3, deployment, [newer]);
      const olderPublished = await publishLatestBackups(s3, deployment, [older]);
      const next = await backup(deployment, THIRD_RUN);

      // Assess
      expect(olderPublished.reason).to.equal(
        `configuration: latest- already holds the newer archive ${archiveStamp(SECOND_RUN)}`,
      );
      expect(await archivesOf(deployment)).to.deep.equal([older.archive!.key, newer.archive!.key]);
      expect(next.reason).to.equal(`unchanged since ${archiveStamp(SECOND_RUN)}`);
      expect(next.keys).to.deep.equal([]);
    });

    it('an older execution whose content equals the newer archive latest- holds writes nothing', async () => {
      // Prepare
      const deployment = await configurationDeployment('same');
      await backupAndPublish(deployment, SECOND_RUN);
      const latestBefore = await headObject(s3, deployment.destination!.bucket, latestKey(deployment, 'configuration'));

      // Act
      const { result } = await backupAndPublish(deployment, FIRST_RUN);

      // Assess
      expect(result.reason).to.equal(`unchanged since ${archiveStamp(SECOND_RUN)}`);
      expect(await archivesOf(deployment)).to.deep.equal([archiveKey(deployment, 'configuration', SECOND_RUN)]);
      const latestAfter = await headObject(s3, deployment.destination!.bucket, latestKey(deployment, 'configuration'));
      expect(latestAfter.ETag).to.equal(latestBefore.ETag);
      expect(latestAfter.Metadata![LATEST_ARCHIVE_STAMP_METADATA]).to.equal(archiveStamp(SECOND_RUN));
    });

    it('an older execution whose content differs from the newer archive latest- holds archives it', async () => {
      // Prepare
      const deployment = await configurationDeployment('newer');
      await backupAndPublish(deployment, SECOND_RUN);
      await setValue(deployment, 'older');

      // Act
      const { result, published } = await backupAndPublish(deployment, FIRST_RUN);

      // Assess
      expect(result.keys).to.deep.equal([archiveKey(deployment, 'configuration', FIRST_RUN)]);
      expect(published.reason).to.equal(
        `configuration: latest- already holds the newer archive ${archiveStamp(SECOND_RUN)}`,
      );
      expect((await read(deployment, result.latestKey!)).toString()).to.equal(
        `${provenance(deployment, 'configuration')}a: newer\n`,
      );
    });

    it('an unchanged run overtaken by an older execution publishing a change: latest- stays at that archive, the next run archives', async () => {
      // Prepare: latest- holds x; an execution archives y but has not published yet; the table is x again
      const deployment = await configurationDeployment('x');
      await backupAndPublish(deployment, FIRST_RUN);
      await setValue(deployment, 'y');
      const overtaking = await backup(deployment, SECOND_RUN);
      await setValue(deployment, 'x');
      const unchanged = await backup(deployment, THIRD_RUN);

      // Act
      await publishLatestBackups(s3, deployment, [overtaking]);
      const published = await publishLatestBackups(s3, deployment, [unchanged]);
      const latestBetween = (
        await read(deployment, unchanged.latestKey ?? latestKey(deployment, 'configuration'))
      ).toString();
      const next = await backupAndPublish(deployment, '2024-06-01T13:00:00.000Z');

      // Assess: never moved back, nothing lost (x is in the first archive), and the change is archived next
      expect(unchanged.reason).to.equal(`unchanged since ${archiveStamp(FIRST_RUN)}`);
      expect(published).to.deep.include({ status: 'ok', keys: [] });
      // `y` is a YAML 1.1 boolean: the backup quotes it.
      expect(latestBetween).to.equal(`${provenance(deployment, 'configuration')}a: "y"\n`);
      expect(next.result.keys).to.deep.equal([archiveKey(deployment, 'configuration', '2024-06-01T13:00:00.000Z')]);
      expect((await read(deployment, next.result.latestKey!)).toString()).to.equal(
        `${provenance(deployment, 'configuration')}a: x\n`,
      );
    });

    it('archives as before over a latest- that records no content hash (an earlier version, or CloneSquad)', async () => {
      // Prepare: latest- holds the very bytes the backup will write, with only the stamp recorded
      const deployment = await configurationDeployment('same');
      const first = await backup(deployment, FIRST_RUN);
      const bucket = deployment.destination!.bucket;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: first.latestKey,
          Body: await read(deployment, first.archive!.key),
          Metadata: { [LATEST_ARCHIVE_STAMP_METADATA]: archiveStamp(FIRST_RUN) },
        }),
      );

      // Act
      const { result, published } = await backupAndPublish(deployment, SECOND_RUN);

      // Assess
      expect(result.keys).to.deep.equal([archiveKey(deployment, 'configuration', SECOND_RUN)]);
      expect(published.keys).to.deep.equal([first.latestKey]);
      expect((await headObject(s3, bucket, first.latestKey!)).Metadata).to.deep.equal({
        [LATEST_ARCHIVE_STAMP_METADATA]: archiveStamp(SECOND_RUN),
        [CONTENT_SHA256_METADATA]: first.sha256,
      });
    });

    it('a retried backup of an execution whose archive latest- already holds answers that archive', async () => {
      // Prepare
      const deployment = await configurationDeployment('same');
      const first = await backupAndPublish(deployment, FIRST_RUN);

      // Act
      const retried = await backup(deployment, FIRST_RUN);

      // Assess
      expect(retried.keys).to.deep.equal(first.result.keys);
      expect(retried.archive).to.deep.equal(first.result.archive);
    });

    async function read(deployment: Deployment, key: string): Promise<Buffer> {
      return readObject(s3, deployment.destination!.bucket, key);
    }
  });

  describe('with mocked clients (the request details the emulator does not enforce)', () => {
    let s3Mock: AwsClientStub<S3Client>;
    let dynamodbMock: AwsClientStub<DynamoDBClient>;
    const clients = {
      dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
      s3: new S3Client({ region: 'eu-west-1' }),
    };
    const kmsKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    // Mocking a class patches every instance: restore it so the emulator suites get real clients.
    before(() => {
      s3Mock = mockClient(S3Client);
      dynamodbMock = mockClient(DynamoDBClient);
    });
    beforeEach(() => {
      s3Mock.reset();
      dynamodbMock.reset();
    });
    after(() => {
      s3Mock.restore();
      dynamodbMock.restore();
    });

    function sealedBackup(deployment: Deployment, table: BackupTable, etag: string): BackupPartResult {
      const key = archiveKey(deployment, table, FIRST_RUN);
      return {
        part: backupPartName(table),
        status: 'ok',
        table,
        keys: [key],
        archive: { key, etag, stamp: archiveStamp(FIRST_RUN) },
        latestKey: latestKey(deployment, table),
      };
    }

    it("writes the archive once (If-None-Match), owner full control, SSE-KMS, and the body's SHA-256", async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket', kmsKeyArn });
      dynamodbMock.on(ScanCommand).resolves({ Items: [tableItem('a', 'b')] });
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-1"' });

      // Act
      const result = await backupTable(clients, deployment, { table: 'configuration', executionStartTime: FIRST_RUN });

      // Assess
      const [call] = s3Mock.commandCalls(PutObjectCommand);
      const input: PutObjectCommandInput = call.args[0].input;
      const body = input.Body as Uint8Array;
      expect(Buffer.from(body).toString()).to.equal(`${provenance(deployment, 'configuration')}a: b\n`);
      expect(input).to.deep.include({
        Bucket: 'org-bucket',
        Key: archiveKey(deployment, 'configuration', FIRST_RUN),
        IfNoneMatch: '*',
        ACL: 'bucket-owner-full-control',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: kmsKeyArn,
        ChecksumSHA256: sha256(body, 'base64'),
        Metadata: { [CONTENT_SHA256_METADATA]: sha256(body) },
        Tagging: `${ARCHIVE_TAG.key}=${ARCHIVE_TAG.value}`,
      });
      expect(result).to.include({ sha256: sha256(body), bytes: body.byteLength });
      expect(result.archive).to.deep.equal({ key: input.Key, etag: '"etag-1"', stamp: archiveStamp(FIRST_RUN) });
    });

    it('archives when latest- cannot be read to tell whether the table changed', async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket' });
      dynamodbMock.on(ScanCommand).resolves({ Items: [tableItem('a', 'b')] });
      s3Mock.on(HeadObjectCommand).rejects(s3Error('InternalError', 500, 'We encountered an internal error'));
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-1"' });

      // Act
      const result = await backupTable(clients, deployment, { table: 'configuration', executionStartTime: FIRST_RUN });

      // Assess
      expect(result.status).to.equal('ok');
      expect(result.keys).to.deep.equal([archiveKey(deployment, 'configuration', FIRST_RUN)]);
      expect(s3Mock.commandCalls(PutObjectCommand)[0].args[0].input.Key).to.equal(result.keys![0]);
    });

    it('sends no encryption settings without KmsKeyArn, so the bucket default applies', async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket' });
      dynamodbMock.on(ScanCommand).resolves({ Items: [] });
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-1"' });
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      s3Mock.on(GetObjectCommand).resolves(archiveBody('{}\n'));

      // Act
      const result = await backupTable(clients, deployment, { table: 'scheduler', executionStartTime: FIRST_RUN });
      await publishLatestBackups(clients.s3, deployment, [result]);

      // Assess
      const [archive, latest] = s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
      expect(latest.Key).to.equal(result.latestKey);
      for (const input of [archive, latest]) {
        expect(input).to.include({ ACL: 'bucket-owner-full-control' });
        expect(input).not.to.have.any.keys('ServerSideEncryption', 'SSEKMSKeyId');
      }
    });

    it("publishes the archive's bytes, read at its ETag, over the latest- just read, with the same protections", async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket', kmsKeyArn });
      const backup = sealedBackup(deployment, 'configuration', '"etag-1"');
      s3Mock.on(HeadObjectCommand).resolves({ ETag: '"latest-etag"', Metadata: {} });
      s3Mock.on(GetObjectCommand).resolves(archiveBody('a: b\n'));
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-2"' });

      // Act
      const published = await publishLatestBackups(clients.s3, deployment, [backup]);

      // Assess
      expect(s3Mock.commandCalls(HeadObjectCommand)[0].args[0].input).to.deep.equal({
        Bucket: 'org-bucket',
        Key: backup.latestKey,
      });
      expect(s3Mock.commandCalls(GetObjectCommand)[0].args[0].input).to.deep.equal({
        Bucket: 'org-bucket',
        Key: backup.archive!.key,
        IfMatch: '"etag-1"',
      });
      const input: PutObjectCommandInput = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input;
      expect(input).to.deep.include({
        Bucket: 'org-bucket',
        Key: latestKey(deployment, 'configuration'),
        IfMatch: '"latest-etag"',
        Metadata: {
          [LATEST_ARCHIVE_STAMP_METADATA]: archiveStamp(FIRST_RUN),
          [CONTENT_SHA256_METADATA]: sha256(Buffer.from('a: b\n')),
        },
        ContentType: 'application/yaml; charset=utf-8',
        ACL: 'bucket-owner-full-control',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: kmsKeyArn,
        ChecksumSHA256: sha256(Buffer.from('a: b\n'), 'base64'),
      });
      expect(input).not.to.have.any.keys('IfNoneMatch');
      expect(Buffer.from(input.Body as Uint8Array).toString()).to.equal('a: b\n');
      expect(published).to.deep.equal({ part: 'archive', status: 'ok', keys: [backup.latestKey], records: 1 });
    });

    it('creates a missing latest- only where there is still none (If-None-Match)', async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket' });
      const backup = sealedBackup(deployment, 'scheduler', '"etag-1"');
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      s3Mock.on(GetObjectCommand).resolves(archiveBody('{}\n'));
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-2"' });

      // Act
      const published = await publishLatestBackups(clients.s3, deployment, [backup]);

      // Assess
      const input: PutObjectCommandInput = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input;
      expect(input).to.deep.include({ Key: backup.latestKey, IfNoneMatch: '*' });
      expect(input).not.to.have.any.keys('IfMatch');
      expect(published.keys).to.deep.equal([backup.latestKey]);
    });

    it('reads latest- again each time another execution moved it first, and gives up after 5 attempts', async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket' });
      const backup = sealedBackup(deployment, 'configuration', '"etag-1"');
      let heads = 0;
      s3Mock.on(HeadObjectCommand).callsFake(async () => ({ ETag: `"moved-${(heads += 1)}"`, Metadata: {} }));
      s3Mock.on(GetObjectCommand).resolves(archiveBody('a: b\n'));
      s3Mock.on(PutObjectCommand).rejects(preconditionFailed());

      // Act
      const published = await publishLatestBackups(clients.s3, deployment, [backup]);

      // Assess
      expect(s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input.IfMatch)).to.deep.equal([
        '"moved-1"',
        '"moved-2"',
        '"moved-3"',
        '"moved-4"',
        '"moved-5"',
      ]);
      expect(s3Mock.commandCalls(GetObjectCommand), 'the archive is read once').to.have.length(1);
      expect(published).to.deep.equal({
        part: 'archive',
        status: 'failed',
        keys: [],
        error: {
          name: 'PublishLatestFailed',
          message:
            `${backup.latestKey}: other executions moved it 5 times while this one tried; ` +
            'it was left holding their archive',
        },
      });
    });

    it('writes latest- where a refused HEAD hid that there was none, and fails where it hid one', async () => {
      // Prepare: without s3:ListBucket, S3 answers a HEAD of a missing key 403, not 404
      const deployment = testDeployment({ bucket: 'org-bucket' });
      const [absent, present] = BACKUP_TABLES.map((table) => sealedBackup(deployment, table, `"${table}"`));
      s3Mock.on(HeadObjectCommand).rejects(forbidden());
      s3Mock.on(GetObjectCommand).resolves(archiveBody('a: b\n'));
      s3Mock
        .on(PutObjectCommand, { Key: absent.latestKey })
        .resolves({ ETag: '"etag-2"' })
        .on(PutObjectCommand, { Key: present.latestKey })
        .rejects(preconditionFailed());

      // Act
      const published = await publishLatestBackups(clients.s3, deployment, [absent, present]);

      // Assess
      for (const call of s3Mock.commandCalls(PutObjectCommand)) expect(call.args[0].input.IfNoneMatch).to.equal('*');
      expect(published).to.deep.include({ status: 'failed', keys: [absent.latestKey] });
      expect(published.error?.message).to.equal(
        `${present.latestKey}: s3://org-bucket/${present.latestKey}: access denied (Forbidden). Fix: check the ` +
          "bucket policy admits this account's role under its own accountid= prefix, and the KMS key policy when " +
          'KmsKeyArn is set',
      );
    });

    it('fails the archive step for an archive changed since its backup, and still publishes the other', async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket' });
      const changed = sealedBackup(deployment, 'configuration', '"stale"');
      const intact = sealedBackup(deployment, 'scheduler', '"etag-2"');
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      s3Mock
        .on(GetObjectCommand, { IfMatch: '"stale"' })
        .rejects(preconditionFailed())
        .on(GetObjectCommand, { IfMatch: '"etag-2"' })
        .resolves(archiveBody('{}\n'));
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-3"' });

      // Act
      const published = await publishLatestBackups(clients.s3, deployment, [changed, intact]);

      // Assess
      expect(published).to.deep.equal({
        part: 'archive',
        status: 'failed',
        keys: [intact.latestKey],
        error: {
          name: 'PublishLatestFailed',
          message: `${changed.latestKey}: s3://org-bucket/${changed.archive!.key} changed meanwhile (its ETag is no longer "stale")`,
        },
      });
      expect(s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key)).to.deep.equal([
        intact.latestKey,
      ]);
    });

    it('carries only a few malformed-row warnings in the result, so it stays small', async () => {
      // Prepare
      const deployment = testDeployment({ bucket: 'org-bucket' });
      const malformed = Array.from({ length: 2000 }, (_, index) => ({
        Key: { S: `number-${index}`.padEnd(200, '.') },
        Value: { N: String(index) },
      }));
      dynamodbMock.on(ScanCommand).resolves({ Items: [...malformed, tableItem('a', 'b')] });
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-1"' });

      // Act
      const result = await backupTable(clients, deployment, { table: 'configuration', executionStartTime: FIRST_RUN });

      // Assess
      expect(result.records).to.equal(1);
      expect(result.warnings!.length).to.be.within(1, 11);
      expect(result.warnings!.at(-1)).to.match(/1990 more/);
      expect(JSON.stringify(result).length).to.be.lessThan(8192);
    });
  });
});
