/**
 * One local run (`runLocal`, as `npm run local` does it) in a process of its own, since the handlers
 * keep their clients and deployment for the life of the process. Writes to `--result` what the
 * workflow benchmark needs of the seed's one group execution (what each scheduled run of the group
 * is): its event log's counts, each of its Task invocations and their time, the AWS calls made
 * inside them, and the wall time of the whole run.
 *
 *   tsx bench/local-child.ts --seed FILE --out DIR --result FILE.json
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { groupExecutions, runLocal } from '#local/local-run';
import { functionNameOf, loadDefinition, taskStates } from '#local/workflow';

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
  /** Glue StartCrawler calls (the archive step starts the crawler when an export created a partition). */
  crawlerStarts: number;
  summaryMessage?: string;
}

/** The Task running, and the group whose execution runs it (none: the run of every group, which starts them). */
const taskOf = new AsyncLocalStorage<{ state: string; groupName?: string }>();
const calls = new Map<string | undefined, Record<string, number>>();

// Every SDK client's send is the base client's (one copy of @smithy/core): count the calls made
// while a Task runs, whichever client made them.
const base = Object.getPrototypeOf(S3Client.prototype) as { send: (...args: unknown[]) => unknown };
const send = base.send;
base.send = function (this: object, ...args: unknown[]) {
  const task = taskOf.getStore();
  if (task !== undefined) {
    const name = `${this.constructor.name.replace(/Client$/, '')}.${(args[0] as object).constructor.name.replace(/Command$/, '')}`;
    const counts = calls.get(task.groupName) ?? {};
    counts[name] = (counts[name] ?? 0) + 1;
    calls.set(task.groupName, counts);
  }
  return send.apply(this, args);
};

/**
 * The group a Task event belongs to: every step of a group's execution receives its plan; its first
 * step receives the execution input, which names the group when the run of every group started it.
 */
function groupOfTask(input: unknown): string | undefined {
  const event = input as { group?: { groupName?: string }; input?: { groupName?: string } } | null;
  return event?.group?.groupName ?? event?.input?.groupName;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      out: { type: 'string' },
      result: { type: 'string' },
    },
  });
  const tasks: (TaskTime & { groupName?: string })[] = [];
  const start = performance.now();
  const result = await runLocal({
    out: values.out!,
    seedFile: values.seed!,
    aroundTask: (state, invoke, input) => {
      const groupName = groupOfTask(input);
      return taskOf.run({ state, groupName }, async () => {
        const began = performance.now();
        try {
          return await invoke();
        } finally {
          tasks.push({ state, groupName, ms: performance.now() - began });
        }
      });
    },
  });
  const wallMs = performance.now() - start;
  const executions = groupExecutions(result);
  if (executions.length !== 1) {
    throw new Error(
      `the benchmark measures one group's execution; seed ${values.seed} gave ${executions.length} (give a seed of one group)`,
    );
  }
  const [{ groupName, run }] = executions;
  const definition = loadDefinition();
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
  const groupCalls = calls.get(groupName) ?? {};
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
    tasks: tasks.filter((task) => task.groupName === groupName).map(({ state, ms }) => ({ state, ms })),
    calls: groupCalls,
    crawlerStarts: groupCalls['Glue.StartCrawler'] ?? 0,
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
