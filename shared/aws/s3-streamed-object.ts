/**
 * An S3 object written from a stream of bytes whose length is not known ahead (gzip output), in
 * bounded memory: the bytes are copied into one buffer of S3's smallest part size, reused from part
 * to part. A full buffer goes out as a part of a multipart upload while the stream waits, so the
 * object costs that one buffer whatever its size; an object that ends before the buffer fills is a
 * single PutObject.
 *
 * Hand-written rather than lib-storage's `Upload`: that one gathers a stream's chunks and joins them
 * into a new buffer per part, with parts in flight beside the one filling, so that an object past one
 * part holds three or four parts' worth of Buffers at once.
 */
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';

/** The smallest part S3 accepts but for the last one. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** The most parts one multipart upload may have. */
export const MAX_PARTS = 10_000;

/** What the object is written with (the fields a multipart upload takes as PutObject does). */
export type StreamedObjectParams = Required<Pick<PutObjectCommandInput, 'Bucket' | 'Key'>> &
  Pick<PutObjectCommandInput, 'ContentType' | 'ACL' | 'ServerSideEncryption' | 'SSEKMSKeyId'>;

/**
 * A writable stream whose bytes become the object `params` names once the stream finishes; until
 * then the key keeps what it held. Destroying the stream (or a failed call) abandons the object and
 * aborts its multipart upload, if one was started; the stream closes once that is done.
 *
 * @example
 * await pipeline(createGzip(), streamedObject(s3, { Bucket, Key, ContentType: 'application/json' }));
 */
export function streamedObject(s3: S3Client, params: StreamedObjectParams, partBytes = MIN_PART_BYTES): Writable {
  const buffer = Buffer.allocUnsafe(partBytes);
  let filled = 0;
  let uploadId: string | undefined;
  const parts: CompletedPart[] = [];

  async function sendPart(): Promise<void> {
    if (parts.length === MAX_PARTS) {
      throw new Error(
        `s3://${params.Bucket}/${params.Key}: more than ${MAX_PARTS} parts of ${partBytes} bytes; S3 takes no more parts`,
      );
    }
    if (uploadId === undefined) {
      // As the SDK does for a PutObject, S3 checks a CRC32 of every part when the client sends checksums.
      const checksums = (await s3.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
      const created = await s3.send(
        new CreateMultipartUploadCommand({
          ...params,
          ...(checksums ? { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 } : {}),
        }),
      );
      uploadId = created.UploadId!;
    }
    const PartNumber = parts.length + 1;
    // The buffer is refilled only after S3 has answered, retries included: the SDK is done with it.
    const answer = await s3.send(
      new UploadPartCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        UploadId: uploadId,
        PartNumber,
        Body: buffer.subarray(0, filled),
      }),
    );
    if (!answer.ETag) throw new Error(`s3://${params.Bucket}/${params.Key}: part ${PartNumber} came back without ETag`);
    parts.push({
      PartNumber,
      ETag: answer.ETag,
      ...(answer.ChecksumCRC32 ? { ChecksumCRC32: answer.ChecksumCRC32 } : {}),
    });
    filled = 0;
  }

  async function take(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const copied = chunk.copy(buffer, filled, offset);
      filled += copied;
      offset += copied;
      if (filled === partBytes) await sendPart();
    }
  }

  async function finish(): Promise<void> {
    if (uploadId === undefined) {
      await s3.send(new PutObjectCommand({ ...params, Body: buffer.subarray(0, filled), ContentLength: filled }));
      return;
    }
    // S3 refuses a part of 0 bytes; a last part smaller than the others is fine.
    if (filled > 0) await sendPart();
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    uploadId = undefined;
  }

  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      take(chunk).then(() => done(), done);
    },
    final(done) {
      finish().then(() => done(), done);
    },
    destroy(error, done) {
      if (uploadId === undefined) return done(error);
      // Left alone, the parts already sent would be kept (and billed) until a lifecycle rule expires them.
      const abandoned = uploadId;
      uploadId = undefined;
      s3.send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: abandoned })).then(
        () => done(error),
        () => done(error),
      );
    },
  });
}
