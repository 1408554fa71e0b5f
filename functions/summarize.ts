import { isArray, requireField } from '#shared/aws/handler-input';
import { withLambdaContext } from '#shared/aws/log';
import { currentSettings } from '#shared/run/deployment-cache';
import { groupTask } from '#shared/run/group-plan';
import { concludeExecution, flattenParts, isBranchFailure, type ExecutionSummary } from '#shared/run/summary';

/**
 * Runs only when the archive step itself crashed or timed out (it concludes the execution otherwise).
 * Event: `{ group, executionStartTime, parts, archiveFailure }`: the export branches' part results and
 * `{ failedParts, caught }`, the archive step's parts and its `Catch` output. Answers the summary, or
 * throws it as `PartsFailed`, which fails the execution with the summary as its cause.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<ExecutionSummary> => {
  const task = groupTask(event, currentSettings());
  const exported = requireField(event, 'parts', isArray, 'the array of branch results');
  const archiveFailure = requireField(
    event,
    'archiveFailure',
    isBranchFailure,
    '{ failedParts, caught }, the parts of the archive step and its Catch output',
  );
  const parts = flattenParts([...exported, archiveFailure]);
  return concludeExecution(task.group.groupName, task.executionStartTime, parts, task.group.warnings);
});
