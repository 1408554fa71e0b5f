/**
 * Everything serverless.yml takes from the deployment parameters, computed once at package time:
 * the region, the functions and their roles (infra/functions.ts), their environment, and the
 * triggers (infra/triggers.ts). Loaded by infra/parameters.js, which Serverless calls while it
 * resolves `${file(...)}`.
 */
import { formatS3Path } from '#shared/aws/s3-path';
import { resolveRegion } from '#shared/aws/region';
import { cfn } from '#infra/cloudformation';
import {
  checkParameterNames,
  functionEnvironment,
  PARAMETERS,
  resolveParameters,
  resourceNames,
  type RawParameters,
} from '#infra/deployment-config';
import { roleResources, serverlessFunctions } from '#infra/functions';
import { triggerResources } from '#infra/triggers';

export interface ServerlessInput {
  /** Values of `${param:name}` (null when not given). */
  parameters: RawParameters;
  /** Names given with `--param`, checked for typos. */
  givenNames: string[];
  stage: string;
  /** `--region` and `--aws-profile` as osls received them. */
  region?: string;
  profile?: string;
  env?: Record<string, string | undefined>;
}

export async function serverlessConfig(input: ServerlessInput) {
  checkParameterNames(input.givenNames);
  const parameters = resolveParameters(input.parameters);
  const region = await resolveRegion({ region: input.region, profile: input.profile }, input.env);
  const names = resourceNames(parameters.groupName, input.stage);
  const triggers = triggerResources(parameters, names, input.stage);
  return {
    region,
    /** The resolved parameters, for reading (`sls print`) and for other parts of serverless.yml. */
    parameters: {
      ...parameters,
      groupName: parameters.groupName ?? '',
      metadataAndBackupS3Path: parameters.destination ? formatS3Path(parameters.destination) : '',
      enabled: parameters.destination !== null,
    },
    names,
    environment: Object.fromEntries(
      Object.entries(functionEnvironment(parameters, names)).map(([name, value]) => [name, cfn(value)]),
    ),
    functions: serverlessFunctions(names),
    resources: {
      Resources: { ...roleResources(parameters, names), ...triggers.Resources },
      Outputs: triggers.Outputs,
    },
  };
}

export const PARAMETER_NAMES = Object.keys(PARAMETERS) as (keyof typeof PARAMETERS)[];
