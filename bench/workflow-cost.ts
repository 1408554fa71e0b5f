/**
 * Workflow cost and end-to-end time: local runs (`runLocal`, as `npm run local`) of the sample group
 * twice with the same mirror (the second is the steady state: every partition already exists), and
 * of a generated group of 2,500 instances. Each run is a process of its own (bench/local-child.ts).
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { PROJECT_ROOT } from '#local/python-env';
import type { LocalRunFigures } from '#bench/local-child';
import { CRAWLER_DPUS, CRAWLER_MINIMUM_HOURS, EXECUTIONS_PER_MONTH, PRICES, S3_PUT_CLASS } from '#bench/prices';

const run = promisify(execFile);
export const SAMPLE_SEED = join(PROJECT_ROOT, 'local', 'sample-seed.yaml');

export interface LocalRun extends LocalRunFigures {
  /** Wall ms of the whole process (`tsx` start included). */
  processMs: number;
}

/** Runs bench/local-child.ts; `out` is its mirror folder, kept between runs given the same folder. */
export async function localRun(seed: string, out: string): Promise<LocalRun> {
  const result = `${out}.result.json`;
  const start = performance.now();
  await run(
    process.execPath,
    [
      ...['--import', 'tsx', join(PROJECT_ROOT, 'bench', 'local-child.ts')],
      ...['--seed', seed, '--out', out, '--result', result],
    ],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LOG_LEVEL: 'error', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const processMs = performance.now() - start;
  return { ...(JSON.parse(await readFile(result, 'utf8')) as LocalRunFigures), processMs };
}

/** Instances per reservation in the generated fleet (one RunInstances call each). */
export const FLEET_RESERVATION_SIZE = 250;

/**
 * The sample group with its fleet replaced by `size` running instances, in reservations of
 * {@link FLEET_RESERVATION_SIZE} spread over three subfleets and the main fleet. moto seeds an
 * instance in ~5 ms within a reservation but ~30 ms alone, and counts DescribeInstances `MaxResults`
 * in reservations: so the export reads them in one page here (AWS would answer three pages of 1,000).
 */
export async function writeFleetSeed(size: number, file: string): Promise<string> {
  const seed = parse(await readFile(SAMPLE_SEED, 'utf8')) as Record<string, unknown>;
  const reservations = Math.ceil(size / FLEET_RESERVATION_SIZE);
  seed.instances = Array.from({ length: reservations }, (_, index) => ({
    count: Math.min(FLEET_RESERVATION_SIZE, size - index * FLEET_RESERVATION_SIZE),
    ...(index % 4 === 0 ? {} : { subfleet: `subfleet-${index % 4}` }),
  }));
  await rm(file, { force: true });
  await writeFile(file, stringify(seed));
  return file;
}

export interface ExecutionCost {
  transitions: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  s3PutRequests: number;
  s3GetRequests: number;
  crawlerStarts: number;
  dollars: { stepFunctions: number; lambda: number; s3: number; glue: number; total: number };
}

/**
 * What one execution costs. Each Lambda invocation is billed its Task time in the local run plus its
 * init (hourly runs start cold; INIT is billed), at its memory size and architecture.
 */
export function executionCost(
  figures: LocalRunFigures,
  options: { initMs: Record<string, number>; memoryMb: Record<string, number>; architecture: string },
): ExecutionCost {
  let gbSeconds = 0;
  for (const task of figures.tasks) {
    const functionName = figures.lambdaStates[task.state];
    if (functionName === undefined) continue;
    const billedMs = Math.ceil(task.ms + (options.initMs[functionName] ?? 0));
    gbSeconds += (billedMs / 1000) * (options.memoryMb[functionName] / 1024);
  }
  let s3Put = 0;
  let s3Get = 0;
  for (const [call, count] of Object.entries(figures.calls)) {
    const [client, command] = call.split('.');
    if (client !== 'S3') continue;
    if (S3_PUT_CLASS.has(command)) s3Put += count;
    else s3Get += count;
  }
  const dollars = {
    stepFunctions: figures.transitions * PRICES.stepFunctionsTransition,
    lambda: figures.lambdaInvocations * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecond[options.architecture],
    s3: s3Put * PRICES.s3PutRequest + s3Get * PRICES.s3GetRequest,
    glue: figures.crawlerStarts * CRAWLER_DPUS * CRAWLER_MINIMUM_HOURS * PRICES.glueDpuHour,
    total: 0,
  };
  dollars.total = dollars.stepFunctions + dollars.lambda + dollars.s3 + dollars.glue;
  return {
    transitions: figures.transitions,
    lambdaInvocations: figures.lambdaInvocations,
    lambdaGbSeconds: gbSeconds,
    s3PutRequests: s3Put,
    s3GetRequests: s3Get,
    crawlerStarts: figures.crawlerStarts,
    dollars,
  };
}

export function monthly(cost: ExecutionCost): number {
  return cost.dollars.total * EXECUTIONS_PER_MONTH;
}
