import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_PARTS, streamedObject } from '#shared/aws/s3-streamed-object';
import { withLogsOff } from '#test/support/deployment-environment';

/** A promise settled from outside: an S3 answer the test releases when it chooses. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

const PARAMS = {
  Bucket: 'bucket',
  Key: 'org/metadata/instances.jsonl.gz',
  ContentType: 'application/json',
  ACL: 'bucket-owner-full-control' as const,
  ServerSideEncryption: 'aws:kms' as const,
  SSEKMSKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/k',
};

/** An S3 client whose answers are recorded, each body copied as it was sent (the writer reuses its buffer). */
function recordingS3(settings: ConstructorParameters<typeof S3Client>[0] = {}) {
  const s3 = new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    ...settings,
  });
  const mock = mockClient(s3);
  const puts: { input: Record<string, unknown>; body: Buffer }[] = [];
  const parts: { number: number; body: Buffer }[] = [];
  mock.on(PutObjectCommand).callsFake((input) => {
    puts.push({ input, body: Buffer.from(input.Body as Uint8Array) });
    return { ETag: '"whole"' };
  });
  mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  mock.on(UploadPartCommand).callsFake((input) => {
    parts.push({ number: input.PartNumber!, body: Buffer.from(input.Body as Uint8Array) });
    return { ETag: `"part-${input.PartNumber}"`, ChecksumCRC32: `crc-${input.PartNumber}` };
  });
  mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"multi"' });
  mock.on(AbortMultipartUploadCommand).resolves({});
  return { s3, mock, puts, parts };
}

async function write(s3: S3Client, chunks: Buffer[], partBytes: number) {
  await pipeline(Readable.from(chunks), streamedObject(s3, PARAMS, partBytes));
}

describe('S3 object streamed in one reused part buffer (shared/aws/s3-streamed-object.ts)', () => {
  it('writes an object smaller than a part as one PutObject with its protections', async () => {
    const { s3, mock, puts } = recordingS3();
    await write(s3, [Buffer.from('{"a":1}\n'), Buffer.from('{"a":2}\n')], 64);
    expect(puts).to.have.length(1);
    expect(puts[0].body.toString()).to.equal('{"a":1}\n{"a":2}\n');
    expect(puts[0].input).to.include({ ...PARAMS, ContentLength: 16 });
    expect(mock.commandCalls(CreateMultipartUploadCommand)).to.have.length(0);
  });

  it('writes an empty stream as an empty object', async () => {
    const { s3, puts } = recordingS3();
    await write(s3, [], 64);
    expect(puts.map((put) => put.body.length)).to.deep.equal([0]);
  });

  it('sends full parts in order, the last one shorter, and completes with every ETag and checksum', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 25 }),
        async (arrays, partBytes) => {
          const chunks = arrays.map((array) => Buffer.from(array));
          const whole = Buffer.concat(chunks);
          fc.pre(whole.length >= partBytes);
          const { s3, mock, parts, puts } = recordingS3();
          await write(s3, chunks, partBytes);
          expect(puts).to.have.length(0);
          expect(Buffer.concat(parts.map((part) => part.body)).equals(whole)).to.equal(true);
          expect(parts.map((part) => part.number)).to.deep.equal(parts.map((_, index) => index + 1));
          // No part of 0 bytes: S3 refuses one.
          expect(parts.slice(0, -1).every((part) => part.body.length === partBytes)).to.equal(true);
          expect(parts.at(-1)!.body.length).to.be.within(1, partBytes);
          const [complete] = mock.commandCalls(CompleteMultipartUploadCommand);
          expect(complete.args[0].input.MultipartUpload!.Parts).to.deep.equal(
            parts.map(({ number }) => ({
              PartNumber: number,
              ETag: `"part-${number}"`,
              ChecksumCRC32: `crc-${number}`,
            })),
          );
          expect(mock.commandCalls(AbortMultipartUploadCommand)).to.have.length(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('asks S3 to check a CRC32 of each part when the client sends checksums, and not otherwise', async () => {
    for (const [setting, algorithm] of [
      ['WHEN_SUPPORTED', 'CRC32'],
      ['WHEN_REQUIRED', undefined],
    ] as const) {
      const { s3, mock } = recordingS3({ requestChecksumCalculation: setting });
      await write(s3, [Buffer.alloc(10)], 4);
      const [create] = mock.commandCalls(CreateMultipartUploadCommand);
      expect(create.args[0].input).to.include(PARAMS);
      expect(create.args[0].input.ChecksumAlgorithm, setting).to.equal(algorithm);
    }
  });

  it('aborts the multipart upload when a part fails, and fails with the cause', async () => {
    const { s3, mock } = recordingS3();
    mock.on(UploadPartCommand, { PartNumber: 2 }).rejects(new Error('part 2 refused'));
    let failure: Error | undefined;
    await write(s3, [Buffer.alloc(30)], 10).catch((error: Error) => (failure = error));
    expect(failure?.message).to.equal('part 2 refused');
    expect(mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input)).to.deep.equal([
      { Bucket: PARAMS.Bucket, Key: PARAMS.Key, UploadId: 'upload-1' },
    ]);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).to.have.length(0);
  });

  it('aborts the multipart upload when completing it fails', async () => {
    const { s3, mock } = recordingS3();
    mock.on(CompleteMultipartUploadCommand).rejects(new Error('InternalError'));
    let failure: Error | undefined;
    await write(s3, [Buffer.alloc(25)], 10).catch((error: Error) => (failure = error));
    expect(failure?.message).to.equal('InternalError');
    expect(mock.commandCalls(AbortMultipartUploadCommand)).to.have.length(1);
  });

  it('once destroyed, aborts the upload before it closes, and writes nothing', async () => {
    const { s3, mock, puts } = recordingS3();
    const object = streamedObject(s3, PARAMS, 10);
    const closed = once(object, 'close');
    object.write(Buffer.alloc(15));
    await new Promise((resolve) => setTimeout(resolve, 10));
    object.destroy();
    await closed;
    expect(mock.commandCalls(AbortMultipartUploadCommand)).to.have.length(1);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).to.have.length(0);
    expect(puts).to.have.length(0);
  });

  it('destroyed before its first part, sends nothing at all', async () => {
    const { s3, mock } = recordingS3();
    const object = streamedObject(s3, PARAMS, 10);
    const closed = once(object, 'close');
    object.write(Buffer.alloc(5));
    object.destroy();
    await closed;
    expect(mock.calls()).to.have.length(0);
  });

  it(`refuses a part beyond S3's ${MAX_PARTS}, naming the object, and aborts`, async () => {
    const { s3, mock } = recordingS3();
    let failure: Error | undefined;
    await write(s3, [Buffer.alloc(MAX_PARTS + 1)], 1).catch((error: Error) => (failure = error));
    expect(failure?.message).to.equal(
      `s3://bucket/${PARAMS.Key}: more than ${MAX_PARTS} parts of 1 bytes; S3 takes no more parts`,
    );
    expect(mock.commandCalls(UploadPartCommand)).to.have.length(MAX_PARTS);
    expect(mock.commandCalls(AbortMultipartUploadCommand)).to.have.length(1);
  });

  it('destroyed while CreateMultipartUpload runs, closes only once it answered, then aborts that upload', async () => {
    const { s3, mock } = recordingS3();
    const created = deferred<{ UploadId: string }>();
    mock.on(CreateMultipartUploadCommand).callsFake(() => created.promise);
    const object = streamedObject(s3, PARAMS, 10);
    let closed = false;
    const closing = once(object, 'close').then(() => (closed = true));
    object.write(Buffer.alloc(15));
    await tick();
    object.destroy();
    await tick();
    expect(closed, 'closed before S3 answered').to.equal(false);
    created.resolve({ UploadId: 'late-upload' });
    await closing;
    expect(mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input.UploadId)).to.deep.equal([
      'late-upload',
    ]);
    expect(mock.commandCalls(UploadPartCommand)).to.have.length(0);
  });

  it('destroyed while a part uploads, starts no other call, and aborts once the part answered', async () => {
    const { s3, mock } = recordingS3();
    const partAnswer = deferred<{ ETag: string }>();
    mock.on(UploadPartCommand).callsFake(() => partAnswer.promise);
    const object = streamedObject(s3, PARAMS, 10);
    const closing = once(object, 'close');
    // One chunk of three parts: the writer would go on to parts 2 and 3 after the first.
    object.write(Buffer.alloc(30));
    await tick();
    object.destroy();
    await tick();
    expect(mock.commandCalls(AbortMultipartUploadCommand), 'aborted while the part uploads').to.have.length(0);
    partAnswer.resolve({ ETag: '"part-1"' });
    await closing;
    expect(mock.calls().map((call) => call.args[0].constructor.name)).to.deep.equal([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'AbortMultipartUploadCommand',
    ]);
  });

  it('still closes when the abort itself fails (the lifecycle rule removes the upload)', async () => {
    const { s3, mock } = recordingS3();
    mock.on(AbortMultipartUploadCommand).rejects(new Error('AccessDenied'));
    let failure: Error | undefined;
    await withLogsOff(() => write(s3, [Buffer.alloc(25)], 10).catch((error: Error) => (failure = error)));
    expect(failure).to.equal(undefined);
    const object = streamedObject(s3, PARAMS, 10);
    const closing = once(object, 'close');
    object.write(Buffer.alloc(15));
    await tick();
    await withLogsOff(async () => {
      object.destroy();
      await closing;
    });
    expect(mock.commandCalls(AbortMultipartUploadCommand)).to.have.length(1);
  });
});
