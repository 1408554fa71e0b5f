import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { openMetadataTable } from '#shared/metadata/jsonl-writer';
import { testDeployment } from '#test/support/backup-fixtures';

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('CMDB partition writer given up mid-upload (shared/metadata/jsonl-writer.ts)', () => {
  it('answers abort() only once the upload it started meanwhile is aborted, to every caller', async () => {
    const s3 = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(s3);
    // The partition's object is there already: no listing.
    mock.on(HeadObjectCommand).resolves({ ETag: '"previous"' });
    let createStarted!: () => void;
    const started = new Promise<void>((resolve) => (createStarted = resolve));
    let answerCreate!: (answer: { UploadId: string }) => void;
    mock.on(CreateMultipartUploadCommand).callsFake(() => {
      createStarted();
      return new Promise((resolve) => (answerCreate = resolve));
    });
    mock.on(UploadPartCommand).resolves({ ETag: '"part"' });
    mock.on(AbortMultipartUploadCommand).resolves({});

    const writer = await openMetadataTable(s3, testDeployment({ bucket: 'bucket' }), 'instances');
    // Barely compressible records, until the first 5 MiB part is full and its upload is being created.
    const writing = (async () => {
      for (;;) await writer.write({ Id: randomBytes(3000).toString('base64') });
    })();
    writing.catch(() => undefined);
    await started;

    // As when the other table of the same export fails: its writer is given up from outside.
    let answered = 0;
    const aborts = [writer.abort(), writer.abort()].map((abort) => abort.then(() => (answered += 1)));
    await tick();
    expect(answered, 'abort answered before the upload it must abort exists').to.equal(0);
    answerCreate({ UploadId: 'created-late' });
    await Promise.all(aborts);

    expect(mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input.UploadId)).to.deep.equal([
      'created-late',
    ]);
    expect(mock.commandCalls(UploadPartCommand)).to.have.length(0);
    let failure: Error | undefined;
    await writing.catch((error: Error) => (failure = error));
    expect(failure, 'a write after abort').to.be.instanceOf(Error);
  });
});
