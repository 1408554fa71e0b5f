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
import { describeError } from '#shared/aws/errors';
import { log } from '#shared/aws/log';

/** The smallest part S3 accepts but for the last one. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** The most parts one multipart upload may have. */
export const MAX_PARTS = 10_000;

/** What the object is written with (the fields a multipart upload takes as PutObject does). */
export type StreamedObjectParams = Required<Pick<PutObjectCommandInput, 'Bucket' | 'Key'>> &
  Pick<PutObjectCommandInput, 'ContentType' | 'ACL' | 'ServerSideEncryption' | 'SSEKMSKeyId'>;

/**
 * A writable stream whose bytes become the object `params` names once the stream finishes; until
 * then the key keeps what it held. Destroying the stream (or a failed call) abandons the object: no
 * call starts any more, and once the call under way has settled the multipart upload, if one was
 * started, is aborted; the stream closes after that. A PutObject or CompleteMultipartUpload already
 * under way when the stream is destroyed may still store the object.
 *
 * @example
 * await pipeline(createGzip(), streamedObject(s3, { Bucket, Key, ContentType: 'application/json' }));
 */
export function streamedObject(s3: S3Client, params: StreamedObjectParams, partBytes = MIN_PART_BYTES): Writable {
  const buffer = Buffer.allocUnsafe(partBytes);
  const where = `s3://${params.Bucket}/${params.Key}`;
  let filled = 0;
  let uploadId: string | undefined;
  let partChecksums = false;
  const parts: CompletedPart[] = [];
  // Calls are made one at a time. Once the stream is destroyed no call starts, and the abort waits for
  // the one under way: a CreateMultipartUpload still running would otherwise leave an upload nobody aborts.
  let destroyed = false;
  let underWay: Promise<unknown> = Promise.resolve();
  function send<T>(call: () => Promise<T>): Promise<T> {
    if (destroyed) return Promise.reject(new Error(`${where}: the write was given up`));
    const answer = Promise.resolve(call());
    underWay = answer.catch(() => undefined);
    return answer;
  }

  async function sendPart(): Promise<void> {
    if (parts.length === MAX_PARTS) {
      throw new Error(`${where}: more than ${MAX_PARTS} parts of ${partBytes} bytes; S3 takes no more parts`);
    }
    if (uploadId === undefined) {
      // As the SDK does for a PutObject, S3 checks a CRC32 of every part when the client sends checksums.
      partChecksums = (await s3.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
      // Kept inside the call, so that an abort waiting for this call finds the upload to abort.
      await send(async () => {
        const created = await s3.send(
          new CreateMultipartUploadCommand({
            ...params,
            ...(partChecksums ? { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 } : {}),
          }),
        );
        uploadId = created.UploadId!;
      });
    }
    const PartNumber = parts.length + 1;
    // Refilled only once S3 has answered, retries included. An attempt that S3 answered early (an error
    // before the whole body) may still be writing the buffer to its socket: that request is over, and
    // what it sends afterwards is never stored.
    const answer = await send(() =>
      s3.send(
        new UploadPartCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId: uploadId,
          PartNumber,
          Body: buffer.subarray(0, filled),
          // The algorithm the upload was created with, whatever the SDK's default becomes.
          ...(partChecksums ? { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 } : {}),
        }),
      ),
    );
    if (!answer.ETag) throw new Error(`${where}: part ${PartNumber} came back without ETag`);
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
      await send(() =>
        s3.send(new PutObjectCommand({ ...params, Body: buffer.subarray(0, filled), ContentLength: filled })),
      );
      return;
    }
    // S3 refuses a part of 0 bytes; a last part smaller than the others is fine.
    if (filled > 0) await sendPart();
    await send(async () => {
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      // Complete: nothing left to abort.
      uploadId = undefined;
    });
  }

  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      take(chunk).then(() => done(), done);
    },
    final(done) {
      finish().then(() => done(), done);
    },
    destroy(error, done) {
      destroyed = true;
      void underWay
        .then(async () => {
          if (uploadId === undefined) return;
          // Left alone, the parts already sent would be kept (and billed) until a lifecycle rule expires them.
          const abandoned = uploadId;
          uploadId = undefined;
          await s3
            .send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: abandoned }))
            .catch((abortError: unknown) => {
              const { name, message } = describeError(abortError);
              log('warn', `${where}: multipart upload ${abandoned} not aborted (${name}: ${message})`, {
                fix: "the bucket's AbortIncompleteMultipartUpload lifecycle rule removes it; else abort it by hand",
              });
            });
        })
        .then(() => done(error));
    },
  });
}
