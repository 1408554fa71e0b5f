/**
 * What must hold in the bucket of one deployment whatever failed (docs/reference/s3-layout.md): every archive is whole
 * and never rewritten; every `latest-` equals, byte for byte, one of the archives; every metadata
 * object is whole gzip of JSON Lines; no multipart upload is left behind. {@link BucketAuditor}
 * checks it after each execution, reading only what changed since the previous check.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  NoSuchKey,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  archiveBackupKey,
  backupFolder,
  BACKUP_TABLES,
  latestBackupKey,
  metadataPartitionFolder,
  METADATA_TABLES,
  type BackupTable,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import { loadBackupYaml } from '#shared/backup/yaml-codec';

export interface ListedObject {
  key: string;
  etag: string;
  size: number;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function list(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) {
      objects.push({ key: object.Key!, etag: object.ETag ?? '', size: object.Size ?? 0 });
    }
  }
  return objects;
}

async function read(s3: S3Client, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  } catch (error) {
    if (error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

/** A table's rows as a map, for comparing a backup with what the table held. */
export type Rows = Map<string, string>;

function sameRows(a: Rows, b: Rows): boolean {
  return a.size === b.size && [...a].every(([key, value]) => b.get(key) === value);
}

export interface AuditOptions {
  s3: S3Client;
  bucket: string;
  destination: S3Location;
  id: PartitionIdentity;
  /** The contents a backup of each table may hold (the table changes between some executions). */
  validContents: () => Record<BackupTable, Rows[]>;
}

export class BucketAuditor {
  /** Archives checked already: key → ETag and SHA-256. */
  private readonly archives = new Map<string, { etag: string; sha: string }>();
  /** Every archive SHA-256 per table. */
  private readonly archiveShas: Record<BackupTable, Set<string>> = { configuration: new Set(), scheduler: new Set() };
  /** `latest-` objects that existed once and must go on existing. */
  private readonly latestSeen = new Set<BackupTable>();

  constructor(private readonly options: AuditOptions) {}

  archiveKey(table: BackupTable, stamp: string): string {
    return archiveBackupKey(this.options.destination, this.options.id, table, stamp);
  }

  latestKey(table: BackupTable): string {
    return latestBackupKey(this.options.destination, this.options.id, table);
  }

  /** SHA-256 of each `latest-` at the last {@link audit} (undefined when absent). */
  readonly latest: Record<BackupTable, string | undefined> = { configuration: undefined, scheduler: undefined };

  /** SHA-256 of an archive checked already, for comparing with a part's `sha256`. */
  archiveSha(key: string): string | undefined {
    return this.archives.get(key)?.sha;
  }

  /** Every problem found: a lost, rewritten, truncated or corrupt object, or a leftover upload. */
  async audit(): Promise<string[]> {
    const [archives, metadata, uploads] = await Promise.all([
      this.auditArchives([]).then(async (problems) => this.auditLatest(problems)),
      this.auditMetadata([]),
      this.auditUploads([]),
    ]);
    return [...archives, ...metadata, ...uploads];
  }

  private tableOf(key: string): BackupTable | undefined {
    return BACKUP_TABLES.find((table) => key.endsWith(`-${table}-cs-${this.options.id.groupName}.yaml`));
  }

  private checkBackupBytes(table: BackupTable, key: string, bytes: Buffer, problems: string[]): boolean {
    let rows: Rows;
    try {
      rows = new Map(loadBackupYaml(bytes.toString('utf8'), key).map((row) => [row.key, row.value]));
    } catch (error) {
      problems.push(`${key}: does not parse as a backup (${(error as Error).message.slice(0, 200)})`);
      return false;
    }
    if (!this.options.validContents()[table].some((valid) => sameRows(rows, valid))) {
      problems.push(`${key}: parses, but holds ${rows.size} rows that match no content the table had (truncated?)`);
      return false;
    }
    return true;
  }

  private async auditArchives(problems: string[]): Promise<string[]> {
    const { s3, bucket, destination, id } = this.options;
    const listed = await list(s3, bucket, `${backupFolder(destination, id)}/archive/`);
    const present = new Set(listed.map((object) => object.key));
    for (const key of this.archives.keys()) if (!present.has(key)) problems.push(`${key}: archive lost`);
    const changed = listed.filter((object) => this.archives.get(object.key)?.etag !== object.etag);
    const contents = await Promise.all(changed.map((object) => read(s3, bucket, object.key)));
    changed.forEach((object, index) => {
      const known = this.archives.get(object.key);
      if (known) problems.push(`${object.key}: archive rewritten (ETag ${known.etag} became ${object.etag})`);
      const table = this.tableOf(object.key);
      const bytes = contents[index];
      if (!table || !bytes) {
        problems.push(`${object.key}: unexpected or unreadable object in the archive folder`);
        return;
      }
      const sha = sha256(bytes);
      this.archives.set(object.key, { etag: object.etag, sha });
      if (this.checkBackupBytes(table, object.key, bytes, problems)) this.archiveShas[table].add(sha);
    });
    return problems;
  }

  private async auditLatest(problems: string[]): Promise<string[]> {
    const { s3, bucket } = this.options;
    for (const table of BACKUP_TABLES) {
      const key = this.latestKey(table);
      const bytes = await read(s3, bucket, key);
      if (!bytes) {
        if (this.latestSeen.has(table)) problems.push(`${key}: latest- lost`);
        this.latest[table] = undefined;
        continue;
      }
      this.latestSeen.add(table);
      const sha = sha256(bytes);
      this.latest[table] = sha;
      // Equal to a checked archive byte for byte, it parses as that archive did.
      if (this.archiveShas[table].has(sha)) continue;
      problems.push(`${key}: latest- equals no archive byte for byte`);
      this.checkBackupBytes(table, key, bytes, problems);
    }
    return problems;
  }

  private async auditMetadata(problems: string[]): Promise<string[]> {
    const { s3, bucket, destination, id } = this.options;
    const folders = METADATA_TABLES.map((table) => `${metadataPartitionFolder(destination, id, table)}/`);
    const objects = (await Promise.all(folders.map((folder) => list(s3, bucket, folder)))).flat();
    await Promise.all(objects.map((object) => this.auditMetadataObject(object, problems)));
    return problems;
  }

  private async auditMetadataObject(object: ListedObject, problems: string[]): Promise<void> {
    if (!object.key.endsWith('.json.gz')) return; // a planted legacy object, deleted by the next export
    const bytes = await read(this.options.s3, this.options.bucket, object.key);
    if (!bytes) return;
    let text: string;
    try {
      text = gunzipSync(bytes).toString('utf8');
    } catch (error) {
      problems.push(`${object.key}: not whole gzip (${(error as Error).message})`);
      return;
    }
    if (!text.endsWith('\n')) problems.push(`${object.key}: last JSON line is not terminated`);
    const lines = text.split('\n').slice(0, -1);
    if (lines.length === 0) problems.push(`${object.key}: no records`);
    lines.forEach((line, index) => {
      try {
        const record = JSON.parse(line) as unknown;
        if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('not an object');
      } catch (error) {
        problems.push(`${object.key}: line ${index + 1} is not a JSON object (${(error as Error).message})`);
      }
    });
  }

  private async auditUploads(problems: string[]): Promise<string[]> {
    const { s3, bucket } = this.options;
    const { Uploads: uploads = [] } = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const upload of uploads) problems.push(`${upload.Key}: incomplete multipart upload ${upload.UploadId} left`);
    return problems;
  }
}
