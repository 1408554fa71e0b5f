/**
 * Runs the deployed workflow definition, unchanged, with `aws-local-stepfunctions`: every Task that
 * names a function of the service (infra/functions.ts) calls that function's real handler in this
 * process, with the function's own timeout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { parse } from 'yaml';
import { clientSettings } from '#shared/aws/clients';
import { FUNCTION_DESCRIPTIONS } from '#infra/functions';
import type { FunctionName } from '#infra/deployment-config';
import { PROJECT_ROOT } from '#local/python-env';

// aws-local-stepfunctions calls Promise.withResolvers in every Task; Node 20 lacks it.
if (!('withResolvers' in Promise)) {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export const WORKFLOW_DEFINITION = join(PROJECT_ROOT, 'statemachine', 'workflow.asl.yaml');

type StateDefinition = {
  Type: string;
  Resource?: unknown;
  Parameters?: Record<string, unknown>;
  Branches?: { States: Record<string, StateDefinition> }[];
};
type Handler = (event: unknown) => Promise<unknown>;
type JsonValue = Parameters<StateMachine['run']>[0];
type LocalHandlers = NonNullable<
  NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']
>;
export type EventLog = { type: string; [field: string]: unknown };

/**
 * The definition as Serverless deploys it. It holds no Serverless variable (`\${…}`), which the
 * local runner could not resolve: one found is refused.
 */
export function loadDefinition(path = WORKFLOW_DEFINITION): {
  States: Record<string, StateDefinition>;
  StartAt: string;
} {
  const text = readFileSync(path, 'utf8');
  const variable = /\$\{[^}]*\}/.exec(text);
  if (variable) throw new Error(`${path}: the local runner cannot resolve the Serverless variable ${variable[0]}`);
  return parse(text, { merge: true }) as ReturnType<typeof loadDefinition>;
}

/** Every Task state, nested ones included, with its Resource. */
export function taskStates(states: Record<string, StateDefinition>): [string, unknown][] {
  return Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [[name, state.Resource] as [string, unknown]] : []),
    ...(state.Branches ?? []).flatMap((branch) => taskStates(branch.States)),
  ]);
}

/** The serverless.yml function a `Fn::GetAtt: [name, Arn]` resource names, if it is one. */
export function functionNameOf(resource: unknown): string | undefined {
  const getAtt = (resource as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  return Array.isArray(getAtt) && getAtt[1] === 'Arn' ? String(getAtt[0]) : undefined;
}

/**
 * Gives each Task that calls a function, unless it says otherwise, that function's timeout. On AWS a
 * Lambda Task waits as long as the function may run; aws-local-stepfunctions otherwise fails any Task
 * after 60 s (`States.Timeout`), which a large fleet on the emulator exceeds.
 */
function applyFunctionTimeouts(states: Record<string, StateDefinition>): void {
  for (const state of Object.values(states)) {
    for (const branch of state.Branches ?? []) applyFunctionTimeouts(branch.States);
    const functionName = state.Type === 'Task' ? functionNameOf(state.Resource) : undefined;
    if (functionName === undefined || 'TimeoutSeconds' in state || 'TimeoutSecondsPath' in state) continue;
    Object.assign(state, { TimeoutSeconds: describedFunction(functionName).timeout });
  }
}

function describedFunction(functionName: string) {
  const description = FUNCTION_DESCRIPTIONS[functionName as FunctionName];
  if (!description)
    throw new Error(`infra/functions.ts describes no function "${functionName}", which the workflow calls`);
  return description;
}

/** A function's real handler, loaded from its module. */
export async function loadHandler(functionName: string): Promise<Handler> {
  const declared = describedFunction(functionName).handler;
  const [modulePath, exportName] = [
    declared.slice(0, declared.lastIndexOf('.')),
    declared.slice(declared.lastIndexOf('.') + 1),
  ];
  const loaded = (await import(join(PROJECT_ROOT, `${modulePath}.ts`))) as Record<string, Handler>;
  return loaded[exportName];
}

const SDK_INTEGRATION = /^arn:aws:states:::aws-sdk:([a-z0-9]+):([a-zA-Z0-9]+)$/;

/**
 * A Task's local stand-in: a serverless.yml function's real handler, or, for a direct service
 * integration (`arn:aws:states:::aws-sdk:service:action`), the same call made with the SDK against
 * the emulator. SDK errors are renamed `Service.ErrorName`, as Step Functions names them for `Catch`.
 */
async function localHandlerFor(stateName: string, resource: unknown): Promise<Handler> {
  const functionName = functionNameOf(resource);
  if (functionName) {
    const handler = await loadHandler(functionName);
    return async (event) => {
      try {
        return await handler(event);
      } catch (error) {
        throw asLambdaFunctionError(error);
      }
    };
  }
  const integration = typeof resource === 'string' ? SDK_INTEGRATION.exec(resource) : null;
  if (!integration)
    throw new Error(`state ${stateName}: the local runner cannot run resource ${JSON.stringify(resource)}`);
  const [, service, action] = integration;
  const sdk = (await import(`@aws-sdk/client-${service}`)) as Record<string, new (config: object) => unknown>;
  const clientClass = Object.entries(sdk).find(([name]) => name.endsWith('Client') && !name.includes('Base'))?.[1];
  const commandClass = sdk[`${action[0].toUpperCase()}${action.slice(1)}Command`];
  if (!clientClass || !commandClass) throw new Error(`state ${stateName}: no SDK command for ${String(resource)}`);
  const client = new clientClass(clientSettings()) as { send(command: unknown): Promise<Record<string, unknown>> };
  const serviceName = `${service[0].toUpperCase()}${service.slice(1)}`;
  return async (parameters) => {
    try {
      const { $metadata: _metadata, ...response } = await client.send(new commandClass(parameters as object));
      return response;
    } catch (error) {
      const renamed = new Error((error as Error).message);
      renamed.name = `${serviceName}.${(error as Error).name}`;
      throw renamed;
    }
  };
}

/**
 * A function's error as Step Functions reports it: named after the error, with the JSON of
 * `{errorType, errorMessage, trace}` as its Cause, so `Catch` and the states after it see what they
 * see on AWS.
 */
function asLambdaFunctionError(error: unknown): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const trace = (original.stack ?? '').split('\n');
  const lambdaError = new Error(JSON.stringify({ errorType: original.name, errorMessage: original.message, trace }));
  lambdaError.name = original.name;
  return lambdaError;
}

const JSON_TO_STRING = /^States\.JsonToString\((\$[A-Za-z0-9_.]*)\)$/;
const SIMPLE_PATH = /^\$[A-Za-z0-9_.]*$/;

function atPath(input: unknown, path: string): unknown {
  if (path === '$') return input;
  return path
    .slice(2)
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], input);
}

/**
 * aws-local-stepfunctions 3.0.0 removes every backslash from an intrinsic function's string result,
 * so `States.JsonToString` of anything holding a quote is not JSON any more (on AWS it is). A Pass
 * state whose Parameters use it (with plain paths only) runs here as a Task that computes the same
 * Parameters: same input, same output, same number of transitions.
 */
function emulateJsonToString(states: Record<string, StateDefinition>, handlers = new Map<string, Handler>()) {
  for (const [name, state] of Object.entries(states)) {
    for (const branch of state.Branches ?? []) emulateJsonToString(branch.States, handlers);
    const parameters = state.Parameters;
    if (state.Type !== 'Pass' || !parameters) continue;
    const paths = Object.entries(parameters).filter(([key]) => key.endsWith('.$')) as [string, string][];
    if (!paths.some(([, value]) => JSON_TO_STRING.test(value))) continue;
    if (!paths.every(([, value]) => JSON_TO_STRING.test(value) || SIMPLE_PATH.test(value))) {
      throw new Error(`state ${name}: the local runner emulates States.JsonToString only beside plain paths`);
    }
    handlers.set(name, async (input) =>
      Object.fromEntries(
        Object.entries(parameters).map(([key, value]) => {
          if (!key.endsWith('.$')) return [key, value];
          const jsonToString = JSON_TO_STRING.exec(value as string);
          return [
            key.slice(0, -2),
            jsonToString ? JSON.stringify(atPath(input, jsonToString[1])) : atPath(input, value as string),
          ];
        }),
      ),
    );
    delete state.Parameters;
    Object.assign(state, { Type: 'Task', Resource: `local:${name}` });
  }
  return handlers;
}

const machines = new Map<string, StateMachine>();

/**
 * The state machine of `definition`, validated once per process: validation takes a few hundred
 * milliseconds, which adds up in tests that run the workflow many times. A machine holds no
 * execution state, so runs may share it.
 */
function validatedMachine(definition: object): StateMachine {
  const key = JSON.stringify(definition);
  let machine = machines.get(key);
  if (!machine) {
    machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    machines.set(key, machine);
  }
  return machine;
}

export interface WorkflowRun {
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  summary?: unknown;
  error?: { name: string; message: string };
  events: EventLog[];
}

/**
 * Runs around every invocation of a Task's stand-in, with the state's name and its input: tests use
 * it to make a Task fail as Lambda or Step Functions can (`Lambda.ServiceException`, …), to know
 * which Task made an AWS call, and to order the Tasks of overlapping executions.
 */
export type TaskInterceptor = (stateName: string, invoke: () => Promise<unknown>, input?: unknown) => Promise<unknown>;

/** The execution as Step Functions names it, for `$$.Execution` (its ARN, name and start). */
export interface ExecutionContext {
  arn: string;
  name: string;
  startTime?: string;
}

export async function runWorkflow(
  input: unknown = {},
  options: { aroundTask?: TaskInterceptor; execution?: ExecutionContext; definitionPath?: string } = {},
): Promise<WorkflowRun> {
  const definition = loadDefinition(options.definitionPath);
  applyFunctionTimeouts(definition.States);
  const emulated = emulateJsonToString(definition.States);
  const localHandlers: LocalHandlers = {};
  const aroundTask: TaskInterceptor = options.aroundTask ?? ((_stateName, invoke) => invoke());
  for (const [stateName, resource] of taskStates(definition.States)) {
    const handler = emulated.get(stateName) ?? (await localHandlerFor(stateName, resource));
    // A JSON round trip, as between Step Functions and Lambda, so nothing passes that would not serialise.
    const invoke = (event: JsonValue) => async () => JSON.parse(JSON.stringify((await handler(event)) ?? null));
    localHandlers[stateName] = async (event) => (await aroundTask(stateName, invoke(event), event)) as JsonValue;
  }
  const machine = validatedMachine(definition);
  const context = options.execution
    ? {
        Execution: {
          Id: options.execution.arn,
          Name: options.execution.name,
          StartTime: options.execution.startTime ?? new Date().toISOString(),
          Input: input as JsonValue,
        },
      }
    : undefined;
  const execution = machine.run(input as JsonValue, {
    overrides: { taskResourceLocalHandlers: localHandlers, retryIntervalOverrides: retryOverrides(definition.States) },
    ...(context ? { context } : {}),
  });
  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) events.push(event as unknown as EventLog);
  })();
  try {
    const output = await execution.result;
    await collecting;
    return { status: 'SUCCEEDED', output, summary: summaryOf(events), events };
  } catch (error) {
    await collecting;
    if (!(error instanceof ExecutionError)) throw error;
    const failure = events.find((event) => event.type === 'ExecutionFailed') as
      { Error?: string; Cause?: string } | undefined;
    return {
      status: 'FAILED',
      error: { name: failure?.Error ?? error.name, message: String(failure?.Cause ?? error.message) },
      summary: summaryOf(events),
      events,
    };
  }
}

/**
 * The summary of an execution: its output when it succeeded (the concluding step's answer; an
 * execution that started one per group has none); when it failed with `PartsFailed`, the summary
 * its error carries (the message of the Lambda error in the cause).
 */
function summaryOf(events: EventLog[]): unknown {
  const succeeded = events.find((event) => event.type === 'ExecutionSucceeded') as { output?: unknown } | undefined;
  if (succeeded) {
    const output = succeeded.output as { counts?: unknown; parts?: unknown } | undefined;
    return output?.counts !== undefined && Array.isArray(output.parts) ? output : undefined;
  }
  const failure = events.find((event) => event.type === 'ExecutionFailed') as
    { Error?: string; Cause?: string } | undefined;
  if (failure?.Error !== 'PartsFailed') return undefined;
  try {
    return JSON.parse((JSON.parse(failure.Cause ?? '') as { errorMessage: string }).errorMessage);
  } catch {
    return undefined;
  }
}

/** Local runs skip the retry back-off sleeps. */
function retryOverrides(states: Record<string, StateDefinition>): Record<string, number> {
  return Object.fromEntries(taskStates(states).map(([name]) => [name, 0]));
}
