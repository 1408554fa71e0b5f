/**
 * The AWS region a command or a deployment acts in, as the AWS CLI finds it, never a silent default:
 * `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION` (the AWS CLI's variable, which the SDK
 * alone does not read), else the region of the profile in effect (`--profile`, else `AWS_PROFILE`,
 * else `default`) in the shared config files, read by the SDK's own loader. With none of them, it
 * refuses, saying how to give one.
 */
import { loadConfig, loadSharedConfigFiles, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { UserInputError } from '#shared/aws/errors';

type Environment = Record<string, string | undefined>;

export interface AwsOptions {
  region?: string;
  profile?: string;
}

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The profile in effect: `--profile`, else AWS_PROFILE, else `default`. */
function profileOf(options: AwsOptions, env: Environment): { name: string; from: string } {
  if (options.profile != null) return { name: options.profile, from: `--profile "${options.profile}"` };
  if (env.AWS_PROFILE) return { name: env.AWS_PROFILE, from: `AWS_PROFILE "${env.AWS_PROFILE}"` };
  return { name: 'default', from: 'profile "default"' };
}

export function configFiles(env: Environment) {
  return { configFilepath: env.AWS_CONFIG_FILE || undefined, filepath: env.AWS_SHARED_CREDENTIALS_FILE || undefined };
}

const configFileShown = (env: Environment) => env.AWS_CONFIG_FILE || '~/.aws/config';

/** Refuses a profile named by --profile or AWS_PROFILE that neither shared file defines. */
async function checkProfileExists(options: AwsOptions, env: Environment): Promise<void> {
  const profile = profileOf(options, env);
  if (options.profile == null && !env.AWS_PROFILE) return;
  const { configFile, credentialsFile } = await loadSharedConfigFiles(configFiles(env));
  if (profile.name in configFile || profile.name in credentialsFile) return;
  throw new UserInputError(
    profile.from,
    `no such profile in ${configFileShown(env)} or ${env.AWS_SHARED_CREDENTIALS_FILE || '~/.aws/credentials'}`,
    `check the name (aws configure list-profiles lists them), or create it with aws configure --profile ${profile.name}`,
  );
}

/** The region the profile in effect names in the shared config files, as the SDK reads it. */
async function profileRegion(profile: string, env: Environment): Promise<string | undefined> {
  return loadConfig(
    {
      environmentVariableSelector: () => undefined,
      configFileSelector: NODE_REGION_CONFIG_OPTIONS.configFileSelector,
      // No instance-metadata lookup: off EC2 it only adds a timeout before the same refusal.
      default: () => undefined,
    },
    { profile, preferredFile: 'credentials', ...configFiles(env) },
  )();
}

/** The region of the command, from the AWS CLI's chain; refused when none names one. */
export async function resolveRegion(options: AwsOptions, env: Environment = process.env): Promise<string> {
  await checkProfileExists(options, env);
  const profile = profileOf(options, env);
  const [region, source] =
    options.region != null
      ? [options.region, '--region']
      : env.AWS_REGION
        ? [env.AWS_REGION, 'AWS_REGION']
        : env.AWS_DEFAULT_REGION
          ? [env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION']
          : [await profileRegion(profile.name, env), `the region of ${profile.from} in ${configFileShown(env)}`];
  if (region === undefined || region === '') {
    throw new UserInputError(
      '--region',
      `it is not given, and neither AWS_REGION, AWS_DEFAULT_REGION nor ${profile.from} in ${configFileShown(env)} names a region`,
      `pass --region, for example --region eu-west-1, or set the profile's region with aws configure set region eu-west-1 --profile ${profile.name}`,
    );
  }
  if (!REGION_NAME.test(region)) {
    throw new UserInputError(`${source} "${region}"`, 'it is not an AWS region name', 'write it like eu-west-1');
  }
  return region;
}
