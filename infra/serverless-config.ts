/**
 * Everything serverless.yml takes from the deployment parameters, computed once at package time.
 * Loaded by deploy/parameters.js, which Serverless calls while it resolves `${file(...)}`.
 */
import { formatS3Path } from '#shared/aws/s3-path';
import {
  checkParameterNames,
  functionEnvironment,
  PARAMETERS,
  resolveParameters,
  resourceNames,
  type RawParameters,
} from '#infra/deployment-config';
import { functionStatements, stateMachineStatements } from '#infra/iam';
import { triggerResources } from '#infra/triggers';

export interface ServerlessInput {
  /** Values of `${param:name}` (null when not given). */
  parameters: RawParameters;
  /** Names given with `--param`, checked for typos. */
  givenNames: string[];
  stage: string;
}

export function serverlessConfig({ parameters: raw, givenNames, stage }: ServerlessInput) {
  checkParameterNames(givenNames);
  const parameters = resolveParameters(raw);
  const names = resourceNames(parameters.groupName, stage);
  return {
    /** The resolved parameters, for reading (`sls print`) and for other parts of serverless.yml. */
    parameters: {
      ...parameters,
      metadataAndBackupS3Path: parameters.destination ? formatS3Path(parameters.destination) : '',
      enabled: parameters.destination !== null,
    },
    names,
    environment: functionEnvironment(parameters, names),
    statements: { ...functionStatements(parameters, names), workflow: stateMachineStatements(parameters) },
    /** Schedule, stream mapping and `backup` API (deploy/triggers.ts), merged into `resources`. */
    triggers: triggerResources(parameters, names, stage),
  };
}

export const PARAMETER_NAMES = Object.keys(PARAMETERS) as (keyof typeof PARAMETERS)[];
