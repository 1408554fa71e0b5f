/**
 * One local run (`runLocal`, as `npm run local` does it) in a process of its own, since the handlers
 * keep their clients and deployment for the life of the process. Writes to `--result` what the
 * workflow benchmark needs of the three things a deployment does for a group: the groups'
 * reconciliation (every 15 minutes), the execution that starts one execution per group (hourly),
 * and the seed's one group execution. For each: its event log's counts, each Task invocation, the
 * process CPU time it took, and every AWS request sent inside it.
 *
 * AWS requests are counted by a middleware in the deserialize step of every SDK client: it runs once
 * per HTTP request actually sent (retries included), whatever the code later reports.
 *
 * `--fault part` makes DescribeMaintenanceWindows answer AccessDenied inside the maintenance windows
 * function of the group execution (a part that fails inside its function); `--fault crash` makes the
 * instances function's Lambda invocation itself fail (a branch whose Lambda crashes).
 *
 *   tsx bench/local-child.ts --seed FILE --out DIR --result FILE.json [--fault none|part|crash]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types';
import { groupExecutions, runLocal } from '#local/local-run';
import { functionNameOf, loadDefinition, taskStates, type WorkflowRun } from '#local/workflow';

export type Scope = 'reconcile' | 'fanout' | 'group';
export type Fault = 'none' | 'part' | 'crash';

export interface TaskInvocation {
  state: string;
  /** The function of infra/functions.ts that the state invokes. */
  functionName: string;
  wallMs: number;
  /** AWS requests sent during this invocation, `Client.Command` → count. */
  requests: Record<string, number>;
}

export interface ScopeFigures {
  /** Process CPU ms from the first Task's start to the last one's end (the handlers' own work, SDK included). */
  cpuMs: number;
  wallMs: number;
  invocations: TaskInvocation[];
  /** Every AWS request of the scope, `Client.Command` → count. */
  requests: Record<string, number>;
}

export interface ExecutionFigures extends ScopeFigures {
  status: string;
  /** StateEntered events: the transitions Step Functions Standard bills. */
  transitions: number;
  enteredStates: Record<string, number>;
  retries: number;
  /** Parts the summary reports as failed. */
  failedParts: string[];
  summaryMessage?: string;
}

export interface LocalRunFigures {
  fault: Fault;
  wallMs: number;
  reconcile: ScopeFigures;
  fanout: ExecutionFigures;
  group: ExecutionFigures;
  /** Objects of the bucket the run created or changed (by content), from the mirror before and after. */
  objectsWritten: number;
}

interface TaskContext {
  scope: Scope;
  state: string;
  requests: Record<string, number>;
}

const taskOf = new AsyncLocalStorage<TaskContext>();
const scopes: Record<Scope, ScopeFigures & { cpuStart?: NodeJS.CpuUsage; wallStart?: number }> = {
  reconcile: { cpuMs: 0, wallMs: 0, invocations: [], requests: {} },
  fanout: { cpuMs: 0, wallMs: 0, invocations: [], requests: {} },
  group: { cpuMs: 0, wallMs: 0, invocations: [], requests: {} },
};

function add(counts: Record<string, number>, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

let fault: Fault = 'none';
const PART_FAULT = { scope: 'group', state: 'ExportMaintenanceWindows', request: 'SSM.DescribeMaintenanceWindows' };
const CRASH_FAULT = { scope: 'group', state: 'ExportInstances' };

const countRequests: DeserializeMiddleware<object, object> = (next, context) => async (args) => {
  const task = taskOf.getStore();
  if (task) {
    const name = `${String(context.clientName).replace(/Client$/, '')}.${String(context.commandName).replace(/Command$/, '')}`;
    if (
      fault === 'part' &&
      task.scope === PART_FAULT.scope &&
      task.state === PART_FAULT.state &&
      name === PART_FAULT.request
    ) {
      throw Object.assign(new Error('User is not authorized to perform this action (injected by the benchmark)'), {
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    add(task.requests, name);
    add(scopes[task.scope].requests, name);
  }
  return next(args);
};

// Every SDK client's send is the base client's (one copy of @smithy/core): the first send of each
// client adds the counting middleware to its stack.
const withCounter = new WeakSet<object>();
const base = Object.getPrototypeOf(S3Client.prototype) as { send: (...args: unknown[]) => unknown };
const send = base.send;
base.send = function (this: { middlewareStack: MiddlewareStack<object, object> }, ...args: unknown[]) {
  if (!withCounter.has(this)) {
    withCounter.add(this);
    this.middlewareStack.add(countRequests, { step: 'deserialize', name: 'benchRequestCounter', priority: 'low' });
  }
  return send.apply(this, args);
};

/** Runs `work` as part of `scope`, extending the scope's CPU and wall window to cover it. */
async function inScope<T>(scope: Scope, state: string, functionName: string, work: () => Promise<T>): Promise<T> {
  const figures = scopes[scope];
  figures.cpuStart ??= process.cpuUsage();
  figures.wallStart ??= performance.now();
  const requests: Record<string, number> = {};
  const began = performance.now();
  try {
    return await taskOf.run({ scope, state, requests }, work);
  } finally {
    figures.invocations.push({ state, functionName, wallMs: performance.now() - began, requests });
    const cpu = process.cpuUsage(figures.cpuStart);
    figures.cpuMs = (cpu.user + cpu.system) / 1000;
    figures.wallMs = performance.now() - figures.wallStart;
  }
}

/** A Task event of a group execution carries its plan's group, or names the group in the execution input. */
function isGroupTask(input: unknown): boolean {
  const event = input as { group?: { groupName?: string }; input?: { groupName?: string } } | null;
  return (event?.group?.groupName ?? event?.input?.groupName) !== undefined;
}

async function contentHashes(folder: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  let entries;
  try {
    entries = await readdir(folder, { recursive: true, withFileTypes: true });
  } catch {
    return hashes;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    hashes.set(
      relative(folder, file),
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    );
  }
  return hashes;
}

function executionFigures(run: WorkflowRun, scope: ScopeFigures): ExecutionFigures {
  const enteredStates: Record<string, number> = {};
  let retries = 0;
  for (const event of run.events) {
    const name = (event.state as { name?: string } | undefined)?.name;
    if (event.type === 'StateEntered' && name) add(enteredStates, name);
    if (event.type === 'StateRetried') retries += 1;
  }
  const summary = run.summary as { message?: string; parts?: { part: string; status: string }[] } | undefined;
  return {
    ...scope,
    status: run.status,
    transitions: Object.values(enteredStates).reduce((sum, n) => sum + n, 0),
    enteredStates,
    retries,
    failedParts: (summary?.parts ?? []).filter((part) => part.status === 'failed').map((part) => part.part),
    summaryMessage: summary?.message,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      out: { type: 'string' },
      result: { type: 'string' },
      fault: { type: 'string', default: 'none' },
    },
  });
  fault = values.fault as Fault;
  if (!['none', 'part', 'crash'].includes(fault)) throw new Error(`--fault ${fault}: give none, part or crash`);
  const functionOf = Object.fromEntries(
    taskStates(loadDefinition().States).flatMap(([name, resource]) => {
      const functionName = functionNameOf(resource);
      return functionName === undefined ? [] : [[name, functionName]];
    }),
  ) as Record<string, string>;
  const before = await contentHashes(join(values.out!, 's3'));
  const start = performance.now();
  const result = await runLocal({
    out: values.out!,
    seedFile: values.seed!,
    aroundReconcile: (reconcile) => inScope('reconcile', 'ReconcileGroups', 'reconcileGroups', reconcile),
    aroundTask: (state, invoke, input) => {
      const scope: Scope = isGroupTask(input) ? 'group' : 'fanout';
      return inScope(scope, state, functionOf[state] ?? '', async () => {
        if (fault === 'crash' && scope === CRASH_FAULT.scope && state === CRASH_FAULT.state) {
          throw Object.assign(new Error('Runtime exited with error: signal: killed (injected by the benchmark)'), {
            name: 'Runtime.ExitError',
          });
        }
        return invoke();
      });
    },
  });
  const wallMs = performance.now() - start;
  const executions = groupExecutions(result);
  if (executions.length !== 1 || result.regions.length !== 1) {
    throw new Error(
      `the benchmark measures one group's execution; seed ${values.seed} gave ${executions.length} (give a seed of one group)`,
    );
  }
  const after = await contentHashes(join(values.out!, 's3'));
  const objectsWritten = [...after].filter(([key, hash]) => before.get(key) !== hash).length;
  const figures: LocalRunFigures = {
    fault,
    wallMs,
    reconcile: scopes.reconcile,
    fanout: executionFigures(result.regions[0].run, scopes.fanout),
    group: executionFigures(executions[0].run, scopes.group),
    objectsWritten,
  };
  for (const scope of Object.values(figures)) {
    if (typeof scope === 'object') {
      delete (scope as { cpuStart?: unknown }).cpuStart;
      delete (scope as { wallStart?: unknown }).wallStart;
    }
  }
  await writeFile(values.result!, `${JSON.stringify(figures, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
