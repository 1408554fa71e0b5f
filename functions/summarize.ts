import { currentDeployment } from '#shared/run/deployment-cache';
import { isArray, isString, requireField } from '#shared/aws/handler-input';
import { log } from '#shared/aws/log';
import { flattenParts, summarize, type ExecutionSummary } from '#shared/run/summary';

/** Event: `{ executionStartTime, parts }`, every part result of the execution in order. */
export async function handler(event: unknown): Promise<ExecutionSummary> {
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  const parts = flattenParts(requireField(event, 'parts', isArray, 'the array of part results'));
  const summary = summarize(currentDeployment().groupName, executionStartTime, parts);
  log(summary.status === 'ok' ? 'info' : 'error', summary.message, { summary });
  return summary;
}
