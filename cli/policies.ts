/**
 * `npm run policies` regenerates infra/generated/central-bucket-stack.json.
 *
 * `npm run policies -- --s3-path s3://bucket/prefix --org-id o-… --account 111122223333 --region eu-west-1
 *  [--reader-arn ROLE_ARN …] [--out DIR]` writes the two documents for an existing bucket:
 * DIR/bucket-policy.json and DIR/kms-key-policy.json (DIR defaults to glue/generated).
 *
 * Both print the object ownership the bucket needs, which no policy can set.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '#cli/backup-cli';
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

const DEFAULT_OUT = join(__dirname, '..', 'infra', 'generated');

export const USAGE = `Usage: npm run policies [-- options]
With no option, regenerates infra/generated/central-bucket-stack.json, the central bucket stack.
With the four options below, writes the policies of an existing bucket instead:
  --s3-path PATH     the deployments' MetadataAndBackupS3Path, s3://bucket[/prefix]
  --org-id ID        the AWS Organization whose accounts run deployments (o-…)
  --account ID       the central account, which owns the bucket and its KMS key
  --region REGION    the bucket's region
  --reader-arn ARN   a role or user of the central account that reads the metadata tables (repeatable)
  --out DIR          where to write bucket-policy.json and kms-key-policy.json (default infra/generated)
  --help             show this help
Exit code: 0 written, 1 failed, 2 bad usage or input.`;

export type PoliciesRequest =
  { kind: 'help' } | { kind: 'stack' } | { kind: 'documents'; values: PolicyValues; out: string };

export function parsePolicyOptions(args: string[]): PoliciesRequest {
  const { values } = parseArgs({
    args,
    options: {
      's3-path': { type: 'string' },
      'org-id': { type: 'string' },
      account: { type: 'string' },
      region: { type: 'string' },
      'reader-arn': { type: 'string', multiple: true },
      out: { type: 'string', default: DEFAULT_OUT },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { kind: 'help' };
  const given = ['s3-path', 'org-id', 'account', 'region'] as const;
  if (given.every((name) => values[name] === undefined) && !values['reader-arn']) return { kind: 'stack' };
  for (const name of given) {
    if (!values[name]) {
      throw new UserInputError(
        `--${name}`,
        'it is missing',
        'give --s3-path, --org-id, --account and --region together (or none of them, to regenerate the stack template)',
      );
    }
  }
  const root = parseS3Path(values['s3-path']);
  if (!root) throw new UserInputError('--s3-path', 'it is empty', "give the deployments' MetadataAndBackupS3Path");
  return {
    kind: 'documents',
    values: checkPolicyValues({
      root,
      organizationId: values['org-id']!,
      account: values.account!,
      region: values.region!,
      readers: values['reader-arn'] ?? [],
    }),
    out: resolve(values.out),
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

export async function policiesCommand(args: string[], io: PoliciesIo): Promise<number> {
  const request = parsePolicyOptions(args);
  if (request.kind === 'help') {
    io.print(USAGE);
    return 0;
  }
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

if (require.main === module) {
  runCli(() => policiesCommand(process.argv.slice(2), { print: (line) => console.log(line) }), USAGE);
}
