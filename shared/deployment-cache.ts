import { deploymentFromEnvironment, type Deployment } from './deployment.ts';

let cached: Deployment | undefined;

/** The deployment of this function instance, read from the environment on first use. */
export function currentDeployment(): Deployment {
  cached ??= deploymentFromEnvironment();
  return cached;
}
