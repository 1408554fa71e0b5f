/**
 * The --out folder's copy of the local bucket (`<out>/s3/<bucket>/<key>`): what a run writes back
 * to it, and what it never removes.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { listKeys, loadMirror, mirrorFolder, saveMirror } from '#local/mirror';
import {
  archiveBackupKey,
  latestBackupKey,
  metadataKey,
  metadataPartitionFolder,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { createBucket, emulatorClients } from '#test/support/aws';

const ID: PartitionIdentity = { accountId: '123456789012', region: 'eu-west-1', groupName: 'demo' };

function folderKeys(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

function writeFolderFile(folder: string, key: string, body: string): void {
  const file = join(folder, ...key.split('/'));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
}

describe('the local bucket in the --out folder', () => {
  const { s3 } = emulatorClients();
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'mirror-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('writes every object, removes metadata objects the bucket removed, and keeps archives it does not hold', async () => {
    const location: S3Location = { bucket: await createBucket(s3), prefix: 'clonesquad' };
    const folder = mirrorFolder(out, location.bucket);
    const inBucket = {
      [archiveBackupKey(location, ID, 'configuration', '20261130T100000000Z')]: 'archive of this run',
      [latestBackupKey(location, ID, 'configuration')]: 'latest',
      [metadataKey(location, ID, 'instances')]: 'instances',
    };
    for (const [key, body] of Object.entries(inBucket)) {
      await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: body }));
    }
    const otherArchive = archiveBackupKey(location, ID, 'configuration', '20261130T090000000Z');
    writeFolderFile(folder, otherArchive, 'archive of another run');
    const replacedMetadata = `${metadataPartitionFolder(location, ID, 'instances')}/instances.json`;
    writeFolderFile(folder, replacedMetadata, 'left by an older exporter');

    const saved = await saveMirror(s3, out, location);

    expect(saved.sort()).to.deep.equal(Object.keys(inBucket).sort());
    expect(folderKeys(folder)).to.deep.equal([...Object.keys(inBucket), otherArchive].sort());
    for (const [key, body] of Object.entries(inBucket)) {
      expect(readFileSync(join(folder, ...key.split('/')), 'utf8')).to.equal(body);
    }
    expect(readFileSync(join(folder, ...otherArchive.split('/')), 'utf8')).to.equal('archive of another run');
  });

  it("keeps objects' user metadata from one run to the next, beside the folder, so a loaded latest- still says what it holds", async () => {
    const location: S3Location = { bucket: await createBucket(s3), prefix: 'clonesquad' };
    const latest = latestBackupKey(location, ID, 'configuration');
    const archive = archiveBackupKey(location, ID, 'configuration', '20261130T100000000Z');
    const metadata = { 'archive-stamp': '20261130T100000000Z', 'content-sha256': 'ab'.repeat(32) };
    await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: latest, Body: 'latest', Metadata: metadata }));
    await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: archive, Body: 'archive' }));
    await saveMirror(s3, out, location);
    const nextBucket = await createBucket(s3);
    // The next run's emulator is fresh: here, another bucket loaded from the same files.
    renameSync(mirrorFolder(out, location.bucket), mirrorFolder(out, nextBucket));
    renameSync(join(out, 's3-metadata', location.bucket), join(out, 's3-metadata', nextBucket));

    await loadMirror(s3, out, nextBucket);

    expect(folderKeys(mirrorFolder(out, nextBucket))).to.deep.equal([archive, latest].sort());
    const heads = await Promise.all(
      [latest, archive].map((key) => s3.send(new HeadObjectCommand({ Bucket: nextBucket, Key: key }))),
    );
    expect(heads.map((head) => head.Metadata)).to.deep.equal([metadata, {}]);
  });

  it('loads every file into the bucket but those an interrupted save left unfinished, which it removes', async () => {
    const location: S3Location = { bucket: await createBucket(s3), prefix: 'clonesquad' };
    const folder = mirrorFolder(out, location.bucket);
    const latest = latestBackupKey(location, ID, 'scheduler');
    const archive = archiveBackupKey(location, ID, 'scheduler', '20261130T100000000Z');
    writeFolderFile(folder, latest, 'latest');
    writeFolderFile(folder, `${archive}.partial`, 'half an arch');

    await loadMirror(s3, out, location.bucket);

    expect(await listKeys(s3, location.bucket)).to.deep.equal([latest]);
    expect(folderKeys(folder)).to.deep.equal([latest]);
  });
});
