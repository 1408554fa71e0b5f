import { quoteInput, UserInputError } from '#shared/aws/errors';

/** A value as a message shows it: quoted, every control character escaped (JSON leaves DEL and C1 raw). */
function quoted(text: string): string {
  return JSON.stringify(text).replace(
    /\p{Cc}/gu,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Where everything is written: `s3://bucket[/prefix]`, normalised (no empty segments). */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing `/`; empty when the bucket root is used. */
  prefix: string;
}

const PARAMETER = 'MetadataAndBackupS3Path';
const EXAMPLE = 's3://my-bucket/clonesquad';

/**
 * Parses `MetadataAndBackupS3Path`. Returns `null` when the value is empty (the feature is off)
 * and throws {@link UserInputError} for anything that is not an `s3://` URL with a valid bucket.
 */
export function parseS3Path(raw: string | undefined): S3Location | null {
  const value = (raw ?? '').trim();
  if (value === '') return null;
  const match = /^s3:\/\/([^/]*)(.*)$/.exec(value);
  if (!match) {
    throw new UserInputError(
      `${PARAMETER} ${quoteInput(value)}`,
      'it is not an s3:// URL',
      `give it as s3://bucket or s3://bucket/prefix, for example ${EXAMPLE}`,
    );
  }
  const [, bucket, rest] = match;
  const problem = bucketNameProblem(bucket);
  if (problem) {
    throw new UserInputError(
      `${PARAMETER} ${quoteInput(value)}`,
      `the bucket name ${quoteInput(bucket)} ${problem}`,
      `name an existing S3 bucket, for example ${EXAMPLE}`,
    );
  }
  const segments = rest.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    throw new UserInputError(
      `${PARAMETER} ${quoteInput(value)}`,
      'the prefix contains a "." or ".." segment',
      'write the prefix without relative segments',
    );
  }
  // The value is trimmed as a whole, so a segment ending in white space (`s3://b/a /`) would not
  // survive being written back as `s3://b/a `; such a prefix is almost always a typo anyway.
  const spaced = segments.find((segment) => /^\s|\s$/.test(segment));
  if (spaced !== undefined) {
    throw new UserInputError(
      `${PARAMETER} ${quoteInput(value)}`,
      `the prefix segment ${quoteInput(spaced)} begins or ends with white space`,
      'remove the white space around the "/" separators',
    );
  }
  // S3's key guidelines single out the ASCII control characters: its XML listings cannot return most of them.
  const control = [...rest].find((character) => character < ' ' || character === '\u007f');
  if (control !== undefined) {
    const codePoint = control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new UserInputError(
      `${PARAMETER} ${quoted(value)}`,
      `the prefix holds the control character U+${codePoint}, which S3 advises against in keys (its XML ` +
        'listings cannot return most of them)',
      'remove it from the prefix',
    );
  }
  return { bucket, prefix: segments.join('/') };
}

/** Why `name` is not a valid general-purpose S3 bucket name, or `undefined` when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name === '') return 'is missing';
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return 'may hold only lower-case letters, digits, dots and hyphens, and must begin and end with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name) || /(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) {
    return 'uses a prefix or suffix that S3 reserves';
  }
  return undefined;
}

/** The `s3://` URL of a location, as users write it. */
export function formatS3Path(location: S3Location): string {
  return location.prefix ? `s3://${location.bucket}/${location.prefix}` : `s3://${location.bucket}`;
}
