/**
 * One local run (`runLocal`, as `npm run local` does it) in a process of its own, since the handlers
 * keep their clients and deployment for the life of the process. Writes to `--result` what the
 * workflow benchmark needs: the event log's counts, each Task's invocations and time, the AWS calls
 * made inside each Task, and the wall time.
 *
 *   tsx bench/local-child.ts --seed FILE --out DIR --result FILE.json
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { runLocal } from '#local/local-run';
import { CRAWLER_NAME_VARIABLE, functionNameOf, loadDefinition, taskStates } from '#local/workflow';

export interface TaskTime {
  state: string;
  ms: number;
}

export interface LocalRunFigures {
  status: string;
  wallMs: number;
  /** From ExecutionStarted to the execution's end, in the event log. */
  executionMs: number;
  /** StateEntered events: the transitions Step Functions Standard bills. */
  transitions: number;
  enteredStates: Record<string, number>;
  /** Task states whose resource is one of our Lambda functions: state name → serverless.yml function. */
  lambdaStates: Record<string, string>;
  lambdaInvocations: number;
  retries: number;
  /** Each Task invocation, with its wall time (a Lambda's billed duration, roughly). */
  tasks: TaskTime[];
  /** AWS calls made inside Tasks, `Client.Command` → count. */
  calls: Record<string, number>;
  crawlerStarts: number;
  summaryMessage?: string;
}

const taskOf = new AsyncLocalStorage<string>();
const calls: Record<string, number> = {};

// Every SDK client's send is the base client's (one copy of @smithy/core): count the calls made
// while a Task runs, whichever client made them.
const base = Object.getPrototypeOf(S3Client.prototype) as { send: (...args: unknown[]) => unknown };
const send = base.send;
base.send = function (this: object, ...args: unknown[]) {
  if (taskOf.getStore() !== undefined) {
    const name = `${this.constructor.name.replace(/Client$/, '')}.${(args[0] as object).constructor.name.replace(/Command$/, '')}`;
    calls[name] = (calls[name] ?? 0) + 1;
  }
  return send.apply(this, args);
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      out: { type: 'string' },
      result: { type: 'string' },
    },
  });
  const tasks: TaskTime[] = [];
  const start = performance.now();
  const { run } = await runLocal({
    out: values.out!,
    seedFile: values.seed!,
    aroundTask: (state, invoke) =>
      taskOf.run(state, async () => {
        const began = performance.now();
        try {
          return await invoke();
        } finally {
          tasks.push({ state, ms: performance.now() - began });
        }
      }),
  });
  const wallMs = performance.now() - start;
  const definition = loadDefinition({ [CRAWLER_NAME_VARIABLE]: 'crawler' });
  const lambdaStates = Object.fromEntries(
    taskStates(definition.States).flatMap(([name, resource]) => {
      const functionName = functionNameOf(resource);
      return functionName === undefined ? [] : [[name, functionName]];
    }),
  );
  const enteredStates: Record<string, number> = {};
  let retries = 0;
  for (const event of run.events) {
    const name = (event.state as { name?: string } | undefined)?.name;
    if (event.type === 'StateEntered' && name) enteredStates[name] = (enteredStates[name] ?? 0) + 1;
    if (event.type === 'StateRetried') retries += 1;
  }
  const retriedLambda = run.events.filter(
    (event) => event.type === 'StateRetried' && (event.state as { name: string }).name in lambdaStates,
  ).length;
  const times = run.events
    .filter((event) => event.type.startsWith('Execution'))
    .map((event) => event.timestamp as number);
  const figures: LocalRunFigures = {
    status: run.status,
    wallMs,
    executionMs: Math.max(...times) - Math.min(...times),
    transitions: Object.values(enteredStates).reduce((sum, n) => sum + n, 0),
    enteredStates,
    lambdaStates,
    lambdaInvocations:
      Object.keys(lambdaStates).reduce((sum, state) => sum + (enteredStates[state] ?? 0), 0) + retriedLambda,
    retries,
    tasks,
    calls,
    crawlerStarts: enteredStates.StartCrawler ?? 0,
    summaryMessage: (run.summary as { message?: string } | undefined)?.message,
  };
  await writeFile(values.result!, `${JSON.stringify(figures, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
