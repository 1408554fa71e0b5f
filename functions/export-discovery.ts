import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { currentDeployment } from '#shared/run/deployment-cache';
import { isString, requireField } from '#shared/aws/handler-input';
import { exportDiscovery } from '#shared/metadata/discovery';
import type { MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { isRequested, notRequestedPart } from '#shared/run/run-request';
import { boundedPart, type PartResult } from '#shared/run/summary';

const clients = {
  cloudformation: new CloudFormationClient(clientSettings()),
  organizations: new OrganizationsClient(clientSettings()),
  ec2: new EC2Client(clientSettings()),
  s3: new S3Client(s3ClientSettings()),
  lambda: new LambdaClient(clientSettings()),
};

/** Event: `{ executionStartTime: ISO-8601, requestedParts? }`. */
export async function handler(event: unknown): Promise<MetadataPartResult | PartResult> {
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  if (!isRequested(event, 'metadata/discovery')) return notRequestedPart('metadata/discovery');
  return boundedPart(await exportDiscovery(clients, currentDeployment(), { executionStartTime }));
}
