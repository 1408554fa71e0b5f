import { parseRunRequest, type RunPlan } from '#shared/run/run-request';

/**
 * Event: `{ input }`, the execution input. Answers the parts to run, or throws a `UserInputError`
 * naming the field and the allowed values, which fails the execution before any work.
 */
export async function handler(event: unknown): Promise<RunPlan> {
  return parseRunRequest((event as { input?: unknown } | null)?.input);
}
