/**
 * Scheduled runs are named after their slot, so a repeated delivery of the same slot never starts a
 * second execution (against the emulator's Step Functions, which applies the name rules).
 */
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { expect } from 'chai';
import { clientSettings } from '#shared/aws/clients';
import { scheduledExecutionName, startScheduledRun } from '#shared/schedule/scheduled-run';
import { uniqueName } from '#test/support/aws';

describe('scheduled runs (shared/scheduled-run.ts)', () => {
  it('names the execution after the slot, with only letters, digits and "-"', () => {
    expect(scheduledExecutionName('2024-03-31T00:00:00Z')).to.equal('scheduled-20240331T000000Z');
    expect(scheduledExecutionName('2024-10-27T01:00:00.000Z')).to.equal('scheduled-20241027T010000Z');
    for (const time of ['', 'yesterday', '2024-13-40T00:00:00Z']) {
      expect(() => scheduledExecutionName(time)).to.throw(TypeError, /scheduledTime must be an ISO-8601 time/);
    }
  });

  describe('against the emulator', () => {
    const sfn = new SFNClient(clientSettings());
    let stateMachineArn: string;

    before(async () => {
      const created = await sfn.send(
        new CreateStateMachineCommand({
          name: uniqueName('backup-cmdb'),
          roleArn: 'arn:aws:iam::123456789012:role/test-workflow-role',
          definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
        }),
      );
      stateMachineArn = created.stateMachineArn!;
    });

    async function executions(): Promise<string[]> {
      const { executions: found = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
      return found.map((execution) => execution.name!).sort();
    }

    it('starts one execution per slot, however often the slot is delivered', async () => {
      // Act: a delivery, its retry while the run is going on, another slot, then a late repeat of the first
      const first = await startScheduledRun(sfn, stateMachineArn, '2024-03-31T00:00:00Z');
      const retried = await startScheduledRun(sfn, stateMachineArn, '2024-03-31T00:00:00Z');
      const next = await startScheduledRun(sfn, stateMachineArn, '2024-03-31T01:00:00Z');
      await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
      const late = await startScheduledRun(sfn, stateMachineArn, '2024-03-31T00:00:00Z');

      // Assess
      expect(first).to.include({ executionName: 'scheduled-20240331T000000Z', alreadyStarted: false });
      expect(retried.executionArn).to.equal(first.executionArn);
      expect(next.executionName).to.equal('scheduled-20240331T010000Z');
      expect(late).to.deep.equal({ ...first, alreadyStarted: true });
      expect(await executions()).to.deep.equal(['scheduled-20240331T000000Z', 'scheduled-20240331T010000Z']);
    });
  });
});
