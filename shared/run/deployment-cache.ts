import { ENVIRONMENT, settingsFromEnvironment, type ServiceSettings } from '#shared/run/deployment';

let cached: { key: string; settings: ServiceSettings } | undefined;

/**
 * The settings of this function instance, read from the environment on first use. Read again if the
 * environment changed: never on Lambda, but local runs and tests set up several deployments in one
 * process.
 */
export function currentSettings(): ServiceSettings {
  const key = JSON.stringify(Object.values(ENVIRONMENT).map((name) => process.env[name] ?? null));
  if (cached?.key !== key) cached = { key, settings: settingsFromEnvironment() };
  return cached.settings;
}
