/**
 * The AWS region a command or a deployment acts in, never a silent default: `--region` when given,
 * else `AWS_REGION`, else `AWS_DEFAULT_REGION` (the AWS CLI's variable, which the SDK alone does not
 * read), else the region of the profile in the shared config file (`--profile`, else `AWS_PROFILE`,
 * else `default`), as the SDK's own loader reads it. Without any, it refuses, saying how to give one.
 */
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { quoteInput, UserInputError } from '#shared/aws/errors';

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export interface RegionChoice {
  region: string;
  /** Where it came from, for messages: `--region`, `AWS_REGION`, `profile default`… */
  source: string;
}

export async function resolveRegion(
  given: { region?: string; profile?: string },
  env: Record<string, string | undefined> = process.env,
): Promise<RegionChoice> {
  const choice = await findRegion(given, env);
  if (!choice) {
    throw new UserInputError(
      'region',
      'none is given: no --region, AWS_REGION or AWS_DEFAULT_REGION, and no region in the AWS profile',
      'pass --region (for example --region eu-west-1), or set AWS_REGION',
    );
  }
  if (!REGION_NAME.test(choice.region)) {
    throw new UserInputError(
      `${choice.source} ${quoteInput(choice.region)}`,
      'it is not an AWS region name',
      'write it like eu-west-1',
    );
  }
  return choice;
}

async function findRegion(
  given: { region?: string; profile?: string },
  env: Record<string, string | undefined>,
): Promise<RegionChoice | undefined> {
  if (given.region?.trim()) return { region: given.region.trim(), source: '--region' };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION']) {
    const value = env[name]?.trim();
    if (value) return { region: value, source: name };
  }
  const profile = given.profile?.trim() || env.AWS_PROFILE?.trim() || 'default';
  try {
    const region = await loadConfig(
      // Environment variables are read above, in the AWS CLI's order.
      { ...NODE_REGION_CONFIG_OPTIONS, environmentVariableSelector: () => undefined },
      { ...NODE_REGION_CONFIG_FILE_OPTIONS, profile },
    )();
    return region ? { region, source: `profile ${profile}` } : undefined;
  } catch {
    return undefined;
  }
}
