/**
 * Scheduled runs are named after their slot and group, so a repeated delivery of the same slot never
 * starts a second execution, and two groups' slots never share one (against the emulator's Step
 * Functions, which applies the name rules).
 */
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { expect } from 'chai';
import fc from 'fast-check';
import { clientSettings } from '#shared/aws/clients';
import { scheduledExecutionName, startScheduledRun } from '#shared/schedule/scheduled-run';
import { uniqueName } from '#test/support/aws';

describe('scheduled runs (shared/schedule/scheduled-run.ts)', () => {
  it('names the execution after the slot and the group, with only letters, digits, "-" and "_"', () => {
    expect(scheduledExecutionName('2024-03-31T00:00:00Z', 'web')).to.equal('scheduled-20240331T000000Z-web');
    expect(scheduledExecutionName('2024-10-27T01:00:00.000Z', 'web-prod')).to.equal(
      'scheduled-20241027T010000Z-web-prod',
    );
    expect(scheduledExecutionName('2024-10-27T01:00:00Z', 'web.prod')).to.equal(
      'scheduled-20241027T010000Z-web_prod-558e18b6',
    );
    for (const time of ['', 'yesterday', '2024-13-40T00:00:00Z']) {
      expect(() => scheduledExecutionName(time, 'web')).to.throw(TypeError, /scheduledTime must be an ISO-8601 time/);
    }
  });

  it('gives every group name a distinct execution name of at most 80 accepted characters', () => {
    const groupName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
    fc.assert(
      fc.property(groupName, groupName, (a, b) => {
        const [nameA, nameB] = [a, b].map((group) => scheduledExecutionName('2024-03-31T00:00:00Z', group));
        expect(nameA).to.match(/^[A-Za-z0-9_-]{1,80}$/);
        expect(nameA === nameB).to.equal(a === b);
      }),
      { numRuns: 2000 },
    );
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

    it("starts one execution per group's slot, however often the slot is delivered", async () => {
      // Act: a delivery, its retry while the run is going on, another group's same slot, the next slot, a late repeat
      const slot = (scheduledTime: string, groupName = 'web') =>
        startScheduledRun(sfn, stateMachineArn, { scheduledTime, groupName });
      const first = await slot('2024-03-31T00:00:00Z');
      const retried = await slot('2024-03-31T00:00:00Z');
      const otherGroup = await slot('2024-03-31T00:00:00Z', 'api');
      const next = await slot('2024-03-31T01:00:00Z');
      await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
      const late = await slot('2024-03-31T00:00:00Z');

      // Assess
      expect(first).to.include({ executionName: 'scheduled-20240331T000000Z-web', alreadyStarted: false });
      // While the execution runs, Step Functions answers a start of the same name and input with it, as new.
      expect(retried).to.deep.equal(first);
      expect(otherGroup).to.include({ executionName: 'scheduled-20240331T000000Z-api', groupName: 'api' });
      expect(next.executionName).to.equal('scheduled-20240331T010000Z-web');
      expect(late).to.deep.equal({ ...first, alreadyStarted: true });
      expect(await executions()).to.deep.equal([
        'scheduled-20240331T000000Z-api',
        'scheduled-20240331T000000Z-web',
        'scheduled-20240331T010000Z-web',
      ]);
      const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn: otherGroup.executionArn }));
      expect(JSON.parse(input!)).to.deep.equal({ groupName: 'api' });
    });
  });
});
