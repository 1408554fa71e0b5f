/**
 * Runs bench/child.ts measurements, each in a fresh `node` process running a bundle of it (the
 * exporters and in-process AWS; no TypeScript loader, no heap left over from another measurement).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '#local/python-env';
import type { ScenarioResult } from '#bench/scenarios';

const run = promisify(execFile);

export interface MemoryFigure {
  scenario: 'baseline' | 'instances' | 'configuration';
  size: number;
  baselineMiB: number;
  peakMiB: number;
  calls?: ScenarioResult['calls'];
  bytes?: number;
}

export interface TimedRun {
  ms: number;
  cpuMs: number;
  bytes: number;
}

export interface Comparison {
  scenario: 'instances' | 'rows';
  size: number;
  ours: (TimedRun & Pick<ScenarioResult, 'calls' | 'minimumCalls'>)[];
  bare: TimedRun[];
}

export async function bundleChild(outdir: string): Promise<string> {
  const file = join(outdir, 'child.js');
  await build({
    entryPoints: [join(PROJECT_ROOT, 'bench', 'child.ts')],
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

async function runChild(child: string, args: string[], nodeOptions: string[] = []): Promise<unknown> {
  const { stdout } = await run(process.execPath, [...nodeOptions, child, ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

/**
 * The heap sizes Lambda's Node.js runtime starts node with for a function of `memoryMb`: its bootstrap
 * script (`/var/runtime/bootstrap` of the nodejs images, as published for nodejs18.x; the 20.x and
 * 24.x scripts start alike) gives a tenth of the memory to the young generation, half of that per
 * semi-space, and the rest to the old generation, unless NODE_OPTIONS sets them, which this project
 * does not. Node's own default sizes the heap from the machine's memory instead,
 * 24 GiB here, which no Lambda has. The runtime's `--expose-gc` is left out: nothing calls gc().
 */
export function lambdaHeapOptions(memoryMb: number): string[] {
  const youngGeneration = Math.floor(memoryMb / 10);
  return [
    `--max-semi-space-size=${Math.floor(youngGeneration / 2)}`,
    `--max-old-space-size=${memoryMb - youngGeneration}`,
  ];
}

/** Peak RSS of one export (`nodeOptions`, e.g. heap sizes, given to node). */
export async function measurePeak(
  child: string,
  scenario: MemoryFigure['scenario'],
  size: number,
  nodeOptions: string[] = [],
): Promise<MemoryFigure> {
  return (await runChild(child, ['peak', scenario, String(size)], nodeOptions)) as MemoryFigure;
}

/** CPU and wall time of ours and of the bare reference in each of `runs` interleaved runs, after one warm-up each. */
export async function measureThroughput(
  child: string,
  scenario: Comparison['scenario'],
  size: number,
  runs: number,
): Promise<Comparison> {
  return (await runChild(child, ['compare', scenario, String(size), String(runs)])) as Comparison;
}
