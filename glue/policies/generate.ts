/**
 * `npm run policies` regenerates glue/policies/central-bucket-stack.json.
 *
 * `npm run policies -- --s3-path s3://bucket/prefix --org-id o-… --account 111122223333 --region eu-west-1
 *  [--reader-arn ROLE_ARN …] [--out DIR]` writes the two documents for an existing bucket:
 * DIR/bucket-policy.json and DIR/kms-key-policy.json (DIR defaults to glue/generated).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserInputError } from '../../shared/errors.ts';
import { parseS3Path } from '../../shared/s3-path.ts';
import {
  bucketPolicy,
  centralBucketStackTemplate,
  checkPolicyValues,
  GENERATED_CENTRAL_STACK,
  kmsKeyPolicy,
  type PolicyValues,
} from './central-bucket.ts';

const DEFAULT_OUT = join(__dirname, '..', 'generated');

export interface PolicyOptions {
  values: PolicyValues;
  out: string;
}

/** The options of the second form; `null` for the first (no option given). */
export function parsePolicyOptions(args: string[]): PolicyOptions | null {
  const { values } = parseArgs({
    args,
    options: {
      's3-path': { type: 'string' },
      'org-id': { type: 'string' },
      account: { type: 'string' },
      region: { type: 'string' },
      'reader-arn': { type: 'string', multiple: true },
      out: { type: 'string', default: DEFAULT_OUT },
    },
  });
  const given = ['s3-path', 'org-id', 'account', 'region'] as const;
  if (given.every((name) => values[name] === undefined) && !values['reader-arn']) return null;
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
async function writeJson(path: string, value: unknown): Promise<void> {
  const prettier = await import('prettier');
  const text = await prettier.format(JSON.stringify(value), {
    ...(await prettier.resolveConfig(path)),
    filepath: path,
  });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  console.log(`wrote ${path}`);
}

async function main(): Promise<void> {
  const options = parsePolicyOptions(process.argv.slice(2));
  if (!options) {
    await writeJson(GENERATED_CENTRAL_STACK, centralBucketStackTemplate());
    return;
  }
  await writeJson(join(options.out, 'bucket-policy.json'), bucketPolicy(options.values));
  await writeJson(join(options.out, 'kms-key-policy.json'), kmsKeyPolicy(options.values));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
