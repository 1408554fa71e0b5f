import { withLambdaContext } from '#shared/aws/log';
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientSettings, clientsPerRegion } from '#shared/aws/clients';
import { describeRun } from '#shared/groups/status';
import { currentSettings } from '#shared/run/deployment-cache';

const sfn = clientsPerRegion(() => new SFNClient(clientSettings()));

interface ProxyAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const answer = (statusCode: number, body: unknown): ProxyAnswer => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * `GET /backup/{id}` (API Gateway proxy event): the run's state and, once it ended, its summary; for
 * a run of every group, each group's execution with its own state and summary.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<ProxyAnswer> => {
  const id = (event as { pathParameters?: { id?: unknown } } | null)?.pathParameters?.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
    return answer(400, {
      message: 'the path must end with an executionId. Fix: use the executionId POST /backup answered',
    });
  }
  const stateMachineArn = currentSettings().stateMachineArn;
  if (!stateMachineArn) throw new TypeError('STATE_MACHINE_ARN is not set; the deployment sets it');
  const run = await describeRun(sfn(), stateMachineArn, id);
  if (!run) {
    return answer(404, {
      message: 'no execution of this state machine has that id. Fix: use the executionId that POST /backup answered',
    });
  }
  return answer(200, run);
});
