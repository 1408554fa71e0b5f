/**
 * `policies`: with no option, regenerates infra/generated/central-bucket-stack.json; with
 * `--s3-path`, `--org-id`, `--account` and `--region` (and any `--reader-arn`), writes the two
 * documents of an existing bucket instead: DIR/bucket-policy.json and DIR/kms-key-policy.json.
 * Both print the object ownership the bucket needs, which no policy can set.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserInputError } from '#shared/aws/errors';
import { parseS3Path } from '#shared/aws/s3-path';
import {
  bucketPolicy,
  centralBucketStackTemplate,
  checkPolicyValues,
  GENERATED_CENTRAL_STACK,
  kmsKeyPolicy,
  objectOwnershipAdvice,
  type PolicyValues,
} from '#infra/central-bucket';

export const DEFAULT_POLICIES_OUT = join(__dirname, '..', 'infra', 'generated');

export interface PoliciesOptions {
  s3Path?: string;
  orgId?: string;
  account?: string;
  region?: string;
  readerArn?: string[];
  out: string;
}

export type PoliciesRequest = { kind: 'stack' } | { kind: 'documents'; values: PolicyValues; out: string };

/** What the options ask for, checked: the stack template, or the documents of one bucket. */
export function policiesRequest(options: PoliciesOptions): PoliciesRequest {
  const given = {
    '--s3-path': options.s3Path,
    '--org-id': options.orgId,
    '--account': options.account,
    '--region': options.region,
  };
  if (Object.values(given).every((value) => value === undefined) && (options.readerArn ?? []).length === 0) {
    return { kind: 'stack' };
  }
  for (const [name, value] of Object.entries(given)) {
    if (!value) {
      throw new UserInputError(
        name,
        'it is missing',
        'give --s3-path, --org-id, --account and --region together (or none of them, to regenerate the stack template)',
      );
    }
  }
  const root = parseS3Path(options.s3Path);
  if (!root) throw new UserInputError('--s3-path', 'it is empty', "give the deployments' MetadataAndBackupS3Path");
  return {
    kind: 'documents',
    values: checkPolicyValues({
      root,
      organizationId: options.orgId!,
      account: options.account!,
      region: options.region!,
      readers: options.readerArn ?? [],
    }),
    out: resolve(options.out),
  };
}

/** Written as Prettier would format it, so `npm run check` stays clean after a regeneration. */
async function writeJson(path: string, value: unknown, io: PoliciesIo): Promise<void> {
  const prettier = await import('prettier');
  const text = await prettier.format(JSON.stringify(value), {
    ...(await prettier.resolveConfig(path)),
    filepath: path,
  });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  io.print(`wrote ${path}`);
}

export interface PoliciesIo {
  print: (line: string) => void;
  /** Where the stack template goes (default: infra/generated/central-bucket-stack.json). */
  stackFile?: string;
}

export async function policiesCommand(options: PoliciesOptions, io: PoliciesIo): Promise<number> {
  const request = policiesRequest(options);
  if (request.kind === 'stack') {
    await writeJson(io.stackFile ?? GENERATED_CENTRAL_STACK, centralBucketStackTemplate(), io);
    for (const line of objectOwnershipAdvice(null)) io.print(line);
    return 0;
  }
  const { values, out } = request;
  await writeJson(join(out, 'bucket-policy.json'), bucketPolicy(values), io);
  await writeJson(join(out, 'kms-key-policy.json'), kmsKeyPolicy(values), io);
  for (const line of objectOwnershipAdvice({ bucket: values.root.bucket, region: values.region })) io.print(line);
  return 0;
}
