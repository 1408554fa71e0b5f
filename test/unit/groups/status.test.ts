/**
 * The backup API's status of a run: one execution's state and summary (from its output, or from the
 * cause of a PartsFailed failure), and for a run of every group, each group's execution.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { describeRun } from '#shared/groups/status';
import { partsFailedCause, summarize } from '#shared/run/summary';

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:CloneSquadBackupCmdb-prod-BackupCmdb';
const execution = (name: string) => `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;

describe('the status of a run (shared/groups/status.ts)', () => {
  // One client mocked, not the class: other suites of the same run use real clients.
  const client = new SFNClient({ region: 'eu-west-1' });
  const sfn = mockClient(client);
  beforeEach(() => sfn.reset());

  const ok = summarize('web', '2024-03-20T10:00:00.000Z', [{ part: 'backup/configuration', status: 'ok' }]);
  const failed = summarize('api', '2024-03-20T10:00:00.000Z', [
    { part: 'backup/scheduler', status: 'failed', error: { name: 'UserInputError', message: 'no "table"' } },
  ]);

  it("answers each group's execution of a run of every group, with its summary or its error", async () => {
    // Prepare
    const groupRuns = ['web', 'api', 'gone'].map((groupName) => ({
      groupName,
      executionName: `${groupName}-0123456789ab`,
      executionArn: execution(`${groupName}-0123456789ab`),
      alreadyStarted: false,
    }));
    sfn.on(DescribeExecutionCommand, { executionArn: execution('run-1') }).resolves({
      name: 'run-1',
      status: 'SUCCEEDED',
      output: JSON.stringify({ requestedParts: [], groupRuns }),
    });
    sfn.on(DescribeExecutionCommand, { executionArn: groupRuns[0].executionArn }).resolves({
      name: groupRuns[0].executionName,
      status: 'SUCCEEDED',
      output: JSON.stringify(ok),
    });
    sfn.on(DescribeExecutionCommand, { executionArn: groupRuns[1].executionArn }).resolves({
      name: groupRuns[1].executionName,
      status: 'FAILED',
      error: 'PartsFailed',
      cause: partsFailedCause(failed),
    });
    sfn
      .on(DescribeExecutionCommand, { executionArn: groupRuns[2].executionArn })
      .rejects(new ExecutionDoesNotExist({ message: 'gone', $metadata: {} }));

    // Act
    const run = await describeRun(client, MACHINE, 'run-1');

    // Assess
    expect(run).to.deep.equal({
      executionId: 'run-1',
      executionArn: execution('run-1'),
      status: 'SUCCEEDED',
      groups: [
        {
          groupName: 'web',
          executionId: 'web-0123456789ab',
          executionArn: groupRuns[0].executionArn,
          status: 'SUCCEEDED',
          summary: ok,
        },
        {
          groupName: 'api',
          executionId: 'api-0123456789ab',
          executionArn: groupRuns[1].executionArn,
          status: 'FAILED',
          summary: failed,
        },
        {
          groupName: 'gone',
          executionId: 'gone-0123456789ab',
          executionArn: groupRuns[2].executionArn,
          status: 'NOT_FOUND',
        },
      ],
    });
  });

  it("answers one group's execution: running, or failed before any part with its error and cause", async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: execution('a') }).resolves({ name: 'a', status: 'RUNNING' });
    sfn.on(DescribeExecutionCommand, { executionArn: execution('b') }).resolves({
      name: 'b',
      status: 'FAILED',
      error: 'InvalidInput',
      cause: 'execution input.parts[0]: "x" is not a part',
    });

    expect(await describeRun(client, MACHINE, 'a')).to.deep.equal({
      executionId: 'a',
      executionArn: execution('a'),
      status: 'RUNNING',
    });
    expect(await describeRun(client, MACHINE, 'b')).to.deep.equal({
      executionId: 'b',
      executionArn: execution('b'),
      status: 'FAILED',
      error: 'InvalidInput',
      cause: 'execution input.parts[0]: "x" is not a part',
    });
  });
});
