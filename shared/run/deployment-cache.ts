import { deploymentFromEnvironment, ENVIRONMENT, type Deployment } from '#shared/run/deployment';

let cached: { key: string; deployment: Deployment } | undefined;

/**
 * The deployment of this function instance, read from the environment on first use. Read again if
 * the environment changed: never on Lambda, but local runs and tests set up several deployments in
 * one process.
 */
export function currentDeployment(): Deployment {
  const key = JSON.stringify(Object.values(ENVIRONMENT).map((name) => process.env[name] ?? null));
  if (cached?.key !== key) cached = { key, deployment: deploymentFromEnvironment() };
  return cached.deployment;
}
