import { expect } from 'chai';
import fc from 'fast-check';
import { UserInputError } from '#shared/aws/errors';
import { bucketNameProblem, formatS3Path, parseS3Path } from '#shared/aws/s3-path';

/** The message must name the parameter, the value and a fix. */
function expectRefused(raw: string, problem: RegExp): void {
  expect(() => parseS3Path(raw), JSON.stringify(raw))
    .to.throw(UserInputError, problem)
    .with.property('message')
    .that.matches(/^MetadataAndBackupS3Path ".*": .+\. Fix: .+/s);
}

describe('MetadataAndBackupS3Path (docs/reference/parameters.md)', () => {
  it('accepts a bucket, with or without a prefix, dropping empty segments', () => {
    expect(parseS3Path('s3://my-bucket')).to.deep.equal({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Path('s3://my-bucket/')).to.deep.equal({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Path('s3://my-bucket//')).to.deep.equal({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Path('s3://my-bucket/a//b/')).to.deep.equal({ bucket: 'my-bucket', prefix: 'a/b' });
    expect(parseS3Path('s3://my.bucket.example/org/clone squad/東京')).to.deep.equal({
      bucket: 'my.bucket.example',
      prefix: 'org/clone squad/東京',
    });
    expect(parseS3Path('  s3://abc/x  ')).to.deep.equal({ bucket: 'abc', prefix: 'x' });
    expect(parseS3Path('s3://a-b/.hidden/..x/x..')).to.deep.equal({ bucket: 'a-b', prefix: '.hidden/..x/x..' });
  });

  it('accepts bucket names at the limits', () => {
    expect(parseS3Path('s3://abc')?.bucket).to.equal('abc');
    expect(parseS3Path(`s3://${'a'.repeat(63)}`)?.bucket).to.have.length(63);
    expect(parseS3Path('s3://1.2.3.4a')?.bucket).to.equal('1.2.3.4a');
    expect(parseS3Path('s3://123')?.bucket).to.equal('123');
    expect(parseS3Path('s3://a-xn--b')?.bucket).to.equal('a-xn--b');
  });

  it('reads an empty value as "feature off"', () => {
    expect(parseS3Path('')).to.equal(null);
    expect(parseS3Path('   ')).to.equal(null);
    expect(parseS3Path(undefined)).to.equal(null);
  });

  it('refuses what is not an s3:// URL', () => {
    for (const raw of [
      'https://my-bucket.s3.amazonaws.com/x',
      'S3://Bucket',
      'S3://bucket',
      's3:/bucket',
      'bucket/x',
    ]) {
      expectRefused(raw, /it is not an s3:\/\/ URL\. Fix: give it as s3:\/\/bucket/);
    }
    expectRefused('arn:aws:s3:::my-bucket', /not an s3:\/\/ URL/);
    expectRefused('s3://bucket/a\nb', /not an s3:\/\/ URL/);
  });

  it('refuses a missing bucket', () => {
    for (const raw of ['s3://', 's3:///x', 's3:////']) expectRefused(raw, /the bucket name "" is missing/);
  });

  it('refuses bad bucket names, saying why', () => {
    const cases: [string, RegExp][] = [
      ['My-Bucket', /lower-case letters/],
      ['my_bucket', /lower-case letters/],
      ['ab', /3 to 63 characters/],
      ['a'.repeat(64), /3 to 63 characters/],
      ['-bucket', /begin and end with a letter or digit/],
      ['bucket-', /begin and end/],
      ['.bucket', /begin and end/],
      ['bucket.', /begin and end/],
      ['my..bucket', /two adjacent dots/],
      ['192.168.5.4', /IP address/],
      ['xn--bucket', /reserves/],
      ['sthree-bucket', /reserves/],
      ['sthree-configurator', /reserves/],
      ['amzn-s3-demo-bucket', /reserves/],
      ['bucket-s3alias', /reserves/],
      ['bucket--ol-s3', /reserves/],
      ['bucket.mrap', /reserves/],
      ['bucket--use1-az4--x-s3', /reserves/],
      ['bucket--table-s3', /reserves/],
      ['bücket', /lower-case letters/],
      ['my bucket', /lower-case letters/],
      ['bucket?x=1', /lower-case letters/],
    ];
    for (const [bucket, problem] of cases) {
      expect(bucketNameProblem(bucket), bucket).to.match(problem);
      expectRefused(
        `s3://${bucket}/prefix`,
        new RegExp(`the bucket name ".*" .*${problem.source}.*Fix: name an existing`),
      );
    }
  });

  it('refuses "." and ".." prefix segments', () => {
    for (const raw of [
      's3://bucket/.',
      's3://bucket/..',
      's3://bucket/a/./b',
      's3://bucket/a/../b/',
      's3://bucket//..//',
    ]) {
      expectRefused(raw, /the prefix contains a "\." or "\.\." segment\. Fix: write the prefix without/);
    }
  });

  it('refuses a prefix segment with white space at its edges, which would not survive a round trip', () => {
    for (const raw of ['s3://bucket/a /', 's3://bucket/ a', 's3://bucket/a/\tb', 's3://bucket/a\u00a0/b']) {
      expectRefused(raw, /begins or ends with white space\. Fix: remove the white space/);
    }
    expect(parseS3Path('s3://bucket/a b/c')?.prefix).to.equal('a b/c');
  });

  describe('properties', () => {
    const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
    const bucket = fc
      .tuple(alnum, fc.string({ unit: fc.oneof(alnum, fc.constantFrom('-', '.')), maxLength: 40 }), alnum)
      .map((parts) => parts.join(''))
      .filter((name) => bucketNameProblem(name) === undefined);
    const segment = fc.oneof(
      fc.constantFrom('', '', 'a', 'org', '.x', '..x', 'x.', 'clone squad', ' a', 'a ', '東京', '😀', '%2F', '?#'),
      fc.string({ unit: 'grapheme', maxLength: 6 }).filter((text) => !text.includes('/')),
    );
    const path = fc
      .tuple(fc.constantFrom('', ' ', '\t'), bucket, fc.array(segment, { maxLength: 6 }), fc.constantFrom('', '/', ' '))
      .map(([lead, name, segments, tail]) => `${lead}s3://${[name, ...segments].join('/')}${tail}`);

    it('normalisation is idempotent: the formatted path parses to the same location', () => {
      fc.assert(
        fc.property(path, (raw) => {
          let location;
          try {
            location = parseS3Path(raw);
          } catch (error) {
            expect(error).to.be.instanceOf(UserInputError);
            return;
          }
          expect(location).to.not.equal(null);
          const formatted = formatS3Path(location!);
          expect(parseS3Path(formatted), formatted).to.deep.equal(location);
          expect(formatS3Path(parseS3Path(formatted)!)).to.equal(formatted);
          if (location!.prefix) expect(location!.prefix.split('/')).to.not.include('');
        }),
        { numRuns: 3000 },
      );
    });

    it('any input gives null, a valid location or a UserInputError, never another error', () => {
      const anything = fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }).map((text) => `s3://${text}`),
        path,
      );
      fc.assert(
        fc.property(anything, (raw) => {
          try {
            const location = parseS3Path(raw);
            if (location) expect(bucketNameProblem(location.bucket)).to.equal(undefined);
          } catch (error) {
            expect(error).to.be.instanceOf(UserInputError);
            expect((error as Error).message).to.match(/^MetadataAndBackupS3Path ".*Fix: /s);
          }
        }),
        { numRuns: 3000 },
      );
    });
  });
});
