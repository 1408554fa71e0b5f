/**
 * Peak memory of the exports, each in a fresh `node` process running a bundle of
 * bench/memory-child.ts (the exporters and in-process AWS, no TypeScript loader).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '#local/python-env';

const run = promisify(execFile);

export interface MemoryFigure {
  scenario: 'baseline' | 'instances' | 'rows';
  size: number;
  baselineMiB: number;
  peakMiB: number;
}

export async function bundleMemoryChild(outdir: string): Promise<string> {
  const file = join(outdir, 'memory-child.js');
  await build({
    entryPoints: [join(PROJECT_ROOT, 'bench', 'memory-child.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'silent',
  });
  return file;
}

/** Runs `scenario` in a fresh `node` (with `nodeOptions`, e.g. a heap limit) and answers its peak RSS. */
export async function measurePeak(
  child: string,
  scenario: MemoryFigure['scenario'],
  size: number,
  nodeOptions: string[] = [],
): Promise<MemoryFigure> {
  const { stdout } = await run(process.execPath, [...nodeOptions, child, scenario, String(size)], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as MemoryFigure;
}
