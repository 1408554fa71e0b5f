/**
 * What the workflow definition says about each Task, read from the definition itself so that fault
 * expectations follow it: which parts a Task's failure becomes (its `Catch` of `States.ALL` leads
 * to a Pass state naming them), and how often Step Functions invokes it on Lambda errors.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { WORKFLOW_DEFINITION } from '#local/workflow';

interface State {
  Type: string;
  Resource?: unknown;
  Next?: string;
  Parameters?: { failedParts?: unknown; part?: unknown } & Record<string, unknown>;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Branches?: { States: Record<string, State> }[];
}

export interface TaskFacts {
  name: string;
  /** A function of serverless.yml, as opposed to a direct service integration. */
  lambda: boolean;
  /** The parts a failure of the Task becomes; `undefined` when the execution fails instead. */
  failureParts?: string[];
  /** Invocations when every one fails with `Lambda.ServiceException` (Retry `MaxAttempts` + 1). */
  lambdaInvocations: number;
  /** The Task whose `Catch` of `States.ALL` leads to this one: it runs only when that Task failed. */
  fallbackOf?: string;
}

/** Step Functions' default `MaxAttempts` of a retrier. */
const DEFAULT_MAX_ATTEMPTS = 3;

function failureParts(states: Record<string, State>, state: State): string[] | undefined {
  const catcher = state.Catch?.find((entry) => entry.ErrorEquals.includes('States.ALL'));
  const handler = catcher && states[catcher.Next];
  const parameters = handler?.Parameters;
  if (Array.isArray(parameters?.failedParts)) return parameters.failedParts.map(String);
  if (typeof parameters?.part === 'string') return [parameters.part];
  // A Task that concludes in its place hands them on in one of its parameters.
  const nested = Object.values(parameters ?? {}).find(
    (value): value is { failedParts: unknown[] } =>
      typeof value === 'object' && value !== null && Array.isArray((value as { failedParts?: unknown }).failedParts),
  );
  return nested?.failedParts.map(String);
}

function fallbackOf(states: Record<string, State>, name: string): string | undefined {
  return Object.entries(states).find(([, state]) =>
    state.Catch?.some((entry) => entry.ErrorEquals.includes('States.ALL') && entry.Next === name),
  )?.[0];
}

function collect(states: Record<string, State>, facts: Map<string, TaskFacts>): void {
  for (const [name, state] of Object.entries(states)) {
    for (const branch of state.Branches ?? []) collect(branch.States, facts);
    if (state.Type !== 'Task') continue;
    const retrier = state.Retry?.find((entry) => entry.ErrorEquals.includes('Lambda.ServiceException'));
    facts.set(name, {
      name,
      lambda: typeof state.Resource === 'object' && state.Resource !== null && 'Fn::GetAtt' in state.Resource,
      failureParts: failureParts(states, state),
      lambdaInvocations: retrier ? (retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS) + 1 : 1,
      fallbackOf: fallbackOf(states, name),
    });
  }
}

/** Every Task of the definition, nested ones included, by name. */
export function workflowTasks(path = WORKFLOW_DEFINITION): Map<string, TaskFacts> {
  const definition = parse(readFileSync(path, 'utf8'), { merge: true }) as { States: Record<string, State> };
  const facts = new Map<string, TaskFacts>();
  collect(definition.States, facts);
  return facts;
}
