/**
 * The `backup` API's mapping templates (SPEC §8), rendered as API Gateway renders them: what
 * `POST /backup` sends Step Functions and answers, and what `GET /backup/{id}` answers for each
 * state of an execution. Every answer must be JSON, whatever the messages hold.
 */
import { expect } from 'chai';
import { featureOffError } from '#shared/run/deployment';
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
      for (const body of ['{"parts":["backups","metadata/instances"]}', '{}', '{ "parts" : [ "metadata" ] }']) {
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
    const status = (execution: Record<string, unknown>) =>
      parsed(renderMappingTemplate(api.status.ok, { body: JSON.stringify(execution) }));
    const described = { executionArn: EXECUTION, name: '7f1c9a2e-run', startDate: 1711843200.123 };

    it('describes the execution the id names, of this state machine only', () => {
      const request = parsed(renderMappingTemplate(api.status.request, { params: { id: '7f1c9a2e-run' } }));
      expect(request).to.deep.equal({ executionArn: EXECUTION });
      const injected = parsed(renderMappingTemplate(api.status.request, { params: { id: 'x", "y": "z' } }));
      expect(Object.keys(injected)).to.deep.equal(['executionArn']);
    });

    it('answers the state of a running execution, without a summary', () => {
      expect(status({ ...described, status: 'RUNNING' })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'RUNNING',
      });
    });

    it('answers the summary of a succeeded execution (its output)', () => {
      const ok = { ...SUMMARY, status: 'ok' as const };
      expect(status({ ...described, status: 'SUCCEEDED', output: JSON.stringify(ok) })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'SUCCEEDED',
        summary: ok,
      });
    });

    it('answers the summary of an execution failed by failed parts (its cause)', () => {
      const answer = status({ ...described, status: 'FAILED', error: 'PartsFailed', cause: JSON.stringify(SUMMARY) });
      expect(answer).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'FAILED',
        error: 'PartsFailed',
        summary: SUMMARY,
      });
    });

    it('answers the error and cause of an execution failed otherwise (an invalid input, a timeout)', () => {
      const cause = `execution input field "x": no such field.\nFix: it's "parts" / nothing else`;
      expect(status({ ...described, status: 'FAILED', error: 'InvalidInput', cause })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'FAILED',
        error: 'InvalidInput',
        cause,
      });
      expect(status({ ...described, status: 'TIMED_OUT' })).to.deep.include({ error: '', cause: '' });
    });

    it('answers no summary rather than broken JSON when Step Functions leaves the output or cause out', () => {
      expect(status({ ...described, status: 'SUCCEEDED' })).to.deep.equal({
        executionId: '7f1c9a2e-run',
        executionArn: EXECUTION,
        status: 'SUCCEEDED',
      });
    });

    it('gets a summary that always fits in a cause (32,768 characters), warnings shortened first', () => {
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
      const answer = status({ ...described, status: 'FAILED', error: 'PartsFailed', cause: JSON.stringify(summary) });
      expect(answer.summary).to.deep.equal(summary);
    });

    it('answers 404 for an id that names no execution of this state machine', () => {
      for (const type of ['ExecutionDoesNotExist', 'InvalidArn']) {
        const answer = renderMappingTemplate(api.status.refused!, {
          body: JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${type}`, message: 'no' }),
        });
        expect(answer.status).to.equal(404);
        expect(parsed(answer).message).to.match(/^no execution of this state machine has that id\. Fix: /);
      }
      const throttled = renderMappingTemplate(api.status.refused!, {
        body: JSON.stringify({ __type: 'ThrottlingException', message: "rate 'exceeded'" }),
      });
      expect(throttled.status).to.equal(undefined);
      expect(parsed(throttled).message).to.equal(
        `Step Functions did not describe the execution: ThrottlingException: rate 'exceeded'`,
      );
    });
  });
});
