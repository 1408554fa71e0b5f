/**
 * The seed file of a local run: a CloneSquad group to create in the emulator through the real APIs.
 * Every section but `groupName` is optional; a seed with only the two tables runs with an empty
 * fleet and no CloneSquad stack.
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
 * stack: {…}                 # local/seed-stack.ts
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
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';
import { validateGroupName } from '#shared/run/deployment';
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

export interface Seed {
  groupName: string;
  region: string;
  tables: Record<BackupTable, Record<string, string>>;
  instances: InstanceSeed[];
  maintenanceWindows: WindowSeed[];
  stack?: StackSeed;
  organization?: OrganizationSeed;
}

const KNOWN_SECTIONS = new Set([
  'groupName',
  'region',
  ...BACKUP_TABLES,
  'instances',
  'maintenanceWindows',
  'stack',
  'organization',
]);

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
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new UserInputError(`seed file ${source}`, 'it is not a mapping', 'write it as in local/sample-seed.yaml');
  }
  const fields = document as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!KNOWN_SECTIONS.has(name)) {
      throw new UserInputError(
        `seed file ${source}`,
        `"${name}" is not a known section`,
        `use only ${[...KNOWN_SECTIONS].join(', ')}`,
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
  const region = fields.region ?? 'us-east-1';
  if (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new UserInputError(
      `seed file ${source}`,
      `region ${quoteInput(region)} is not an AWS region name`,
      'write it like eu-west-1',
    );
  }
  const tables = {} as Seed['tables'];
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
  if (fields.organization !== undefined && fields.stack === undefined) {
    throw new UserInputError(
      `seed file ${source}`,
      'an organization section needs a stack section (discovery reads both)',
      'add a stack section, or remove the organization section',
    );
  }
  const organization =
    fields.organization !== undefined ? parseOrganizationSeed(fields.organization, source) : undefined;
  if (organization?.accountName) {
    // A named account would be a new member account with a random id on every run, so the run's
    // partitions (accountid=…) would change from run to run.
    throw new UserInputError(
      `seed file ${source}, section organization`,
      "a local run reports the emulator's own account, which the emulator always names master (master@example.com)",
      'write "organization: {}" to create the organization; accountName and accountEmail cannot apply here',
    );
  }
  return {
    groupName: validateGroupName(fields.groupName),
    region,
    tables,
    instances: parseInstancesSeed(fields.instances, source),
    maintenanceWindows: parseWindowsSeed(fields.maintenanceWindows, source),
    ...(fields.stack !== undefined ? { stack: parseStackSeed(fields.stack, source) } : {}),
    ...(organization ? { organization } : {}),
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

/** Creates everything the seed describes, through the real APIs. */
export async function applySeed(
  clients: SeedClients,
  seed: Seed,
  tableNames: Record<BackupTable, string>,
  onProgress: (line: string) => void = () => {},
): Promise<void> {
  for (const table of BACKUP_TABLES) {
    await createCloneSquadTable(clients.dynamodb, tableNames[table]);
    const requests = Object.entries(seed.tables[table]).map(([key, value]) => ({
      PutRequest: { Item: { Key: { S: key }, Value: { S: value } } },
    }));
    await writeItems(clients.dynamodb, tableNames[table], requests);
  }
  await applyInstancesSeed(clients.ec2, seed.groupName, seed.instances, (created, total) =>
    onProgress(`seeding group ${seed.groupName}: ${created} of ${total} instances created`),
  );
  await applyWindowsSeed(clients.ssm, seed.groupName, seed.maintenanceWindows);
  if (seed.stack) await applyStackSeed(clients, seed.groupName, seed.stack, seed.organization);
}
