/**
 * Suites that set up local deployments: the functions' environment they set (the variables of
 * `ENVIRONMENT` and `AWS_REGION`) is put back as it was once the suite ends, and their executions
 * can run with the logs off (failed parts log errors on purpose).
 */
import { ENVIRONMENT } from '#shared/run/deployment';

/** Registers the suite's `before` and `after` hooks that save and restore the functions' environment. */
export function restoreDeploymentEnvironmentAfterSuite(): void {
  const saved: Record<string, string | undefined> = {};
  before(() => {
    for (const name of [...Object.values(ENVIRONMENT), 'AWS_REGION']) saved[name] = process.env[name];
  });
  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

/** Runs `work` with `LOG_LEVEL=silent`, then puts the level back. */
export async function withLogsOff<T>(work: () => Promise<T>): Promise<T> {
  const logLevel = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = 'silent';
  try {
    return await work();
  } finally {
    if (logLevel === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = logLevel;
  }
}
