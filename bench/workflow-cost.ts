/**
 * Workflow cost: local runs (`runLocal`, as `npm run local`) of the sample group, each a process of
 * its own (bench/local-child.ts), priced from what they counted.
 *
 * Lambda duration model. Billed duration is not taken from the local runs' wall time, which is mostly
 * the emulator's (moto answers one request at a time in Python). Each invocation is billed
 *
 *   init CPU × (1,769 MB / memory)  +  requests × REQUEST_LATENCY_MS  +  its share of the handlers' CPU
 *
 * Lambda gives a function CPU in proportion to its memory (one full vCPU at 1,769 MB), so CPU work
 * measured here on one core takes 1,769 / memory times longer there: CPU-bound GB-s = CPU seconds ×
 * 1,769 / 1,024, whatever the memory size. The handlers' CPU is the process CPU time of the whole
 * execution in the local run (the workflow engine and the SDK talking to moto included: an over- rather
 * than an under-estimate); init is the measured CPU of the bundle's require (section 4), paid on every
 * invocation as if each started cold. Waiting for AWS is billed at the configured memory size of the
 * function (infra/functions.ts) for REQUEST_LATENCY_MS per request sent, requests of one invocation
 * counted one after the other even when they overlap.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '#local/python-env';
import type { ExecutionFigures, Fault, LocalRunFigures, ScopeFigures } from '#bench/local-child';
import {
  EXECUTIONS_PER_MONTH,
  LAMBDA_FULL_VCPU_MB,
  PRICES,
  RECONCILE_RUNS_PER_MONTH,
  REQUEST_LATENCY_MS,
  S3_FREE,
  S3_GET_CLASS,
  S3_PUT_CLASS,
} from '#bench/prices';

const run = promisify(execFile);
export const SAMPLE_SEED = join(PROJECT_ROOT, 'local', 'sample-seed.yaml');

export interface LocalRun extends LocalRunFigures {
  /** Wall ms of the whole process (`tsx` start included). */
  processMs: number;
}

/** Runs bench/local-child.ts; `out` is its mirror folder, kept between runs given the same folder. */
export async function localRun(seed: string, out: string, fault: Fault = 'none'): Promise<LocalRun> {
  const result = `${out}.${fault}.result.json`;
  const start = performance.now();
  await run(
    process.execPath,
    [
      ...['--import', 'tsx', join(PROJECT_ROOT, 'bench', 'local-child.ts')],
      ...['--seed', seed, '--out', out, '--result', result, '--fault', fault],
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

export interface CostInputs {
  /** Measured CPU ms of requiring each function's bundle (init). */
  initCpuMs: Record<string, number>;
  /** Configured memory of each function, MB. */
  memoryMb: Record<string, number>;
  architecture: string;
}

export interface ScopeCost {
  invocations: number;
  requests: number;
  lambdaGbSeconds: number;
  s3PutClass: number;
  s3GetClass: number;
  transitions: number;
  dollars: { stepFunctions: number; lambda: number; s3: number; total: number };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** S3 requests by price class, from the requests counted. */
export function s3Requests(requests: Record<string, number>): { put: number; get: number; unpriced: string[] } {
  let put = 0;
  let get = 0;
  const unpriced: string[] = [];
  for (const [call, count] of Object.entries(requests)) {
    const [client, command] = call.split('.');
    if (client !== 'S3') continue;
    if (S3_PUT_CLASS.has(command)) put += count;
    else if (S3_GET_CLASS.has(command)) get += count;
    else if (!S3_FREE.has(command)) unpriced.push(command);
  }
  return { put, get, unpriced };
}

/**
 * The cost of one run of a scope (an execution, or the reconciliation), with the parts that grow with
 * the number of groups (requests, CPU) multiplied by `perGroupFactor` (1: as measured).
 */
export function scopeCost(scope: ScopeFigures, transitions: number, inputs: CostInputs, perGroupFactor = 1): ScopeCost {
  const cpuGbSeconds = ((scope.cpuMs / 1000) * LAMBDA_FULL_VCPU_MB) / 1024;
  let gbSeconds = cpuGbSeconds * perGroupFactor;
  let requests = 0;
  for (const invocation of scope.invocations) {
    const memory = inputs.memoryMb[invocation.functionName];
    if (memory === undefined) throw new Error(`no memory size for function ${invocation.functionName}`);
    const init = inputs.initCpuMs[invocation.functionName];
    if (init === undefined) throw new Error(`no measured init for function ${invocation.functionName}`);
    const sent = sum(Object.values(invocation.requests)) * perGroupFactor;
    requests += sent;
    gbSeconds += ((init / 1000) * LAMBDA_FULL_VCPU_MB) / 1024 + ((sent * REQUEST_LATENCY_MS) / 1000) * (memory / 1024);
  }
  const s3 = s3Requests(scope.requests);
  const dollars = {
    stepFunctions: transitions * PRICES.stepFunctionsTransition,
    lambda: scope.invocations.length * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecond[inputs.architecture],
    s3: (s3.put * PRICES.s3PutRequest + s3.get * PRICES.s3GetRequest) * perGroupFactor,
    total: 0,
  };
  dollars.total = dollars.stepFunctions + dollars.lambda + dollars.s3;
  return {
    invocations: scope.invocations.length,
    requests,
    lambdaGbSeconds: gbSeconds,
    s3PutClass: s3.put * perGroupFactor,
    s3GetClass: s3.get * perGroupFactor,
    transitions,
    dollars,
  };
}

/**
 * What starts a scheduled execution: EventBridge Scheduler invokes the start-scheduled-run function
 * once, which sends one StartExecution for its group (shared/schedule/scheduled-run.ts). The local
 * runs start groups the way the console and the API do, through the workflow's fan-out, so this scope
 * is described here rather than measured; its handler's own CPU is negligible beside its init.
 */
export const SCHEDULED_START: ScopeFigures = {
  cpuMs: 0,
  wallMs: 0,
  invocations: [
    { state: 'schedule', functionName: 'startScheduledRun', wallMs: 0, requests: { 'SFN.StartExecution': 1 } },
  ],
  requests: { 'SFN.StartExecution': 1 },
};

export interface MonthlyCost {
  groups: number;
  perGroup: number;
  group: ScopeCost;
  scheduledStart: ScopeCost;
  reconcile: ScopeCost;
  /** Monthly dollars per group of each service. */
  byService: { stepFunctions: number; lambda: number; s3: number; scheduler: number };
}

/**
 * Monthly cost per group at an hourly cadence with `groups` groups in the deployment: the group's own
 * scheduled executions, each started by its schedule (one Scheduler invocation, one start-scheduled-run
 * invocation), plus its share of the 15-minute reconciliation, whose requests and CPU are taken as
 * growing with the number of groups: measured with one group, multiplied by `groups` (an upper bound).
 * The fan-out execution (every group at once, from the console or the API) is not scheduled and is
 * left out.
 */
export function monthlyPerGroup(
  runFigures: { group: ExecutionFigures; reconcile: ScopeFigures },
  inputs: CostInputs,
  groups: number,
): MonthlyCost {
  const group = scopeCost(runFigures.group, runFigures.group.transitions, inputs);
  const scheduledStart = scopeCost(SCHEDULED_START, 0, inputs);
  const reconcile = scopeCost(runFigures.reconcile, 0, inputs, groups);
  const scheduler = PRICES.schedulerInvocation * EXECUTIONS_PER_MONTH;
  const share = (service: keyof ScopeCost['dollars']) =>
    (group.dollars[service] + scheduledStart.dollars[service]) * EXECUTIONS_PER_MONTH +
    (reconcile.dollars[service] * RECONCILE_RUNS_PER_MONTH) / groups;
  return {
    groups,
    perGroup: share('total') + scheduler,
    group,
    scheduledStart,
    reconcile,
    byService: { stepFunctions: share('stepFunctions'), lambda: share('lambda'), s3: share('s3'), scheduler },
  };
}
