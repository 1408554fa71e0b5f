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
import { clientSettings, s3ClientSettings, type ClientSettings } from '#shared/aws/clients';
import { configFiles, resolveRegion, type AwsOptions } from '#shared/aws/region';
import type { AwsClients, Environment } from '#cli/io';

export { resolveRegion, type AwsOptions };

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
