/**
 * `package`: builds the deployment package (`osls package`) offline, with no AWS credentials, into
 * `.serverless/`, for the region of the AWS CLI's chain. Deployment parameters default to a local
 * demo deployment; each `--param="name=value"` given replaces that default, and `--param="name="`
 * makes a parameter empty (for example `metadataAndBackupS3Path=` to package with the feature off).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '#local/python-env';
import { resolveRegion, type AwsOptions } from '#cli/aws-options';
import type { CliIo } from '#cli/io';

export const DEFAULT_PARAMETERS: Record<string, string> = {
  groupName: 'demo',
  metadataAndBackupS3Path: 's3://clonesquad-cmdb-local/clonesquad',
};

const OSLS = join(PROJECT_ROOT, 'node_modules', '.bin', 'osls');

/**
 * The osls command line: the default parameters not overridden, then the arguments as given. osls
 * refuses `--param="name="`, but trims a trailing space, so an empty value is passed as `name= `.
 */
export function packageArguments(args: string[], defaults = DEFAULT_PARAMETERS): string[] {
  const passed: string[] = [];
  const given = new Set<string>();
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
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
  return ['package', ...fromDefaults, ...passed];
}

/**
 * Environment of the osls process: dummy credentials and no profile, so nothing can reach a real
 * account (packaging needs none), and no endpoint override inherited from a local run.
 */
export function offlineEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
  return {
    ...clean,
    AWS_ACCESS_KEY_ID: 'offline-packaging',
    AWS_SECRET_ACCESS_KEY: 'offline-packaging',
    AWS_REGION: 'us-east-1',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface PackageResult {
  status: number;
  output: string;
}

/** Runs `osls package`; `echo` streams its output, which is always returned too. */
export function packageService(args: string[] = [], { echo = false } = {}): Promise<PackageResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(OSLS, packageArguments(args), {
      cwd: PROJECT_ROOT,
      env: offlineEnvironment(),
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

export interface PackageOptions extends AwsOptions {
  param?: string[];
  stage?: string;
  package?: string;
}

/** Packages for the resolved region; `oslsArguments` (given after `--`) are passed to osls as they are. */
export async function packageCommand(options: PackageOptions, oslsArguments: string[], io: CliIo): Promise<number> {
  // osls ignores AWS_REGION and AWS_DEFAULT_REGION: it is given the region of the chain explicitly.
  const region = await resolveRegion(options, io.env ?? process.env);
  io.stderr(`packaging for ${region}`);
  const args = [
    ...(options.param ?? []).map((param) => `--param=${param}`),
    ...(options.stage !== undefined ? ['--stage', options.stage] : []),
    ...(options.package !== undefined ? ['--package', options.package] : []),
    '--region',
    region,
    ...oslsArguments,
  ];
  return (await packageService(args, { echo: true })).status;
}
