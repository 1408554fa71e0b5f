/**
 * The `backup` API's mapping templates, rendered as API Gateway renders them: what `POST /backup`
 * sends Step Functions and answers. Every answer must be JSON, whatever the messages hold.
 * (`GET /backup/{id}` is answered by the backupStatus function, not by a template.)
 */
import { expect } from 'chai';
import { featureOffError } from '#shared/run/deployment';
import { backupApi, renderMappingTemplate } from '#test/support/api-gateway';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:CloneSquad-demo-dev-BackupCmdb';
const EXECUTION = 'arn:aws:states:eu-west-1:111122223333:execution:CloneSquad-demo-dev-BackupCmdb:7f1c9a2e-run';

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
});
