/**
 * Deployment zip sizes, from the artefacts themselves: `osls package` (as `clonesquad-backup package`
 * runs it, offline) writes one zip per function to `.serverless/`. Each is compared with the size
 * recorded in bench/zip-size-targets.json plus its allowed growth: a bundle that grows past that has
 * pulled in code (an SDK client, a library) it did not need before, which every cold start pays for.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { packageService } from '#local/package';
import { PROJECT_ROOT } from '#local/python-env';
import { FUNCTION_DESCRIPTIONS } from '#infra/functions';

export interface ZipTargets {
  measured: string;
  allowedGrowth: number;
  bytes: Record<string, number>;
}

export interface ZipSize {
  name: string;
  bytes: number;
  /** The recorded size, or undefined for a function that had none. */
  recorded?: number;
  limit?: number;
}

export const ZIP_TARGETS_FILE = join(PROJECT_ROOT, 'bench', 'zip-size-targets.json');

export async function measureZipSizes(region = 'eu-west-1'): Promise<{ sizes: ZipSize[]; targets: ZipTargets }> {
  const packaged = await packageService(['--region', region]);
  if (packaged.status !== 0) throw new Error(`osls package failed (exit ${packaged.status}):\n${packaged.output}`);
  const targets = JSON.parse(await readFile(ZIP_TARGETS_FILE, 'utf8')) as ZipTargets;
  const sizes: ZipSize[] = [];
  for (const name of Object.keys(FUNCTION_DESCRIPTIONS)) {
    const bytes = (await stat(join(PROJECT_ROOT, '.serverless', `${name}.zip`))).size;
    const recorded = targets.bytes[name];
    sizes.push({
      name,
      bytes,
      recorded,
      limit: recorded === undefined ? undefined : Math.floor(recorded * (1 + targets.allowedGrowth)),
    });
  }
  return { sizes, targets };
}
