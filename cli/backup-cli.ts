/**
 * What `restore` and `backups` share: the options that name a deployment's backup partition, and
 * how they are resolved (account from STS unless given, region from the AWS CLI's chain, path from
 * METADATA_AND_BACKUP_S3_PATH unless given).
 */
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ENVIRONMENT } from '#shared/run/deployment';
import { groupNameProblem } from '#shared/run/group-name';
import { UserInputError } from '#shared/aws/errors';
import type { PartitionIdentity } from '#shared/aws/s3-layout';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { resolveRegion, type AwsOptions } from '#cli/aws-options';
import type { Environment } from '#cli/io';

export interface PartitionOptions extends AwsOptions {
  group: string;
  s3Path?: string;
  account?: string;
}

export function checkGroupName(group: string): string {
  const problem = groupNameProblem(group);
  if (problem) {
    throw new UserInputError(
      `--group "${group}"`,
      `the name ${problem}`,
      'give the GroupName of the CloneSquad deployment',
    );
  }
  return group;
}

/** The root path and partition of the group's backups. */
export async function resolvePartition(
  sts: STSClient,
  options: PartitionOptions,
  env: Environment = process.env,
): Promise<{ root: S3Location; identity: PartitionIdentity }> {
  const groupName = checkGroupName(options.group);
  const region = await resolveRegion(options, env);
  const root = parseS3Path(options.s3Path ?? env[ENVIRONMENT.destination]);
  if (!root) {
    throw new UserInputError(
      '--s3-path',
      `it is not given and ${ENVIRONMENT.destination} is not set`,
      'pass the MetadataAndBackupS3Path of the deployment, e.g. --s3-path s3://my-bucket/clonesquad',
    );
  }
  return { root, identity: { accountId: await accountIdOf(sts, options), region, groupName } };
}

/** `--account`, or else the caller's account (STS GetCallerIdentity). */
export async function accountIdOf(sts: STSClient, options: { account?: string }): Promise<string> {
  if (options.account === undefined) {
    const accountId = (await sts.send(new GetCallerIdentityCommand({}))).Account;
    if (!accountId) throw new Error('STS GetCallerIdentity answered no account id; pass --account');
    return accountId;
  }
  if (!/^\d{12}$/.test(options.account)) {
    throw new UserInputError(
      `--account "${options.account}"`,
      'it is not a 12-digit AWS account id',
      'pass --account 123456789012',
    );
  }
  return options.account;
}
