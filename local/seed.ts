/**
 * The seed file of a local run: a CloneSquad group to create in the emulator through the real APIs.
 *
 * ```yaml
 * groupName: demo
 * region: eu-west-1          # optional, default us-east-1
 * configuration:             # raw table Key -> Value, all strings
 *   ec2.schedule.min_instance_count: "2"
 *   "[nightly]ec2.schedule.desired_instance_count": "0"
 * scheduler:
 *   "nightly-off": "cron(0 20 * * ? *),config.active_parameter_set=nightly"
 * ```
 */
import { readFileSync } from 'node:fs';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';
import { validateGroupName } from '#shared/deployment';
import { UserInputError } from '#shared/errors';
import { BACKUP_TABLES, type BackupTable } from '#shared/s3-layout';

export interface Seed {
  groupName: string;
  region: string;
  tables: Record<BackupTable, Record<string, string>>;
}

const KNOWN_SECTIONS = new Set(['groupName', 'region', ...BACKUP_TABLES]);

export function parseSeed(text: string, source: string): Seed {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new UserInputError(
      `seed file ${source}`,
      `it is not valid YAML (${(error as Error).message})`,
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
      `region ${JSON.stringify(region)} is not an AWS region name`,
      'write it like eu-west-1',
    );
  }
  const tables = {} as Seed['tables'];
  for (const table of BACKUP_TABLES)
    tables[table] = stringMapping(fields[table] ?? {}, `seed file ${source}, section ${table}`);
  return { groupName: validateGroupName(fields.groupName), region, tables };
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
        `its value ${JSON.stringify(value)} is not a string`,
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

export async function applySeed(
  dynamodb: DynamoDBClient,
  seed: Seed,
  tableNames: Record<BackupTable, string>,
): Promise<void> {
  for (const table of BACKUP_TABLES) {
    await createCloneSquadTable(dynamodb, tableNames[table]);
    const requests = Object.entries(seed.tables[table]).map(([key, value]) => ({
      PutRequest: { Item: { Key: { S: key }, Value: { S: value } } },
    }));
    await writeItems(dynamodb, tableNames[table], requests);
  }
}
