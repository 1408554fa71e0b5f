/**
 * What the `backup` API answers about a run: its state and, once it ended, its summary; for a run of
 * every group, the state and summary of each group's own execution.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, InvalidArn, type SFNClient } from '@aws-sdk/client-sfn';
import type { StartedExecution } from '#shared/aws/executions';
import type { ExecutionSummary } from '#shared/run/summary';

export interface ExecutionStatus {
  executionId: string;
  executionArn: string;
  status: string;
  /** The summary, once the execution ended with one (succeeded, or failed because parts failed). */
  summary?: ExecutionSummary;
  /** Any other failure: an invalid input, a timeout, an abort. */
  error?: string;
  cause?: string;
}

export interface RunStatus extends ExecutionStatus {
  /** For a run of every group: each group's execution. */
  groups?: (ExecutionStatus & { groupName: string })[];
}

/** How many group executions are described at once (DescribeExecution is throttled per account). */
const DESCRIBE_CONCURRENCY = 10;

/** The run `executionId` of the state machine, or `undefined` when it has no such execution. */
export async function describeRun(
  sfn: SFNClient,
  stateMachineArn: string,
  executionId: string,
): Promise<RunStatus | undefined> {
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionId}`;
  const run = await describeExecution(sfn, executionArn);
  if (!run) return undefined;
  const groupRuns = run.groupRuns;
  if (!groupRuns) return run.status;
  const groups: RunStatus['groups'] = [];
  for (let start = 0; start < groupRuns.length; start += DESCRIBE_CONCURRENCY) {
    const batch = groupRuns.slice(start, start + DESCRIBE_CONCURRENCY);
    const described = await Promise.all(batch.map((group) => describeExecution(sfn, group.executionArn)));
    described.forEach((execution, index) => {
      const { groupName, executionName, executionArn: arn } = batch[index];
      groups.push({
        groupName,
        ...(execution?.status ?? { executionId: executionName, executionArn: arn, status: 'NOT_FOUND' }),
      });
    });
  }
  return { ...run.status, groups };
}

async function describeExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<{ status: ExecutionStatus; groupRuns?: StartedExecution[] } | undefined> {
  let described;
  try {
    described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist || error instanceof InvalidArn) return undefined;
    throw error;
  }
  const status: ExecutionStatus = {
    executionId: described.name ?? executionArn.slice(executionArn.lastIndexOf(':') + 1),
    executionArn,
    status: described.status ?? 'UNKNOWN',
  };
  if (described.status === 'SUCCEEDED') {
    const output = parseJson(described.output) as (ExecutionSummary & { groupRuns?: StartedExecution[] }) | undefined;
    if (output?.groupRuns) return { status, groupRuns: output.groupRuns };
    return { status: output ? { ...status, summary: output } : status };
  }
  if (described.status === 'FAILED' && described.error === 'PartsFailed') {
    const cause = parseJson(described.cause) as { errorMessage?: string } | undefined;
    const summary = parseJson(cause?.errorMessage) as ExecutionSummary | undefined;
    if (summary) return { status: { ...status, summary } };
  }
  if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') {
    return { status: { ...status, error: described.error ?? '', cause: described.cause ?? '' } };
  }
  return { status };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
