/**
 * Writes to the org-wide bucket, all with the same protections (docs/reference/s3-layout.md): the bucket owner gets full
 * control, SSE-KMS is used when a key is configured, and S3 checks the SHA-256 of every body.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { UserInputError } from '#shared/aws/errors';

export interface WriteProtection {
  kmsKeyArn?: string;
}

function protectionHeaders({ kmsKeyArn }: WriteProtection) {
  return {
    ACL: 'bucket-owner-full-control' as const,
    ...(kmsKeyArn ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyArn } : {}),
  };
}

export interface WrittenObject {
  key: string;
  etag: string;
  bytes: number;
  sha256: string;
}

export function sha256Hex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface PutOptions extends WriteProtection {
  bucket: string;
  key: string;
  body: Uint8Array;
  contentType: string;
  /** Refuse to replace an existing object (`If-None-Match: *`). */
  writeOnce?: boolean;
  /**
   * Replace only the object that has this ETag (`If-Match`), or, when `null`, write only where there
   * is no object (`If-None-Match: *`); otherwise {@link ObjectChangedError} is thrown.
   */
  replaces?: string | null;
  /** User metadata (`x-amz-meta-*`). */
  metadata?: Record<string, string>;
  /** Object tags (`x-amz-tagging`); the writer then needs s3:PutObjectTagging too. */
  tags?: Record<string, string>;
}

function conditionHeaders({ writeOnce, replaces }: PutOptions) {
  if (writeOnce || replaces === null) return { IfNoneMatch: '*' };
  return replaces === undefined ? {} : { IfMatch: replaces };
}

/**
 * Answers of a conditional write that found another object than the one it was to replace: 412
 * (another ETag, or an object where none was expected), 404 (the object is gone) and 409 (a
 * concurrent conditional write to the same key won).
 */
const OBJECT_CHANGED = new Set(['PreconditionFailed', 'NoSuchKey', 'ConditionalRequestConflict']);

/** The object was not the one a conditional request expected: read it again and decide again. */
export class ObjectChangedError extends Error {
  constructor(bucket: string, key: string, detail: string) {
    super(`s3://${bucket}/${key} changed meanwhile (${detail})`);
    this.name = 'ObjectChangedError';
  }
}

export async function putObject(s3: S3Client, options: PutOptions): Promise<WrittenObject> {
  const digest = createHash('sha256').update(options.body).digest();
  try {
    const response = await s3.send(
      new PutObjectCommand({
        Bucket: options.bucket,
        Key: options.key,
        Body: options.body,
        ContentType: options.contentType,
        ChecksumSHA256: digest.toString('base64'),
        ...conditionHeaders(options),
        ...(options.metadata ? { Metadata: options.metadata } : {}),
        ...(options.tags ? { Tagging: new URLSearchParams(options.tags).toString() } : {}),
        ...protectionHeaders(options),
      }),
    );
    return {
      key: options.key,
      etag: response.ETag ?? '',
      bytes: options.body.byteLength,
      sha256: digest.toString('hex'),
    };
  } catch (error) {
    if (options.replaces !== undefined && OBJECT_CHANGED.has((error as Error).name)) {
      throw new ObjectChangedError(options.bucket, options.key, (error as Error).message);
    }
    if (options.writeOnce && (error as Error).name === 'PreconditionFailed') {
      const existing = await sameContentAlreadyWritten(s3, options.bucket, options.key, digest);
      if (existing)
        return { key: options.key, etag: existing, bytes: options.body.byteLength, sha256: digest.toString('hex') };
    }
    throw explainS3Error(error, options.bucket, options.key);
  }
}

/**
 * A write-once object that already exists is accepted when it holds exactly these bytes: a retried
 * call whose first attempt succeeded but whose answer was lost. Answers the object's ETag, or
 * `undefined` when the content differs.
 */
async function sameContentAlreadyWritten(
  s3: S3Client,
  bucket: string,
  key: string,
  digest: Buffer,
): Promise<string | undefined> {
  const existing = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await existing.Body!.transformToByteArray();
  return createHash('sha256').update(bytes).digest().equals(digest) ? existing.ETag : undefined;
}

/** What a HEAD request found: the object, none, or a refusal (S3 answers 403 instead of 404 without `s3:ListBucket`). */
export type ObjectHead =
  | { found: 'object'; etag: string; metadata: Record<string, string> }
  | { found: 'none' }
  | { found: 'refused'; error: unknown };

export async function headObject(s3: S3Client, bucket: string, key: string): Promise<ObjectHead> {
  try {
    const response = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { found: 'object', etag: response.ETag ?? '', metadata: response.Metadata ?? {} };
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    if (error.$metadata.httpStatusCode === 404) return { found: 'none' };
    if (error.$metadata.httpStatusCode === 403) return { found: 'refused', error: explainS3Error(error, bucket, key) };
    throw explainS3Error(error, bucket, key);
  }
}

/** The bytes of an object, only while it has `etag` (`If-Match`); otherwise {@link ObjectChangedError}. */
export async function readObjectAt(s3: S3Client, bucket: string, key: string, etag: string): Promise<Uint8Array> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag }));
    return await response.Body!.transformToByteArray();
  } catch (error) {
    if ((error as Error).name === 'PreconditionFailed') {
      throw new ObjectChangedError(bucket, key, `its ETag is no longer ${etag}`);
    }
    throw explainS3Error(error, bucket, key);
  }
}

/** Adds the fix to the S3 errors an operator can do something about; others pass through. */
export function explainS3Error(error: unknown, bucket: string, key: string): unknown {
  if (!(error instanceof S3ServiceException)) return error;
  const where = `s3://${bucket}/${key}`;
  switch (error.name) {
    case 'NoSuchBucket':
      return new UserInputError(
        `MetadataAndBackupS3Path (bucket "${bucket}")`,
        'the bucket does not exist',
        'create the bucket or redeploy with MetadataAndBackupS3Path naming an existing one',
      );
    // A HEAD answer has no body to name the error, so it is named after its status.
    case 'AccessDenied':
    case 'Forbidden':
      return new UserInputError(
        where,
        `access denied (${error.message})`,
        "check the bucket policy admits this account's role under its own accountid= prefix, and the KMS key policy when KmsKeyArn is set",
      );
    case 'PreconditionFailed':
      return new Error(`${where} already exists or changed meanwhile; it was left untouched (${error.message})`);
    default:
      return error;
  }
}
