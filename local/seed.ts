/**
 * The seed file of a local run: the CloneSquad groups to create in the emulator through the real
 * APIs, each a stack of CloneSquad's shape (its `GroupName` parameter and its two tables), and decoy
 * stacks that are not groups. Two forms: one group at the top level (as below), or several:
 *
 * ```yaml
 * groups:                      # each entry is a group as below; regions may differ
 *   - groupName: web
 *     region: eu-west-1
 *     configuration: { … }
 *   - groupName: batch
 *     region: eu-west-3
 * decoys:                      # stacks of another template, which must be ignored
 *   - stackName: CloneSquad-not-a-group
 *     region: eu-west-1
 * organization: {}             # optional, for every group (local/seed-stack.ts)
 * ```
 *
 * One group: every section but `groupName` is optional.
 *
 * ```yaml
 * groupName: demo
 * region: eu-west-1          # optional, default us-east-1
 * configuration:             # raw table Key -> Value, all strings
 *   ec2.schedule.min_instance_count: "2"
 *   "[nightly]ec2.schedule.desired_instance_count": "0"
 * scheduler:
 *   "nightly-off": "cron(0 20 * * ? *),config.active_parameter_set=nightly"
 * instances: […]             # local/seed-instances.ts
 * maintenanceWindows: […]    # local/seed-windows.ts
 * stack: {…}                 # local/seed-stack.ts (a stack is always created; this adds to it)
 * missingTables: [scheduler] # tables deleted after the stack is created (a broken group)
 * organization: {…}          # local/seed-stack.ts
 * ```
 */
import { readFileSync } from 'node:fs';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SSMClient } from '@aws-sdk/client-ssm';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';
import { defaultTableNames, validateGroupName } from '#shared/run/deployment';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { DYNAMODB_MAX_ITEM_BYTES, dynamoDbItemBytes } from '#shared/aws/dynamodb-item-size';
import { checkRestorable } from '#shared/restore/restore';
import { BACKUP_TABLES, type BackupTable } from '#shared/aws/s3-layout';
import { yamlErrorLine } from '#shared/backup/yaml-codec';
import { applyInstancesSeed, parseInstancesSeed, type InstanceSeed } from '#local/seed-instances';
import {
  applyStackSeed,
  parseOrganizationSeed,
  parseStackSeed,
  type OrganizationSeed,
  type StackSeed,
} from '#local/seed-stack';
import { applyWindowsSeed, parseWindowsSeed, type WindowSeed } from '#local/seed-windows';

export interface GroupSeed {
  groupName: string;
  region: string;
  tables: Record<BackupTable, Record<string, string>>;
  instances: InstanceSeed[];
  maintenanceWindows: WindowSeed[];
  stack: StackSeed;
  /** Tables deleted once the stack created them. */
  missingTables: BackupTable[];
}

export interface DecoySeed {
  stackName: string;
  region: string;
}

export interface Seed {
  groups: GroupSeed[];
  decoys: DecoySeed[];
  organization?: OrganizationSeed;
}

const GROUP_SECTIONS = new Set([
  'groupName',
  'region',
  ...BACKUP_TABLES,
  'instances',
  'maintenanceWindows',
  'stack',
  'missingTables',
]);
const MULTI_SECTIONS = new Set(['groups', 'decoys', 'organization']);
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export function parseSeed(text: string, source: string): Seed {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new UserInputError(
      `seed file ${source}`,
      `it is not valid YAML (${yamlErrorLine(error as Error)})`,
      'fix the YAML syntax',
    );
  }
  const fields = mapping(document, `seed file ${source}`);
  const multi = 'groups' in fields;
  const known = multi ? MULTI_SECTIONS : new Set([...GROUP_SECTIONS, 'organization']);
  for (const name of Object.keys(fields)) {
    if (!known.has(name)) {
      throw new UserInputError(
        `seed file ${source}`,
        `${quoteInput(name)} is not a known section`,
        `use only ${[...known].join(', ')}${multi ? ' (the sections of a group go inside its entry of groups)' : ''}`,
      );
    }
  }
  const organization = parseOrganization(fields.organization, source);
  if (!multi) {
    const { organization: _organization, ...group } = fields;
    return { groups: [parseGroup(group, source)], decoys: [], ...(organization ? { organization } : {}) };
  }
  if (!Array.isArray(fields.groups) || fields.groups.length === 0) {
    throw new UserInputError(
      `seed file ${source}, section groups`,
      'it is not a non-empty list',
      'list one entry per group',
    );
  }
  const groups = fields.groups.map((entry: unknown, index: number) =>
    parseGroup(mapping(entry, `seed file ${source}, groups[${index}]`), `${source}, groups[${index}]`),
  );
  const seen = new Set<string>();
  for (const group of groups) {
    const id = `${group.region}/${group.groupName}`;
    if (seen.has(id)) {
      throw new UserInputError(
        `seed file ${source}, group ${group.groupName}`,
        `it is given twice in region ${group.region}`,
        'give each group of a region once',
      );
    }
    seen.add(id);
  }
  const decoys = (
    Array.isArray(fields.decoys) ? fields.decoys : fields.decoys === undefined ? [] : [fields.decoys]
  ).map((entry: unknown, index: number) => parseDecoy(entry, `seed file ${source}, decoys[${index}]`));
  return { groups, decoys, ...(organization ? { organization } : {}) };
}

function mapping(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserInputError(where, 'it is not a mapping', 'write it as in local/sample-seed.yaml');
  }
  return value as Record<string, unknown>;
}

function parseRegion(value: unknown, where: string): string {
  const region = value ?? 'us-east-1';
  if (typeof region !== 'string' || !REGION.test(region)) {
    throw new UserInputError(
      where,
      `region ${quoteInput(region)} is not an AWS region name`,
      'write it like eu-west-1',
    );
  }
  return region;
}

function parseOrganization(section: unknown, source: string): OrganizationSeed | undefined {
  if (section === undefined) return undefined;
  const organization = parseOrganizationSeed(section, source);
  if (organization.accountName) {
    // A named account would be a new member account with a random id on every run, so the run's
    // partitions (accountid=…) would change from run to run.
    throw new UserInputError(
      `seed file ${source}, section organization`,
      "a local run reports the emulator's own account, which the emulator always names master (master@example.com)",
      'write "organization: {}" to create the organization; accountName and accountEmail cannot apply here',
    );
  }
  return organization;
}

function parseDecoy(entry: unknown, where: string): DecoySeed {
  const fields = mapping(entry, where);
  const stackName = fields.stackName;
  if (typeof stackName !== 'string' || !/^[A-Za-z][-A-Za-z0-9]{0,127}$/.test(stackName)) {
    throw new UserInputError(
      where,
      `stackName ${quoteInput(stackName)} is not a stack name`,
      'write it like CloneSquad-x',
    );
  }
  return { stackName, region: parseRegion(fields.region, where) };
}

function parseGroup(fields: Record<string, unknown>, source: string): GroupSeed {
  for (const name of Object.keys(fields)) {
    if (!GROUP_SECTIONS.has(name)) {
      throw new UserInputError(
        `seed file ${source}`,
        `${quoteInput(name)} is not a known section of a group`,
        `use only ${[...GROUP_SECTIONS].join(', ')}`,
      );
    }
  }
  if (typeof fields.groupName !== 'string') {
    throw new UserInputError(
      `seed file ${source}`,
      'groupName is missing or not a string',
      'add for example "groupName: demo"',
    );
  }
  const region = parseRegion(fields.region, `seed file ${source}`);
  const tables = {} as GroupSeed['tables'];
  for (const table of BACKUP_TABLES) {
    const where = `seed file ${source}, section ${table}`;
    tables[table] = stringMapping(fields[table] ?? {}, where);
    // Refused here, before the emulator is touched, rather than by DynamoDB half-way through the seed.
    checkRestorable(
      Object.entries(tables[table]).map(([key, value]) => ({ key, value })),
      where,
    );
    checkEmulatorItemSize(tables[table], where);
  }
  const missingTables = fields.missingTables ?? [];
  if (
    !Array.isArray(missingTables) ||
    missingTables.some((table) => !(BACKUP_TABLES as readonly unknown[]).includes(table))
  ) {
    throw new UserInputError(
      `seed file ${source}, section missingTables`,
      `${quoteInput(missingTables)} is not a list of ${BACKUP_TABLES.join(', ')}`,
      'write it like [scheduler]',
    );
  }
  return {
    groupName: validateGroupName(fields.groupName),
    region,
    tables,
    instances: parseInstancesSeed(fields.instances, source),
    maintenanceWindows: parseWindowsSeed(fields.maintenanceWindows, source),
    stack: parseStackSeed(fields.stack ?? {}, source),
    missingTables: missingTables as BackupTable[],
  };
}

/**
 * moto refuses an item over 405,000 bytes (counted as DynamoDB counts), where DynamoDB takes 409,600,
 * and its error names no key.
 */
const EMULATOR_MAX_ITEM_BYTES = 405_000;

function checkEmulatorItemSize(rows: Record<string, string>, where: string): void {
  for (const [key, value] of Object.entries(rows)) {
    const bytes = dynamoDbItemBytes({ Key: { S: key }, Value: { S: value } });
    if (bytes > EMULATOR_MAX_ITEM_BYTES) {
      throw new UserInputError(
        `${where}, key ${quoteInput(key)}`,
        `the row would be ${bytes} bytes, more than the ${EMULATOR_MAX_ITEM_BYTES} the local emulator (moto) accepts ` +
          `in an item (DynamoDB itself takes ${DYNAMODB_MAX_ITEM_BYTES})`,
        'shorten the value',
      );
    }
  }
}

export function loadSeed(path: string): Seed {
  return parseSeed(readFileSync(path, 'utf8'), path);
}

function stringMapping(section: unknown, where: string): Record<string, string> {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new UserInputError(where, 'it is not a mapping of Key to Value', 'write one "Key: Value" line per table row');
  }
  for (const [key, value] of Object.entries(section)) {
    if (typeof value !== 'string') {
      throw new UserInputError(
        `${where}, key "${key}"`,
        `its value ${quoteInput(value)} is not a string`,
        'quote it, for example "2" or "yes"',
      );
    }
  }
  return section as Record<string, string>;
}

/** Creates a CloneSquad-shaped table (hash key `Key`, TTL on `ExpirationTime`, a stream); existing ones are kept. */
export async function createCloneSquadTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'Key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'Key', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
    throw error;
  }
  await enableTimeToLive(dynamodb, tableName);
}

/** TTL on `ExpirationTime`, as CloneSquad's tables have it (the emulator's CloudFormation leaves it off). */
async function enableTimeToLive(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: 'ExpirationTime', Enabled: true },
    }),
  );
}

/** Writes items in batches of 25, resending whatever DynamoDB leaves unprocessed. */
export async function writeItems(dynamodb: DynamoDBClient, tableName: string, requests: WriteRequest[]): Promise<void> {
  for (let start = 0; start < requests.length; start += 25) {
    let pending: WriteRequest[] = requests.slice(start, start + 25);
    while (pending.length > 0) {
      const response = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = response.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

export interface SeedClients {
  dynamodb: DynamoDBClient;
  ec2: EC2Client;
  ssm: SSMClient;
  cloudformation: CloudFormationClient;
  organizations: OrganizationsClient;
}

/**
 * Creates one group through the real APIs: its stack (which creates its two tables, as CloneSquad's
 * does), the tables' rows, its instances and maintenance windows.
 */
export async function applyGroupSeed(
  clients: SeedClients,
  seed: GroupSeed,
  organization?: OrganizationSeed,
  onProgress: (line: string) => void = () => {},
): Promise<void> {
  await applyStackSeed(clients, seed.groupName, seed.stack, organization);
  const tableNames = defaultTableNames(seed.groupName);
  for (const table of BACKUP_TABLES) {
    await enableTimeToLive(clients.dynamodb, tableNames[table]);
    const requests = Object.entries(seed.tables[table]).map(([key, value]) => ({
      PutRequest: { Item: { Key: { S: key }, Value: { S: value } } },
    }));
    await writeItems(clients.dynamodb, tableNames[table], requests);
  }
  for (const table of seed.missingTables) {
    await clients.dynamodb.send(new DeleteTableCommand({ TableName: tableNames[table] }));
  }
  await applyInstancesSeed(clients.ec2, seed.groupName, seed.instances, (created, total) =>
    onProgress(`seeding group ${seed.groupName}: ${created} of ${total} instances created`),
  );
  await applyWindowsSeed(clients.ssm, seed.groupName, seed.maintenanceWindows);
}

/** A stack of another template, with a `GroupName` parameter but no CloneSquad tables. */
export async function applyDecoySeed(clients: Pick<SeedClients, 'cloudformation'>, seed: DecoySeed): Promise<void> {
  await applyStackSeed(
    { cloudformation: clients.cloudformation },
    'decoy',
    { name: seed.stackName, parameters: {}, noEcho: [], outputs: {} },
    undefined,
    {
      withTables: false,
    },
  );
}
