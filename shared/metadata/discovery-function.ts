/**
 * What a CloneSquad stack shows nowhere but in its Discovery function's environment, which is the
 * original implementation's discovery record: `ApiGwVpcEndpointDNSEntry` (a custom resource's
 * result), the ARNs of the Discovery and Interact functions' roles, and CloneSquad's `InstallTime`.
 * Only those are taken from it; every other value there is either in the stack already or has no
 * column.
 *
 * When the function cannot be read (another template, its environment under a key this role may not
 * use), the two role ARNs still come from the stack's resources; the DNS entry cannot.
 */
import { DescribeStackResourceCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { describeError, quoteInput } from '#shared/aws/errors';

export const FUNCTION_ONLY_FIELDS = [
  'ApiGwVpcEndpointDNSEntry',
  'DiscoveryLambdaIamRoleArn',
  'InteractLambdaIamRoleArn',
] as const;
export type FunctionOnlyField = (typeof FUNCTION_ONLY_FIELDS)[number];

/** Logical ids in CloneSquad's template. */
const DISCOVERY_FUNCTION = 'DiscoveryFunction';
const ROLE_RESOURCES: [FunctionOnlyField, string][] = [
  ['DiscoveryLambdaIamRoleArn', 'DiscoveryFunctionRole'],
  ['InteractLambdaIamRoleArn', 'InteractFunctionRole'],
];

export interface DiscoveryFunctionFacts {
  fields: Partial<Record<FunctionOnlyField, string>>;
  /** When CloneSquad was installed or last upgraded (its custom resource's run), when readable. */
  installTime?: Date;
  warning?: string;
}

/** The name CloneSquad's template gives the function. */
export function conventionalDiscoveryFunctionName(groupName: string): string {
  return `CloneSquad-Discovery-${groupName}`;
}

/** Python's `str()` of an aware datetime, as CloneSquad writes `InstallTime`: `2024-04-02 09:00:00.123456+00:00`. */
const PYTHON_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export function parseCloneSquadTime(text: string | undefined): Date | undefined {
  const match = PYTHON_TIME.exec(text?.trim() ?? '');
  if (!match) return undefined;
  const [, day, time, fraction = '', zone = 'Z'] = match;
  const instant = new Date(`${day}T${time}${fraction.slice(0, 4)}${zone}`);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

function list(names: string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function errorText(error: unknown): string {
  const { name, message } = describeError(error);
  return `${name}: ${message}`;
}

/** The physical id of a resource of the stack; `undefined` when it has none, a problem noted when it cannot tell. */
async function physicalId(
  cloudformation: CloudFormationClient,
  stackId: string,
  logicalId: string,
  problems: string[],
): Promise<string | undefined> {
  try {
    const { StackResourceDetail: detail } = await cloudformation.send(
      new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }),
    );
    return detail?.PhysicalResourceId || undefined;
  } catch (error) {
    const { name, message } = describeError(error);
    if (!(name === 'ValidationError' && /does not exist/i.test(message)))
      problems.push(`${logicalId}: ${name}: ${message}`);
    return undefined;
  }
}

/** A role's ARN from its name, in the stack's partition and account (CloneSquad's roles have the path `/`). */
function roleArn(stackId: string, accountId: string, roleName: string): string {
  if (roleName.startsWith('arn:')) return roleName;
  const [, partition = 'aws', , , account = accountId] = stackId.split(':');
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/**
 * Reads the stack's Discovery function (its physical name from the stack, else the conventional
 * one), and the roles from the stack when the function does not name them. Never throws for what it
 * cannot read: `warning` says what is left out and why.
 *
 * @example
 * const { fields } = await readDiscoveryFunction({ cloudformation, lambda }, { stackId, groupName: 'demo', accountId });
 * fields.DiscoveryLambdaIamRoleArn; // 'arn:aws:iam::111122223333:role/CloneSquad-demo-DiscoveryFunctionRole-1A2B3C'
 */
export async function readDiscoveryFunction(
  clients: { cloudformation: CloudFormationClient; lambda: LambdaClient },
  stack: { stackId: string; groupName: string; accountId: string },
): Promise<DiscoveryFunctionFacts> {
  const problems: string[] = [];
  const resource = (logicalId: string) => physicalId(clients.cloudformation, stack.stackId, logicalId, problems);
  const functionName = (await resource(DISCOVERY_FUNCTION)) ?? conventionalDiscoveryFunctionName(stack.groupName);
  let variables: Record<string, string> | undefined;
  let unreadable = '';
  try {
    const { Environment: environment } = await clients.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName }),
    );
    if (environment?.Error) unreadable = `${environment.Error.ErrorCode}: ${environment.Error.Message}`;
    else variables = environment?.Variables ?? {};
  } catch (error) {
    unreadable = errorText(error);
  }
  const fields: Partial<Record<FunctionOnlyField, string>> = {};
  for (const field of FUNCTION_ONLY_FIELDS) {
    if (typeof variables?.[field] === 'string') fields[field] = variables[field];
  }
  const fromStack: FunctionOnlyField[] = [];
  for (const [field, logicalId] of ROLE_RESOURCES) {
    if (fields[field] !== undefined) continue;
    const roleName = await resource(logicalId);
    if (roleName) {
      fields[field] = roleArn(stack.stackId, stack.accountId, roleName);
      fromStack.push(field);
    }
  }
  const installTime = parseCloneSquadTime(variables?.InstallTime);
  const facts = { fields, ...(installTime ? { installTime } : {}) };
  if (variables) return facts;

  const missing = FUNCTION_ONLY_FIELDS.filter((field) => fields[field] === undefined);
  const roles =
    fromStack.length > 0
      ? `; ${list(fromStack)} ${fromStack.length === 1 ? 'comes' : 'come'} from the stack's resources`
      : '';
  const noRoles =
    fromStack.length > 0
      ? ''
      : problems.length > 0
        ? ` and its roles could not be read (${problems.join('; ')})`
        : ` and the stack has no ${ROLE_RESOURCES.map(([, logicalId]) => logicalId).join(' or ')}`;
  const warning =
    `CloneSquad's Discovery function ${quoteInput(functionName)} could not be read (${unreadable})${noRoles}: ` +
    `${list(missing)} ${missing.length === 1 ? 'is' : 'are'} left out${roles}. Fix: none needed unless the ` +
    "stack is CloneSquad's own template; then allow this service's role lambda:GetFunctionConfiguration on " +
    'the function (and kms:Decrypt on the key of its environment, if it has one)';
  return { ...facts, warning };
}
