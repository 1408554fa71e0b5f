import { isArray, requireField } from '#shared/aws/handler-input';
import { log, withLambdaContext } from '#shared/aws/log';
import { currentSettings } from '#shared/run/deployment-cache';
import { groupTask } from '#shared/run/group-plan';
import { flattenParts, PartsFailed, summarize, type ExecutionSummary } from '#shared/run/summary';

/**
 * Event: `{ group, executionStartTime, parts }`, every part result of the execution in order.
 * Answers the summary, the execution's output; when a part failed, throws it as `PartsFailed`, which
 * fails the execution with the summary as its cause (red in the console, after every part finished).
 */
export const handler = withLambdaContext(async (event: unknown): Promise<ExecutionSummary> => {
  const task = groupTask(event, currentSettings());
  const parts = flattenParts(requireField(event, 'parts', isArray, 'the array of part results'));
  const summary = summarize(task.group.groupName, task.executionStartTime, parts, task.group.warnings);
  log(summary.status === 'ok' ? 'info' : 'error', summary.message, { summary });
  if (summary.status === 'failed') throw new PartsFailed(summary);
  return summary;
});
