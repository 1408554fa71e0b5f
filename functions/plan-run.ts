import { withLambdaContext } from '#shared/aws/log';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientSettings, clientsPerRegion } from '#shared/aws/clients';
import { isString, requireField } from '#shared/aws/handler-input';
import { planRun, type RunPlan } from '#shared/groups/plan';
import { currentSettings } from '#shared/run/deployment-cache';

const clients = clientsPerRegion(() => ({
  cloudformation: new CloudFormationClient(clientSettings()),
  sfn: new SFNClient(clientSettings()),
}));

/**
 * Event: `{ input, executionArn }`, the execution input and the execution itself. Answers the group
 * this execution serves, or the executions it started (one per group); throws a `UserInputError`
 * naming the field and the fix, which fails the execution before any work.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<RunPlan> => {
  const executionArn = requireField(event, 'executionArn', isString, "the execution's ARN ($$.Execution.Id)");
  return planRun(clients(), currentSettings(), { input: (event as { input?: unknown }).input, executionArn });
});
