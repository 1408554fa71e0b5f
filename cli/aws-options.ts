/**
 * `--region` and `--profile` as the AWS CLI has them, for every command that talks to AWS.
 *
 * Region: `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region`
 * (read by the SDK's own config loader from ~/.aws/config, or AWS_CONFIG_FILE); with none of them
 * the command is refused, never run in a region picked by default. Credentials: the profile's
 * (`--profile` wins over credentials in the environment, as with the AWS CLI), else the SDK's
 * default chain. `AWS_ENDPOINT_URL` still points every client at one endpoint (the local emulator).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { fromIni } from '@aws-sdk/credential-providers';
import { loadConfig, loadSharedConfigFiles, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { clientSettings, s3ClientSettings, type ClientSettings } from '#shared/aws/clients';
import { UserInputError } from '#shared/aws/errors';
import type { AwsClients, Environment } from '#cli/io';

export interface AwsOptions {
  region?: string;
  profile?: string;
}

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The profile in effect: `--profile`, else AWS_PROFILE, else `default`. */
function profileOf(options: AwsOptions, env: Environment): { name: string; from: string } {
  if (options.profile !== undefined) return { name: options.profile, from: `--profile "${options.profile}"` };
  if (env.AWS_PROFILE) return { name: env.AWS_PROFILE, from: `AWS_PROFILE "${env.AWS_PROFILE}"` };
  return { name: 'default', from: 'profile "default"' };
}

function configFiles(env: Environment) {
  return { configFilepath: env.AWS_CONFIG_FILE || undefined, filepath: env.AWS_SHARED_CREDENTIALS_FILE || undefined };
}

const configFileShown = (env: Environment) => env.AWS_CONFIG_FILE || '~/.aws/config';

/** Refuses a profile named by --profile or AWS_PROFILE that neither shared file defines. */
async function checkProfileExists(options: AwsOptions, env: Environment): Promise<void> {
  const profile = profileOf(options, env);
  if (options.profile === undefined && !env.AWS_PROFILE) return;
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
    options.region !== undefined
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

export interface AwsClientSettings extends ClientSettings {
  region: string;
  credentials?: ReturnType<typeof fromIni>;
}

/** Settings for an SDK client of the command: its region, the profile's credentials, AWS_ENDPOINT_URL. */
export async function awsClientSettings(
  options: AwsOptions,
  env: Environment = process.env,
): Promise<AwsClientSettings> {
  const region = await resolveRegion(options, env);
  const settings = { ...clientSettings(env), region };
  if (options.profile === undefined) return settings;
  // Loaded only with a profile: the provider package is large, and the default chain needs none of it.
  const credentials = await import('@aws-sdk/credential-providers');
  return { ...settings, credentials: credentials.fromIni({ profile: options.profile, ...configFiles(env) }) };
}

/** The command's clients: those of `io` (tests), else built for --region and --profile. */
export async function awsClients(
  options: AwsOptions,
  io: { env?: Environment; clients?: AwsClients },
): Promise<AwsClients> {
  if (io.clients) return io.clients;
  const env = io.env ?? process.env;
  const settings = await awsClientSettings(options, env);
  return {
    dynamodb: new DynamoDBClient(settings),
    s3: new S3Client({ ...s3ClientSettings(env), ...settings }),
    sts: new STSClient(settings),
  };
}
