import { expect } from 'chai';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandInput,
} from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { writeItems } from '#local/seed';
import { formatListing } from '#cli/backups';
import { run } from '#cli/main';
import { clientSettings } from '#shared/aws/clients';
import { backupTable, publishLatestBackups, type BackupPartResult } from '#shared/backup/backup';
import { listBackups, matchingArchive, nearestArchives, type ArchiveObject } from '#shared/backup/backup-catalog';
import type { Deployment } from '#shared/run/deployment';
import {
  archiveBackupKey,
  archiveStamp,
  backupFolder,
  latestBackupKey,
  parseArchiveStamp,
  type BackupTable,
} from '#shared/aws/s3-layout';
import { createBucket, emulatorClients } from '#test/support/aws';
import {
  createEmulatorKmsKey,
  createTable,
  headObject,
  tableItem,
  testDeployment,
} from '#test/support/backup-fixtures';

const T1 = '2024-06-01T10:00:00.123Z';
const T2 = '2024-06-01T11:00:00.456Z';
const T3 = '2024-06-02T09:30:00.000Z';

function archive(stamp: string, bytes = 10): ArchiveObject {
  return { table: 'configuration', key: stamp, stamp, time: parseArchiveStamp(stamp)!, bytes, etag: '' };
}

describe('backups list', () => {
  describe('nearestArchives and formatListing', () => {
    it('nearestArchives answers the closest in time first', () => {
      const archives = ['20240101T000000000Z', '20240105T000000000Z', '20240110T000000000Z'].map((s) => archive(s));

      const nearest = nearestArchives(archives, new Date('2024-01-06T00:00:00Z'), 2);

      expect(nearest.map((a) => a.stamp)).to.deep.equal(['20240105T000000000Z', '20240110T000000000Z']);
    });

    it('formatListing shows latest- with the archive it holds, then the archives with their times and sizes', () => {
      const lines = formatListing([
        {
          table: 'configuration',
          latest: {
            table: 'configuration',
            key: 'l',
            bytes: 1234,
            etag: '',
            lastModified: new Date('2024-06-01T11:00:05Z'),
            matchesArchive: '20240601T110000456Z',
          },
          archives: [archive('20240601T110000456Z', 1234), archive('20240601T100000123Z', 99)],
        },
        { table: 'scheduler', archives: [] },
      ]);

      expect(lines).to.deep.equal([
        'configuration:',
        '           STAMP                TIME (UTC)               BYTES  NOTE',
        '  latest-                       2024-06-01 11:00:05.000   1234  same content as 20240601T110000456Z',
        '  archive  20240601T110000456Z  2024-06-01 11:00:00.456   1234  = latest-',
        '  archive  20240601T100000123Z  2024-06-01 10:00:00.123     99',
        '  (2 archives)',
        'scheduler:',
        '  no backups',
      ]);
    });
  });

  describe('listBackups with a mocked S3', () => {
    let s3Mock: AwsClientStub<S3Client>;
    before(() => {
      s3Mock = mockClient(S3Client);
    });
    beforeEach(() => s3Mock.reset());
    after(() => s3Mock.restore());

    it('reads every page of the listing', async () => {
      // Prepare
      const root = { bucket: 'b', prefix: 'p' };
      const id = { accountId: '123456789012', region: 'eu-west-1', groupName: 'web' };
      const key = (stamp: string) => archiveBackupKey(root, id, 'configuration', stamp);
      s3Mock
        .on(ListObjectsV2Command)
        .resolvesOnce({
          Contents: [{ Key: key('20240101T000000000Z'), Size: 1, ETag: '"a"' }],
          IsTruncated: true,
          NextContinuationToken: 'next',
        })
        .resolvesOnce({ Contents: [{ Key: key('20240102T000000000Z'), Size: 2, ETag: '"b"' }], IsTruncated: false });

      // Act
      const [listing] = await listBackups(new S3Client({ region: 'eu-west-1' }), root, id, ['configuration']);

      // Assess
      const calls = s3Mock
        .commandCalls(ListObjectsV2Command)
        .map((call) => call.args[0].input as ListObjectsV2CommandInput);
      expect(calls).to.have.length(2);
      expect(calls[0]).to.include({ Bucket: 'b', Prefix: `${backupFolder(root, id)}/` });
      expect(calls[1].ContinuationToken).to.equal('next');
      expect(listing.archives.map((a) => [a.stamp, a.bytes])).to.deep.equal([
        ['20240102T000000000Z', 2],
        ['20240101T000000000Z', 1],
      ]);
    });
    it('matches latest- to an archive by content when no ETag matches (SSE-KMS), newest candidate first', async () => {
      // Prepare
      const bodies: Record<string, string> = { latest: 'same', new: 'diff', mid: 'same', old: 'same', big: 'same!' };
      s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => ({
        Body: { transformToByteArray: async () => Buffer.from(bodies[input.Key]) },
      }));
      const candidate = (key: string, stamp: string, bytes = 4) => ({
        ...archive(stamp, bytes),
        key,
        etag: `"${key}"`,
      });
      const latest = { table: 'configuration' as const, key: 'latest', bytes: 4, etag: '"latest"' };

      // Act
      const stamp = await matchingArchive(new S3Client({ region: 'eu-west-1' }), 'b', latest, [
        candidate('big', '20240104T000000000Z', 5),
        candidate('new', '20240103T000000000Z'),
        candidate('mid', '20240102T000000000Z'),
        candidate('old', '20240101T000000000Z'),
      ]);

      // Assess
      expect(stamp).to.equal('20240102T000000000Z');
      const read = s3Mock.commandCalls(GetObjectCommand).map((call) => call.args[0].input.Key);
      expect(read).to.deep.equal(['latest', 'new', 'mid']);
    });
  });

  describe('against the emulator', () => {
    let dynamodb: DynamoDBClient;
    let s3: S3Client;
    let sts: STSClient;

    before(() => {
      ({ dynamodb, s3 } = emulatorClients());
      sts = new STSClient(clientSettings());
    });

    async function givenDeployment(options: { kmsKeyArn?: string } = {}): Promise<Deployment> {
      const deployment = testDeployment({ bucket: await createBucket(s3), ...options });
      await createTable(dynamodb, [tableItem('a', '1')], deployment.tables.configuration);
      await createTable(dynamodb, [tableItem('s', 'cron(0 20 * * ? *)')], deployment.tables.scheduler);
      return deployment;
    }

    async function backup(deployment: Deployment, table: BackupTable, at: string): Promise<BackupPartResult> {
      const result = await backupTable({ dynamodb, s3 }, deployment, { table, executionStartTime: at });
      expect(result.status).to.equal('ok');
      return result;
    }

    async function setRow(deployment: Deployment, key: string, value: string): Promise<void> {
      await writeItems(dynamodb, deployment.tables.configuration, [{ PutRequest: { Item: tableItem(key, value) } }]);
    }

    /** `backups ARGS` in-process: its exit code, and its stdout and stderr lines. */
    async function backups(args: string[], env: Record<string, string>) {
      const [stdout, stderr]: string[][] = [[], []];
      const code = await run(['backups', ...args], {
        print: (line) => stdout.push(line),
        stderr: (line) => stderr.push(line),
        env,
        clients: { dynamodb, s3, sts },
      });
      return { code, stdout, stderr };
    }

    const envOf = (deployment: Deployment) => ({
      AWS_REGION: 'eu-west-1',
      METADATA_AND_BACKUP_S3_PATH: `s3://${deployment.destination!.bucket}/org/clonesquad`,
    });

    async function list(deployment: Deployment, ...args: string[]): Promise<string[]> {
      const { code, stdout, stderr } = await backups(
        ['list', '--group', deployment.groupName, ...args],
        envOf(deployment),
      );
      expect({ code, stderr }).to.deep.equal({ code: 0, stderr: [] });
      return stdout;
    }

    /** Three configuration backups of different contents, latest- published at the second. */
    async function givenHistory(options: { kmsKeyArn?: string } = {}) {
      const deployment = await givenDeployment(options);
      await backup(deployment, 'configuration', T1);
      await setRow(deployment, 'b', '2');
      const second = await backup(deployment, 'configuration', T2);
      expect((await publishLatestBackups(s3, deployment, [second])).status).to.equal('ok');
      await setRow(deployment, 'c', '3');
      await backup(deployment, 'configuration', T3); // archived, but its execution never published it
      return deployment;
    }

    it('lists latest- and the archives newest first, with times, sizes and the archive latest- holds', async () => {
      // Prepare
      const deployment = await givenHistory();
      const root = deployment.destination!;
      const size = async (key: string) => (await headObject(s3, root.bucket, key)).ContentLength;

      // Act
      const [configuration, scheduler] = await listBackups(s3, root, deployment);

      // Assess
      expect(configuration.archives.map((a) => [a.stamp, a.time.toISOString(), a.bytes])).to.deep.equal(
        await Promise.all(
          [T3, T2, T1].map(async (t) => [
            archiveStamp(t),
            t,
            await size(archiveBackupKey(root, deployment, 'configuration', archiveStamp(t))),
          ]),
        ),
      );
      expect(configuration.latest).to.include({
        key: latestBackupKey(root, deployment, 'configuration'),
        matchesArchive: archiveStamp(T2),
      });
      expect(scheduler).to.deep.equal({ table: 'scheduler', archives: [] });
    });

    it('names the archive latest- holds with SSE-KMS too', async () => {
      const deployment = await givenHistory({ kmsKeyArn: await createEmulatorKmsKey() });

      const [configuration] = await listBackups(s3, deployment.destination!, deployment, ['configuration']);

      expect(configuration.latest?.matchesArchive).to.equal(archiveStamp(T2));
    });

    it('names the archive latest- records it was copied from, among archives of the same content', async () => {
      // Prepare: two archives of the same content; latest- is published from the older one after both
      const deployment = await givenDeployment();
      const first = await backup(deployment, 'configuration', T1);
      await backup(deployment, 'configuration', T2);
      expect((await publishLatestBackups(s3, deployment, [first])).keys).to.deep.equal([first.latestKey]);

      // Act
      const [configuration] = await listBackups(s3, deployment.destination!, deployment, ['configuration']);

      // Assess
      expect(configuration.archives.map((archive) => archive.etag)).to.deep.equal([
        first.archive!.etag,
        first.archive!.etag,
      ]);
      expect(configuration.latest?.matchesArchive).to.equal(archiveStamp(T1));
    });

    it('says when latest- matches no archive, and ignores other objects of the folder and other groups', async () => {
      // Prepare
      const deployment = await givenHistory();
      const root = deployment.destination!;
      const folder = backupFolder(root, deployment);
      const latestKey = latestBackupKey(root, deployment, 'configuration');
      const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket: root.bucket, Key, Body }));
      await put(latestKey, 'a: "hand-edited"\n');
      await put(`${folder}/archive/notes.txt`, 'x');
      await put(`${folder}/archive/not-a-stamp-${deployment.accountId}-eu-west-1-configuration-cs-x.yaml`, 'x');
      const other = { ...deployment, groupName: `${deployment.groupName}-other` };
      await put(archiveBackupKey(root, other, 'configuration', '20990101T000000000Z'), 'x');

      // Act
      const [configuration] = await listBackups(s3, root, deployment, ['configuration']);

      // Assess
      expect(configuration.archives).to.have.length(3);
      expect(configuration.latest?.matchesArchive).to.equal(undefined);
      const body = await s3.send(new GetObjectCommand({ Bucket: root.bucket, Key: latestKey }));
      expect(await body.Body!.transformToString()).to.equal('a: "hand-edited"\n');
    });

    it('backups list prints both tables; --table narrows; --output json gives the same listing', async () => {
      // Prepare
      const deployment = await givenHistory();
      const scheduler = await backup(deployment, 'scheduler', T1);
      await publishLatestBackups(s3, deployment, [scheduler]);

      // Act
      const text = await list(deployment, '--account', deployment.accountId);
      const onlyScheduler = await list(deployment, '--table', 'scheduler');
      const json = JSON.parse((await list(deployment, '--output', 'json')).join('\n'));

      // Assess
      expect(text[0]).to.equal(
        `Backups under s3://${deployment.destination!.bucket}/${backupFolder(deployment.destination!, deployment)}/`,
      );
      expect(text).to.include('configuration:').and.include('scheduler:').and.include('  (3 archives)');
      expect(text.find((line) => line.startsWith('  latest-'))).to.include(`same content as ${archiveStamp(T2)}`);
      expect(text.find((line) => line.includes(archiveStamp(T2)) && line.startsWith('  archive'))).to.match(
        /2024-06-01 11:00:00\.456\s+\d+\s+= latest-$/,
      );
      expect(onlyScheduler.filter((line) => line.endsWith(':'))).to.deep.equal(['scheduler:']);
      expect(json.map((entry: { table: string }) => entry.table)).to.deep.equal(['configuration', 'scheduler']);
      expect(json[0].latest.matchesArchive).to.equal(archiveStamp(T2));
    });

    it('--limit keeps the newest N archives of each table, --since those stamped at or after it', async () => {
      // Prepare: configuration archives at T1, T2, T3 (latest- holds T2); scheduler at T1
      const deployment = await givenHistory();
      await backup(deployment, 'scheduler', T1);
      const archivesOf = (json: string[]) =>
        (JSON.parse(json.join('\n')) as { table: string; archives: { stamp: string }[] }[]).map((entry) => [
          entry.table,
          entry.archives.map((archive) => archive.stamp),
        ]);
      const [s1, s2, s3] = [T1, T2, T3].map(archiveStamp);

      // Act
      const newest = archivesOf(await list(deployment, '--limit', '1', '--output', 'json'));
      const sinceT2 = archivesOf(await list(deployment, '--since', T2, '--output', 'json'));
      const sinceDay = archivesOf(await list(deployment, '--since', '2024-06-02', '--output', 'json'));
      const sinceOffset = archivesOf(
        await list(deployment, '--since', '2024-06-01T13:00:00+02:00', '--output', 'json'),
      );
      const both = archivesOf(await list(deployment, '--since', '2024-06-01', '--limit', '2', '--output', 'json'));
      const text = await list(deployment, '--limit', '1', '--table', 'configuration');

      // Assess
      expect(newest).to.deep.equal([
        ['configuration', [s3]],
        ['scheduler', [s1]],
      ]);
      expect(sinceT2).to.deep.equal([
        ['configuration', [s3, s2]],
        ['scheduler', []],
      ]);
      expect(sinceDay).to.deep.equal([
        ['configuration', [s3]],
        ['scheduler', []],
      ]);
      expect(sinceOffset).to.deep.equal(sinceT2);
      expect(both).to.deep.equal([
        ['configuration', [s3, s2]],
        ['scheduler', [s1]],
      ]);
      // latest- still names the archive it holds, listed or not.
      expect(text.find((line) => line.startsWith('  latest-'))).to.include(`same content as ${s2}`);
      expect(text.filter((line) => line.startsWith('  archive'))).to.have.length(1);
      expect(text.at(-1)).to.equal('  (1 of 3 archives)');
    });

    it('an empty partition lists no backups', async () => {
      const deployment = await givenDeployment();

      expect((await list(deployment)).slice(1)).to.deep.equal([
        'configuration:',
        '  no backups',
        'scheduler:',
        '  no backups',
      ]);
    });

    it('refuses a missing or unknown command, a bad table, output or account, and a missing path, exit 2', async () => {
      const deployment = await givenDeployment();
      const env = envOf(deployment);
      const group = ['--group', deployment.groupName];
      const refusal = (stderr: string[]) => ({ code: 2, stdout: [], stderr });
      const hint = '(clonesquad-backup backups list --help shows the usage)';

      expect(await backups(['list', ...group, '--table', 'x'], env)).to.deep.equal(
        refusal([
          "error: option '--table <table>' argument 'x' is invalid. Allowed choices are configuration, scheduler.",
          hint,
        ]),
      );
      expect(await backups(['list', ...group, '--output', 'xml'], env)).to.deep.equal(
        refusal([
          "error: option '--output <format>' argument 'xml' is invalid. Allowed choices are table, json.",
          hint,
        ]),
      );
      expect(await backups(['list', ...group, '--account', '12'], env)).to.deep.equal(
        refusal(['error: --account "12": it is not a 12-digit AWS account id. Fix: pass --account 123456789012']),
      );
      expect(await backups(['list'], env)).to.deep.equal(
        refusal(["error: required option '--group <name>' not specified", hint]),
      );
      const backupsHint = '(clonesquad-backup backups --help shows the usage)';
      expect(await backups(group, env)).to.deep.equal(refusal(["error: unknown option '--group'", backupsHint]));
      expect(await backups(['delete', ...group], env)).to.deep.equal(
        refusal(["error: unknown command 'delete'", backupsHint]),
      );
      expect(await backups(['list', ...group], { AWS_REGION: 'eu-west-1' })).to.deep.equal(
        refusal([
          'error: --s3-path: it is not given and METADATA_AND_BACKUP_S3_PATH is not set. Fix: pass the ' +
            'MetadataAndBackupS3Path of the deployment, e.g. --s3-path s3://my-bucket/clonesquad',
        ]),
      );
    });
  });
});
