/**
 * The `stack` and `organization` sections of a local seed file: a stand-in CloneSquad stack created in
 * the emulator through CreateStack (so discovery reads it as it reads a real one), and optionally an
 * AWS Organization so that Organizations DescribeAccount answers.
 *
 * ```yaml
 * stack:
 *   name: CloneSquad-demo          # optional, default CloneSquad-{groupName}
 *   version: v0.27.1               # optional: the CloneSquadVersion its template carries
 *   parameters:                    # every value a string; GroupName is added from groupName
 *     LambdaMemorySize: '512'
 *     UserSuppliedJSONMetadata: '{"Owner": "team-a", "CostCenter": 42}'
 *     ApiSecret: 'never-exported'
 *   noEcho: [ApiSecret]            # parameters declared NoEcho: discovery never writes them
 *   discoveryFunction:             # optional: CloneSquad's Discovery function and the roles it names,
 *     environment:                 # as its template makes them; more variables (strings) for it
 *       ApiGwVpcEndpointDNSEntry: vpce-0abc-1234.execute-api.eu-west-1.vpce.amazonaws.com
 *       InstallTime: '2024-04-02 09:00:00.123456+00:00'
 *   outputs:                       # every value a string
 *     InteractAPIUrl: https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/
 *     ConfigTable: arn:aws:dynamodb:eu-west-1:123456789012:table/CloneSquad-demo-Configuration
 * organization:                    # optional
 *   accountName: Demo workloads    # optional, with accountEmail
 *   accountEmail: demo@example.com
 * ```
 *
 * With `discoveryFunction`, the stack also holds the roles `DiscoveryFunctionRole` and
 * `InteractFunctionRole` and the function `CloneSquad-Discovery-{groupName}` (never invoked), whose
 * environment names the two roles' ARNs as CloneSquad's does: discovery reads its record fields there.
 *
 * moto cannot rename an organization's management account (always `master`, `master@example.com`).
 * With `accountName`/`accountEmail`, a member account is created with them and its id returned by
 * {@link applyStackSeed}: use it as the deployment's account id to see them in the discovery line.
 * Without them, the caller's account is the management account and describes itself as moto names it.
 */
import {
  AlreadyExistsException,
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import {
  AlreadyInOrganizationException,
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
  paginateListAccounts,
} from '@aws-sdk/client-organizations';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { TABLE_LOGICAL_IDS } from '#shared/groups/find-groups';

export interface StackSeed {
  name?: string;
  version?: string;
  parameters: Record<string, string>;
  noEcho: string[];
  outputs: Record<string, string>;
  discoveryFunction?: { environment: Record<string, string> };
}

export interface OrganizationSeed {
  accountName?: string;
  accountEmail?: string;
}

export interface AppliedStackSeed {
  stackName: string;
  stackId: string;
  /** The member account holding `accountName`/`accountEmail`, when the organization seed named one. */
  accountId?: string;
}

const STACK_FIELDS = new Set(['name', 'version', 'parameters', 'noEcho', 'outputs', 'discoveryFunction']);
const DISCOVERY_FUNCTION_FIELDS = new Set(['environment']);
/** Variables of the Discovery function the stand-in template sets itself, as CloneSquad's does. */
const ROLE_VARIABLES = {
  DiscoveryLambdaIamRoleArn: 'DiscoveryFunctionRole',
  InteractLambdaIamRoleArn: 'InteractFunctionRole',
};
const TEMPLATE_VARIABLES = new Set(['GroupName', ...Object.keys(ROLE_VARIABLES)]);
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ORGANIZATION_FIELDS = new Set(['accountName', 'accountEmail']);
const LOGICAL_ID = /^[A-Za-z0-9]{1,255}$/;
const STACK_NAME = /^[A-Za-z][-A-Za-z0-9]{0,127}$/;

function mapping(section: unknown, where: string, example: string): Record<string, unknown> {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new UserInputError(where, 'it is not a mapping', `write it as in this example: ${example}`);
  }
  return section as Record<string, unknown>;
}

function onlyFields(fields: Record<string, unknown>, known: Set<string>, where: string): void {
  for (const name of Object.keys(fields)) {
    if (!known.has(name)) {
      throw new UserInputError(where, `"${name}" is not a known field`, `use only ${[...known].join(', ')}`);
    }
  }
}

function optionalString(value: unknown, where: string, fix: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new UserInputError(where, `${quoteInput(value)} is not a non-empty string`, fix);
  }
  return value;
}

function namedStrings(section: unknown, where: string, kind: string): Record<string, string> {
  const fields = mapping(section ?? {}, where, `"${kind === 'parameter' ? 'LambdaMemorySize' : 'InteractAPIUrl'}: …"`);
  for (const [name, value] of Object.entries(fields)) {
    if (!LOGICAL_ID.test(name)) {
      throw new UserInputError(
        `${where}, ${kind} "${name}"`,
        'CloudFormation names may hold only letters and digits',
        'rename it, for example without "-", "_" or spaces',
      );
    }
    if (typeof value !== 'string') {
      throw new UserInputError(
        `${where}, ${kind} "${name}"`,
        `its value ${quoteInput(value)} is not a string`,
        'quote it, for example "512" or "true"',
      );
    }
  }
  return fields as Record<string, string>;
}

function parseDiscoveryFunction(section: unknown, where: string): { environment: Record<string, string> } {
  const fields = mapping(section ?? {}, where, 'discoveryFunction: { environment: { ApiGwVpcEndpointDNSEntry: … } }');
  onlyFields(fields, DISCOVERY_FUNCTION_FIELDS, where);
  const environment = mapping(fields.environment ?? {}, `${where}, environment`, '{ ApiGwVpcEndpointDNSEntry: … }');
  for (const [name, value] of Object.entries(environment)) {
    if (TEMPLATE_VARIABLES.has(name)) {
      throw new UserInputError(`${where}, variable ${name}`, 'the stack sets it', 'remove it from the environment');
    }
    if (!VARIABLE_NAME.test(name)) {
      throw new UserInputError(
        `${where}, variable ${quoteInput(name)}`,
        'Lambda variable names hold only letters, digits and "_", and do not begin with a digit',
        'rename it',
      );
    }
    if (typeof value !== 'string') {
      throw new UserInputError(
        `${where}, variable ${quoteInput(name)}`,
        `its value ${quoteInput(value)} is not a string`,
        'quote it',
      );
    }
  }
  return { environment: environment as Record<string, string> };
}

/** Reads the `stack` section of seed file `source`; every problem is a {@link UserInputError}. */
export function parseStackSeed(section: unknown, source: string): StackSeed {
  const where = `seed file ${source}, section stack`;
  const fields = mapping(section, where, 'stack: { parameters: {…}, outputs: {…} }');
  onlyFields(fields, STACK_FIELDS, where);
  const name = optionalString(fields.name, `${where}, name`, 'write a stack name such as CloneSquad-demo');
  if (name !== undefined && !STACK_NAME.test(name)) {
    throw new UserInputError(
      `${where}, name "${name}"`,
      'it is not a valid stack name',
      'start with a letter, then letters, digits and "-" only, at most 128 characters',
    );
  }
  const version = optionalString(fields.version, `${where}, version`, 'write a version such as v0.27.1');
  const parameters = namedStrings(fields.parameters, `${where}, parameters`, 'parameter');
  if ('GroupName' in parameters) {
    throw new UserInputError(
      `${where}, parameter GroupName`,
      'it is set from the seed file groupName',
      'remove it from the parameters',
    );
  }
  const outputs = namedStrings(fields.outputs, `${where}, outputs`, 'output');
  const noEcho = fields.noEcho ?? [];
  if (!Array.isArray(noEcho) || noEcho.some((item) => typeof item !== 'string')) {
    throw new UserInputError(`${where}, noEcho`, 'it is not a list of parameter names', 'write it like [ApiSecret]');
  }
  for (const parameter of noEcho as string[]) {
    if (!(parameter in parameters)) {
      throw new UserInputError(
        `${where}, noEcho "${parameter}"`,
        'it names no parameter of the section',
        'add the parameter with its value, or remove the name',
      );
    }
  }
  return {
    ...(name ? { name } : {}),
    ...(version ? { version } : {}),
    parameters,
    noEcho: noEcho as string[],
    outputs,
    ...(fields.discoveryFunction === undefined
      ? {}
      : { discoveryFunction: parseDiscoveryFunction(fields.discoveryFunction, `${where}, discoveryFunction`) }),
  };
}

/** Reads the `organization` section of seed file `source`. */
export function parseOrganizationSeed(section: unknown, source: string): OrganizationSeed {
  const where = `seed file ${source}, section organization`;
  const fields = mapping(section ?? {}, where, 'organization: { accountName: Demo, accountEmail: demo@example.com }');
  onlyFields(fields, ORGANIZATION_FIELDS, where);
  const accountName = optionalString(fields.accountName, `${where}, accountName`, 'write an account name');
  const accountEmail = optionalString(fields.accountEmail, `${where}, accountEmail`, 'write an e-mail address');
  if ((accountName === undefined) !== (accountEmail === undefined)) {
    throw new UserInputError(where, 'only one of accountName and accountEmail is set', 'set both, or neither');
  }
  if (accountEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(accountEmail)) {
    throw new UserInputError(`${where}, accountEmail`, `"${accountEmail}" is not an e-mail address`, 'fix it');
  }
  return { ...(accountName ? { accountName, accountEmail } : {}) };
}

const LAMBDA_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/** CloneSquad's Discovery function as its template declares it, its environment cut down to the seed's. */
function discoveryFunctionResources(environment: Record<string, string>): Record<string, unknown> {
  const roles = Object.fromEntries(
    Object.values(ROLE_VARIABLES).map((role) => [
      role,
      { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: LAMBDA_TRUST } },
    ]),
  );
  const roleArns = Object.fromEntries(
    Object.entries(ROLE_VARIABLES).map(([variable, role]) => [variable, { 'Fn::GetAtt': [role, 'Arn'] }]),
  );
  return {
    ...roles,
    DiscoveryFunction: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: { 'Fn::Sub': 'CloneSquad-Discovery-${GroupName}' },
        Runtime: 'python3.11',
        Handler: 'index.discovery_handler',
        Code: { ZipFile: 'def discovery_handler(event, context):\n    return {}\n' },
        Role: { 'Fn::GetAtt': ['DiscoveryFunctionRole', 'Arn'] },
        Environment: { Variables: { GroupName: { Ref: 'GroupName' }, ...roleArns, ...environment } },
      },
    },
  };
}

/**
 * The stand-in template: the parameters (NoEcho where asked), CloneSquad's two tables under its
 * logical ids and names (unless `withTables` is false: a decoy), its Discovery function when the seed
 * has one, an inert resource, literal outputs.
 */
export function stackSeedTemplate(groupName: string, seed: StackSeed, { withTables = true } = {}): string {
  const noEcho = new Set(seed.noEcho);
  const parameters = Object.fromEntries(
    ['GroupName', ...Object.keys(seed.parameters)].map((name) => [
      name,
      { Type: 'String', ...(noEcho.has(name) ? { NoEcho: true } : {}) },
    ]),
  );
  const outputs = Object.fromEntries(
    Object.entries({ GroupName: groupName, ...seed.outputs }).map(([name, value]) => [name, { Value: value }]),
  );
  return JSON.stringify({
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'Local stand-in for a CloneSquad stack (seed file)',
    Parameters: parameters,
    Resources: {
      // A topic, as CloneSquad's own stack has: the emulator answers DescribeStackResource only for a
      // stack whose every resource it models (not a WaitConditionHandle).
      SeedPlaceholder: {
        Type: 'AWS::SNS::Topic',
        ...(seed.version ? { Metadata: { CloneSquadVersion: seed.version } } : {}),
      },
      ...(withTables ? cloneSquadTables() : {}),
      ...(seed.discoveryFunction ? discoveryFunctionResources(seed.discoveryFunction.environment) : {}),
    },
    Outputs: outputs,
  });
}

/** CloneSquad's two tables, as its template declares them (the emulator creates them with the stack). */
function cloneSquadTables(): Record<string, object> {
  const table = (suffix: string) => ({
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      TableName: { 'Fn::Sub': `CloneSquad-\${GroupName}-${suffix}` },
      AttributeDefinitions: [{ AttributeName: 'Key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'Key', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    },
  });
  return {
    [TABLE_LOGICAL_IDS.configuration]: table('Configuration'),
    [TABLE_LOGICAL_IDS.scheduler]: table('Scheduler'),
  };
}

async function seedOrganization(
  organizations: OrganizationsClient,
  seed: OrganizationSeed,
): Promise<string | undefined> {
  try {
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  } catch (error) {
    if (!(error instanceof AlreadyInOrganizationException)) throw error;
  }
  if (!seed.accountName || !seed.accountEmail) return undefined;
  for await (const page of paginateListAccounts({ client: organizations }, {})) {
    const existing = page.Accounts?.find((account) => account.Email === seed.accountEmail);
    if (existing?.Id) return existing.Id;
  }
  const { CreateAccountStatus: status } = await organizations.send(
    new CreateAccountCommand({ AccountName: seed.accountName, Email: seed.accountEmail }),
  );
  if (status?.State !== 'SUCCEEDED' || !status.AccountId) {
    throw new Error(`the emulator did not create account ${seed.accountEmail}: ${JSON.stringify(status)}`);
  }
  return status.AccountId;
}

/**
 * Creates (or updates) the stack `seed.name ?? CloneSquad-{groupName}` and, when asked, the
 * organization. Returns the stack's id and the member account id of a named organization seed.
 */
export async function applyStackSeed(
  clients: { cloudformation: CloudFormationClient; organizations?: OrganizationsClient },
  groupName: string,
  seed: StackSeed,
  organization?: OrganizationSeed,
  options: { withTables?: boolean } = {},
): Promise<AppliedStackSeed> {
  const stackName = seed.name ?? `CloneSquad-${groupName}`;
  const input = {
    StackName: stackName,
    TemplateBody: stackSeedTemplate(groupName, seed, options),
    Parameters: Object.entries({ GroupName: groupName, ...seed.parameters }).map(
      ([ParameterKey, ParameterValue]): Parameter => ({ ParameterKey, ParameterValue }),
    ),
  };
  try {
    await clients.cloudformation.send(new CreateStackCommand(input));
  } catch (error) {
    if (!(error instanceof AlreadyExistsException)) throw error;
    try {
      await clients.cloudformation.send(new UpdateStackCommand(input));
    } catch (updateError) {
      if (!/No updates are to be performed/.test((updateError as Error).message)) throw updateError;
    }
  }
  const stack = (await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  if (!stack?.StackId || !/_COMPLETE$/.test(stack.StackStatus ?? '') || /ROLLBACK/.test(stack.StackStatus ?? '')) {
    throw new Error(`seed stack ${stackName} is ${stack?.StackStatus ?? 'missing'}: ${stack?.StackStatusReason ?? ''}`);
  }
  let accountId: string | undefined;
  if (organization) {
    if (!clients.organizations) throw new Error('applyStackSeed: an organization seed needs an Organizations client');
    accountId = await seedOrganization(clients.organizations, organization);
  }
  return { stackName, stackId: stack.StackId, ...(accountId ? { accountId } : {}) };
}
