/**
 * Finding the CloneSquad groups of an account and region in CloudFormation, planning one group's
 * execution (tables, stack, zone, coexistence with CloneSquad's own export), starting one execution
 * per group, and answering a run's status — against the emulator's CloudFormation and Step Functions.
 */
import { CloudFormationClient, CreateStackCommand, DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { expect } from 'chai';
import { groupRunName } from '#shared/aws/executions';
import { clientSettings } from '#shared/aws/clients';
import { findCloneSquadGroups } from '#shared/groups/find-groups';
import { coexistence, planRun } from '#shared/groups/plan';
import { describeRun } from '#shared/groups/status';
import type { ServiceSettings } from '#shared/run/deployment';
import { partsFailedCause, summarize } from '#shared/run/summary';
import { applyStackSeed, parseStackSeed } from '#local/seed-stack';
import { uniqueName } from '#test/support/aws';

const cloudformation = new CloudFormationClient(clientSettings());
const sfn = new SFNClient(clientSettings());

async function cloneSquadStack(groupName: string, parameters: Record<string, string> = {}, stackName?: string) {
  return applyStackSeed(
    { cloudformation },
    groupName,
    parseStackSeed({ ...(stackName ? { name: stackName } : {}), parameters }, 'test'),
  );
}

async function decoy(stackName: string, groupName: string): Promise<void> {
  await cloudformation.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify({
        Parameters: { GroupName: { Type: 'String' } },
        Resources: { Nothing: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
      }),
      Parameters: [{ ParameterKey: 'GroupName', ParameterValue: groupName }],
    }),
  );
}

function settings(overrides: Partial<ServiceSettings> = {}): ServiceSettings {
  return {
    accountId: '123456789012',
    region: 'eu-west-1',
    destination: { bucket: 'org-cmdb', prefix: 'clonesquad' },
    userSuppliedJsonMetadata: '',
    ...overrides,
  };
}

describe('CloneSquad groups in CloudFormation (shared/groups)', () => {
  const web = uniqueName('web');
  const paris = uniqueName('paris');
  const handed = uniqueName('handed');
  const other = uniqueName('other');

  before(async function () {
    this.timeout(120_000);
    await cloneSquadStack(web, {}, `MyFirstCloneSquad-${web}`);
    await cloneSquadStack(paris, { TimeZone: 'Europe/Paris', Secret: 'never-read' });
    await cloneSquadStack(handed, { MetadataAndBackupS3Path: 's3://org-cmdb//clonesquad/' });
    await cloneSquadStack(other, { MetadataAndBackupS3Path: 's3://elsewhere/cs', TimeZone: 'None' });
    await decoy(`CloneSquad-${uniqueName('decoy')}`, web);
  });

  it('finds each group by its template (GroupName and the two tables), whatever the stack is named', async () => {
    const { groups, ignored } = await findCloneSquadGroups(cloudformation);
    const mine = groups.filter((group) => [web, paris, handed, other].includes(group.groupName));

    expect(mine.map((group) => group.groupName)).to.deep.equal([web, paris, handed, other].sort());
    const found = mine.find((group) => group.groupName === web)!;
    expect(found).to.deep.include({
      stackName: `MyFirstCloneSquad-${web}`,
      tables: { configuration: `CloneSquad-${web}-Configuration`, scheduler: `CloneSquad-${web}-Scheduler` },
      parameters: {},
    });
    // Only the parameters this service reads, never another (it may be a secret).
    expect(mine.find((group) => group.groupName === paris)!.parameters).to.deep.equal({ TimeZone: 'Europe/Paris' });
    const decoyEntry = ignored.find((entry) => entry.stackName.startsWith('CloneSquad-decoy-'));
    expect(decoyEntry?.reason).to.equal(
      "it has a GroupName parameter but no DynamoDB table ConfigTable or SchedulerTable: not a stack of CloneSquad's template",
    );
  });

  it('looks at one group only when asked, and forgets a deleted stack', async () => {
    const gone = uniqueName('gone');
    await cloneSquadStack(gone);
    expect((await findCloneSquadGroups(cloudformation, gone)).groups.map((group) => group.groupName)).to.deep.equal([
      gone,
    ]);
    await cloudformation.send(new DeleteStackCommand({ StackName: `CloneSquad-${gone}` }));
    expect((await findCloneSquadGroups(cloudformation, gone)).groups).to.deep.equal([]);
  });

  describe('planning one group (all-groups mode)', () => {
    const plan = async (groupName: string, overrides: Partial<ServiceSettings> = {}) =>
      (await planRun({ cloudformation, sfn }, settings(overrides), { input: { groupName }, executionArn: 'x' })).group!;

    it("reads the group's zone from its stack, else its region's; this service's TimeZone overrides both", async () => {
      expect((await plan(paris)).timeZone).to.equal('Europe/Paris');
      expect((await plan(web)).timeZone).to.equal('Europe/Dublin');
      expect((await plan(other)).timeZone).to.equal('Europe/Dublin');
      expect((await plan(paris, { timeZone: 'Asia/Kolkata' })).timeZone).to.equal('Asia/Kolkata');
    });

    it("skips a group whose own export writes this service's location, and warns when it writes elsewhere", async () => {
      expect(await plan(handed)).to.deep.include({
        skipReason:
          "CloneSquad's own export writes these keys (stack " +
          `CloneSquad-${handed}'s MetadataAndBackupS3Path is s3://org-cmdb/clonesquad, this service's location). ` +
          'Fix: to hand the group over to this service, set that parameter to None (or empty)',
      });
      expect((await plan(other)).warnings).to.deep.equal([
        `CloneSquad's own export also runs, to s3://elsewhere/cs (stack CloneSquad-${other}'s MetadataAndBackupS3Path). ` +
          'Fix: once this service serves the group, set that parameter to None to stop the second copy',
      ]);
      expect((await plan(web)).skipReason).to.equal(undefined);
    });

    it('refuses a group that does not exist, naming it and the fix', async () => {
      let message = '';
      await plan('nosuchgroup').catch((error: Error) => (message = error.message));
      expect(message).to.equal(
        'execution input.groupName "nosuchgroup": no CloneSquad group of that name exists in account 123456789012, ' +
          'region eu-west-1. Fix: give the GroupName of a CloneSquad stack of this account and region, or leave ' +
          '"groupName" out to run every group',
      );
    });

    it("refuses another group than a single-group deployment's own", async () => {
      let message = '';
      await planRun(
        { cloudformation, sfn },
        settings({
          groupName: web,
          cloneSquadStackName: `MyFirstCloneSquad-${web}`,
          tables: { configuration: 'a', scheduler: 'b' },
        }),
        { input: { groupName: paris }, executionArn: 'x' },
      ).catch((error: Error) => (message = error.message));
      expect(message).to.equal(
        `execution input.groupName "${paris}": this deployment serves only group ${web}. ` +
          `Fix: leave "groupName" out, or run the deployment of group ${paris}`,
      );
    });
  });

  it('treats "None" and an empty MetadataAndBackupS3Path as CloneSquad does: no export of its own', () => {
    for (const value of [undefined, '', 'None', ' None ']) {
      expect(coexistence('s', value, settings())).to.deep.equal({});
    }
  });

  describe('running every group, and the status of the run', () => {
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

    it('starts one execution per group, named after the group and the run, once even when retried', async () => {
      const parent = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:api-run-1`;
      const input = { input: { parts: ['backups'] }, executionArn: parent };
      const first = await planRun({ cloudformation, sfn }, settings({ stateMachineArn }), input);
      const mine = first.groupRuns!.filter((run) => [web, paris].includes(run.groupName));

      expect(first.group).to.equal(undefined);
      expect(mine.map((run) => run.executionName)).to.deep.equal(
        [web, paris].sort().map((group) => groupRunName(parent, group)),
      );
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: mine[0].executionArn }));
      expect(JSON.parse(described.input!)).to.deep.equal({
        groupName: mine[0].groupName,
        parts: ['backup/configuration', 'backup/scheduler'],
      });
      for (const run of first.groupRuns!) await sfn.send(new StopExecutionCommand({ executionArn: run.executionArn }));
      const again = await planRun({ cloudformation, sfn }, settings({ stateMachineArn }), input);
      expect(again.groupRuns!.map((run) => run.executionArn)).to.deep.equal(
        first.groupRuns!.map((run) => run.executionArn),
      );
      expect(again.groupRuns!.every((run) => run.alreadyStarted)).to.equal(true);
    });

    it('answers no run for an unknown id, and the state of each group of a run of every group', async () => {
      expect(await describeRun(sfn, stateMachineArn, 'no-such-run')).to.equal(undefined);
      // The emulator runs nothing: a run of every group is described here by its recorded executions.
      const parent = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:api-run-2`;
      const plan = await planRun({ cloudformation, sfn }, settings({ stateMachineArn }), {
        input: {},
        executionArn: parent,
      });
      const run = await describeRun(sfn, stateMachineArn, plan.groupRuns![0].executionName);
      expect(run).to.deep.include({ executionId: plan.groupRuns![0].executionName, status: 'RUNNING' });
    });

    it('reads the summary back from the cause of a PartsFailed failure', () => {
      const summary = summarize('web', '2024-03-20T10:00:00.000Z', [
        { part: 'backup/configuration', status: 'failed', error: { name: 'X', message: 'no "table"\n' } },
      ]);
      const cause = partsFailedCause(summary);
      expect(JSON.parse((JSON.parse(cause) as { errorMessage: string }).errorMessage)).to.deep.equal(summary);
    });
  });
});
