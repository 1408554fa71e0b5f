/**
 * Writes to the org-wide bucket, all with the same protections (SPEC §4): the bucket owner gets full
 * control, SSE-KMS is used when a key is configured, and S3 checks the SHA-256 of every body.
 */
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { UserInputError } from './errors.ts';

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
        ...(options.writeOnce ? { IfNoneMatch: '*' } : {}),
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

export interface CopyOptions extends WriteProtection {
  bucket: string;
  sourceKey: string;
  /** Copy only if the source still has this ETag (the content this execution wrote). */
  sourceEtag: string;
  key: string;
}

export async function copyObject(s3: S3Client, options: CopyOptions): Promise<void> {
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: options.bucket,
        Key: options.key,
        CopySource: `${options.bucket}/${options.sourceKey.split('/').map(encodeURIComponent).join('/')}`,
        CopySourceIfMatch: options.sourceEtag,
        MetadataDirective: 'COPY',
        ...protectionHeaders(options),
      }),
    );
  } catch (error) {
    throw explainS3Error(error, options.bucket, options.key);
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
    case 'AccessDenied':
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
