/**
 * The `backup` API's mapping templates, rendered as API Gateway renders them: what
 * `POST /backup` sends Step Functions and answers, and what `GET /backup/{id}` answers for each
 * state of an execution (answered by the backup-status function). Every answer must be JSON, whatever
 * the messages hold.
 */
import { expect } from 'chai';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { featureOffError } from '#shared/run/deployment';
import { pseudoParameters, renderTokens } from '#infra/cloudformation';
import { functionEnvironment, resolveParameters, resourceNames } from '#infra/deployment-config';
import { handler as statusHandler } from '#functions/backup-status';
import { MAX_SUMMARY_BYTES, summarize, type ExecutionSummary } from '#shared/run/summary';
import { backupApi, renderMappingTemplate } from '#test/support/api-gateway';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:CloneSquad-demo-dev-BackupCmdb';
const EXECUTION = 'arn:aws:states:eu-west-1:111122223333:execution:CloneSquad-demo-dev-BackupCmdb:7f1c9a2e-run';

const SUMMARY: ExecutionSummary = {
  status: 'failed',
  groupName: 'demo',
  executionStartTime: '2024-03-31T00:00:00.000Z',
  counts: { ok: 1, failed: 1, skipped: 1 },
  parts: [
    { part: 'backup/configuration', status: 'ok', keys: ['clonesquad/backups/x.yaml'], records: 3, bytes: 120 },
    {
      part: 'metadata/discovery',
      status: 'failed',
      error: { name: 'AccessDenied', message: `it's "denied"\n\tby a policy / SCP — ünïcode` },
    },
    { part: 'catalog', status: 'skipped', reason: 'not requested' },
  ],
  message: `demo: 1 ok, 1 failed, 1 skipped; metadata/discovery: it's "denied"`,
};

const parsed = (rendered: { text: string }) => JSON.parse(rendered.text) as Record<string, unknown>;

describe('backup API mapping templates', () => {
  const api = backupApi();

  describe('POST /backup', () => {
    it('starts this state machine with the request body as the execution input', () => {
      for (const body of [
        '{"parts":["backups","metadata/instances"]}',
        '{}',
        '{ "parts" : [ "metadata" ] }',
        '{"groupName":"web.prod","parts":["backups"]}',
      ]) {
        const request = parsed(renderMappingTemplate(api.start.request, { body }));
        expect(request.stateMachineArn).to.equal(STATE_MACHINE);
        expect(JSON.parse(request.input as string)).to.deep.equal(JSON.parse(body));
      }
    });

    it('starts a run of everything for an empty body', () => {
      const request = parsed(renderMappingTemplate(api.start.request, { body: '' }));
      expect(request).to.deep.equal({ stateMachineArn: STATE_MACHINE, input: '{}' });
    });

    it('answers the execution id, its ARN and the status URL', () => {
      const answer = renderMappingTemplate(api.start.ok, {
        body: JSON.stringify({ executionArn: EXECUTION, startDate: 1711843200.123 }),
      });
      expect(parsed(answer)).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        statusUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/backup/7f1c9a2e-run',
      });
    });

    it("answers Step Functions' refusal as JSON, 429 when too many runs are going on", () => {
      const refusal = (type: string) =>
        renderMappingTemplate(api.start.refused!, {
          body: JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${type}`, message: `limit 'x' "y"` }),
        });
      const limited = refusal('ExecutionLimitExceeded');
      expect(limited.status).to.equal(429);
      expect(parsed(limited).message).to.equal(
        `Step Functions did not start the execution: com.amazonaws.swf.service.v2.model#ExecutionLimitExceeded: limit 'x' "y"`,
      );
      const other = refusal('StateMachineDeleting');
      expect(other.status).to.equal(undefined);
      expect(parsed(other).message).to.match(/StateMachineDeleting: limit 'x' "y"$/);
      expect(api.start.integration.IntegrationResponses.find((entry) => entry.SelectionPattern)?.StatusCode).to.equal(
        '502',
      );
    });

    it('answers the feature-off error, without starting anything, when MetadataAndBackupS3Path is empty', () => {
      const off = backupApi('').start.integration;
      expect(off.Type).to.equal('MOCK');
      expect(JSON.parse(off.IntegrationResponses[0].ResponseTemplates['application/json'])).to.deep.equal({
        message: featureOffError().message,
      });
    });
  });

  describe('GET /backup/{id}', () => {
    // Mocking the class patches every client: only while this suite runs (the handler makes its own).
    let sfn: AwsClientStub<SFNClient>;
    const described = { executionArn: EXECUTION, name: '7f1c9a2e-run', startDate: new Date(1711843200123) };
    // The function's environment as the default package deploys it.
    const environment = renderTokens(
      functionEnvironment(resolveParameters({ groupName: 'demo' }), resourceNames('demo', 'dev')),
      pseudoParameters('111122223333', 'eu-west-1'),
    );
    const saved = { ...process.env };
    before(() => {
      sfn = mockClient(SFNClient);
      Object.assign(process.env, environment);
    });
    after(() => {
      for (const name of Object.keys(environment)) delete process.env[name];
      Object.assign(process.env, saved);
      sfn.restore();
    });
    beforeEach(() => sfn.reset());
    const get = async (id: unknown) => {
      const answer = await statusHandler({ pathParameters: { id } });
      return { statusCode: answer.statusCode, body: JSON.parse(answer.body) as Record<string, unknown> };
    };
    const status = async (execution: Record<string, unknown>) => {
      sfn.on(DescribeExecutionCommand).resolves(execution);
      return (await get('7f1c9a2e-run')).body;
    };

    it('is a Lambda proxy integration (GET), the function describing the run', () => {
      expect(api.status).to.include({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
    });

    it('describes the execution the id names, of this state machine only, and refuses any other id', async () => {
      await status({ ...described, status: 'RUNNING' });
      expect(sfn.commandCalls(DescribeExecutionCommand)[0].args[0].input).to.deep.equal({ executionArn: EXECUTION });
      for (const id of ['x", "y": "z', '../other:exec', '', 7]) {
        const answer = await get(id);
        expect(answer.statusCode).to.equal(400);
        expect(answer.body.message).to.match(/Fix: use the executionId POST \/backup answered/);
      }
      expect(sfn.commandCalls(DescribeExecutionCommand)).to.have.length(1);
    });

    it('answers the state of a running execution, without a summary', async () => {
      expect(await status({ ...described, status: 'RUNNING' })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'RUNNING',
      });
    });

    it('answers the summary of a succeeded execution (its output)', async () => {
      const ok = { ...SUMMARY, status: 'ok' as const };
      expect(await status({ ...described, status: 'SUCCEEDED', output: JSON.stringify(ok) })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'SUCCEEDED',
        summary: ok,
      });
    });

    it('answers the summary of an execution failed by failed parts (its cause)', async () => {
      const cause = JSON.stringify({ errorType: 'PartsFailed', errorMessage: JSON.stringify(SUMMARY) });
      expect(await status({ ...described, status: 'FAILED', error: 'PartsFailed', cause })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'FAILED',
        summary: SUMMARY,
      });
    });

    it('answers the error and cause of an execution failed otherwise (an invalid input, a timeout)', async () => {
      const cause = `{"errorMessage": "it's \\"wrong\\"\\n"}`;
      expect(await status({ ...described, status: 'FAILED', error: 'InvalidInput', cause })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'FAILED',
        error: 'InvalidInput',
        cause,
      });
      expect(await status({ ...described, status: 'TIMED_OUT' })).to.deep.include({ error: '', cause: '' });
    });

    it('answers no summary rather than broken JSON when Step Functions leaves the output out', async () => {
      expect(await status({ ...described, status: 'SUCCEEDED' })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'SUCCEEDED',
      });
    });

    it('gets a summary that always fits in a cause (32,768 characters), warnings shortened first', async () => {
      const warnings = Array.from({ length: 400 }, (_, index) => `window ${index} ignored: ${'x'.repeat(100)}`);
      const summary = summarize('demo', '2024-03-31T00:00:00.000Z', [
        { part: 'metadata/maintenance-windows', status: 'ok', warnings },
        { part: 'metadata/discovery', status: 'failed', error: { name: 'E', message: 'm' } },
      ]);
      expect(JSON.stringify(summary).length).to.be.at.most(MAX_SUMMARY_BYTES);
      expect(summary.parts[0].warnings).to.deep.equal([
        ...warnings.slice(0, 10),
        "390 more warnings; the function's log lists each",
      ]);
      const cause = JSON.stringify({ errorType: 'PartsFailed', errorMessage: JSON.stringify(summary) });
      const answer = await status({ ...described, status: 'FAILED', error: 'PartsFailed', cause });
      expect(answer.summary).to.deep.equal(summary);
    });

    it('answers 404 for an id that names no execution of this state machine', async () => {
      sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));
      const answer = await get('unknown-run');
      expect(answer.statusCode).to.equal(404);
      expect(answer.body.message).to.match(/^no execution of this state machine has that id\. Fix: /);
    });
  });
});
