/** `package`: the deployment package for the resolved region (local/package.ts builds it). */
import { packageService } from '#local/package';
import { resolveRegion, type AwsOptions } from '#shared/aws/region';
import type { CliIo } from '#cli/io';

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
