/**
 * The local bucket's persistent store: `<out>/s3/<bucket>/<key>`. A run loads it into the fresh
 * emulator first and writes the bucket back after.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { metadataFolder } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';

export function mirrorFolder(out: string, bucket: string): string {
  return join(out, 's3', bucket);
}

/**
 * Objects' user metadata (`latest-` records the archive it holds and its content's hash), one JSON
 * file per object that has some, beside the mirror so that the mirror holds only the bucket's keys.
 */
function userMetadataFile(out: string, bucket: string, key: string): string {
  return `${join(out, 's3-metadata', bucket, ...key.split('/'))}.json`;
}

async function readUserMetadata(file: string): Promise<Record<string, string> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

function keyOf(folder: string, file: string): string {
  return relative(folder, file).split(sep).join('/');
}

/** What {@link saveMirror} writes a file as until it is whole: left behind only by an interrupted save. */
const UNFINISHED = '.partial';

/** Puts every file of the folder into the bucket, and removes what an interrupted save left unfinished. */
export async function loadMirror(s3: S3Client, out: string, bucket: string): Promise<number> {
  const folder = mirrorFolder(out, bucket);
  let loaded = 0;
  for (const file of await listFiles(folder)) {
    if (file.endsWith(UNFINISHED)) {
      await rm(file);
      continue;
    }
    const key = keyOf(folder, file);
    const metadata = await readUserMetadata(userMetadataFile(out, bucket, key));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await readFile(file),
        ...(metadata ? { Metadata: metadata } : {}),
      }),
    );
    loaded += 1;
  }
  return loaded;
}

export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) keys.push(object.Key!);
  }
  return keys;
}

/**
 * Writes every object of the bucket to the folder (each file replaced whole). Of the files the
 * bucket does not hold, it removes only those under `location`'s metadata folder, where the
 * exporters delete the objects they replace; anything else, archives above all (write-once, and
 * possibly saved there by another run), stays.
 */
export async function saveMirror(s3: S3Client, out: string, location: S3Location): Promise<string[]> {
  const folder = mirrorFolder(out, location.bucket);
  const keys = await listKeys(s3, location.bucket);
  for (const key of keys) {
    const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
    const file = join(folder, ...key.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}${UNFINISHED}`, await object.Body!.transformToByteArray());
    await rename(`${file}${UNFINISHED}`, file);
    const metadataFile = userMetadataFile(out, location.bucket, key);
    if (Object.keys(object.Metadata ?? {}).length > 0) {
      await mkdir(dirname(metadataFile), { recursive: true });
      await writeFile(metadataFile, JSON.stringify(object.Metadata));
    } else {
      await rm(metadataFile, { force: true });
    }
  }
  const kept = new Set(keys);
  const metadata = join(folder, ...metadataFolder(location).split('/'));
  for (const file of await listFiles(metadata)) {
    if (!kept.has(keyOf(folder, file))) await rm(file);
  }
  return keys;
}
