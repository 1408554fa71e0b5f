/**
 * The deployment package (`osls package`), built offline, with no AWS credentials, into
 * `.serverless/`, for the region of `--region`, else of the AWS CLI's chain (`AWS_REGION`,
 * `AWS_DEFAULT_REGION`, the profile's), refused when there is none (osls itself would silently take
 * us-east-1). Deployment parameters default to a local demo deployment serving every group; each
 * `--param="name=value"` given replaces that default, and `--param="name="` makes a parameter empty
 * (for example `metadataAndBackupS3Path=` to package with the feature off).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '#local/python-env';
import { resolveRegion } from '#shared/aws/region';

export const DEFAULT_PARAMETERS: Record<string, string> = {
  metadataAndBackupS3Path: 's3://clonesquad-cmdb-local/clonesquad',
};

const OSLS = join(PROJECT_ROOT, 'node_modules', '.bin', 'osls');

/**
 * The osls command line: the default parameters not overridden, then the arguments as given. osls
 * refuses `--param="name="`, but trims a trailing space, so an empty value is passed as `name= `.
 */
export function packageArguments(args: string[], region: string, defaults = DEFAULT_PARAMETERS): string[] {
  const passed: string[] = [];
  const given = new Set<string>();
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    if (arg === '--region' || arg === '-r' || arg === '--aws-profile') {
      index += 1;
      continue;
    }
    if (arg.startsWith('--region=') || arg.startsWith('--aws-profile=')) continue;
    const param = arg.startsWith('--param=') ? arg.slice('--param='.length) : arg === '--param' ? args[++index] : null;
    if (param === null) {
      passed.push(arg);
      continue;
    }
    if (param === undefined) throw new Error('--param needs a value: --param="name=value"');
    const name = param.split('=')[0];
    given.add(name);
    passed.push(`--param=${param.endsWith('=') ? `${param} ` : param}`);
  }
  const fromDefaults = Object.entries(defaults)
    .filter(([name]) => !given.has(name))
    .map(([name, value]) => `--param=${name}=${value}`);
  return ['package', '--region', region, ...fromDefaults, ...passed];
}

/**
 * Environment of the osls process: dummy credentials and no profile, so nothing can reach a real
 * account (packaging needs none), and no endpoint override inherited from a local run.
 */
export function offlineEnvironment(region: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
  return {
    ...clean,
    AWS_ACCESS_KEY_ID: 'offline-packaging',
    AWS_SECRET_ACCESS_KEY: 'offline-packaging',
    AWS_REGION: region,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface PackageResult {
  status: number;
  output: string;
}

/** The value of option `name` among osls arguments (`--name value` or `--name=value`). */
function optionValue(args: string[], ...names: string[]): string | undefined {
  for (let index = 0; index < args.length; index += 1) {
    for (const name of names) {
      if (args[index] === name) return args[index + 1];
      if (args[index].startsWith(`${name}=`)) return args[index].slice(name.length + 1);
    }
  }
  return undefined;
}

/**
 * Runs `osls package` for the region of `--region` or the SDK chain (refused without one); `echo`
 * streams its output, which is always returned too.
 */
export async function packageService(
  args: string[] = [],
  { echo = false, env = process.env }: { echo?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<PackageResult> {
  const region = await resolveRegion(
    { region: optionValue(args, '--region', '-r'), profile: optionValue(args, '--aws-profile') },
    env,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(OSLS, packageArguments(args, region), {
      cwd: PROJECT_ROOT,
      env: offlineEnvironment(region, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (echo) stream.write(chunk);
    };
    child.stdout.on('data', collect(process.stdout));
    child.stderr.on('data', collect(process.stderr));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), output }));
  });
}
