/**
 * The catalog stack's database, tables and crawler created with the SDK, from the same definitions
 * as the template (glue/catalog-stack.ts), for the emulator (moto has no Glue resources in its
 * CloudFormation). Idempotent: existing tables are updated, an existing crawler replaced.
 */
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  CreateTableCommand,
  DeleteCrawlerCommand,
  GetDatabaseCommand,
  GlueClient,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import {
  DEFAULT_CRAWLER_NAME,
  DEFAULT_DATABASE,
  crawlerSettings,
  crawlerTargets,
  tableInput,
  tableLocation,
} from '#glue/catalog';
import { TABLES } from '#shared/catalog/schema';
import { METADATA_TABLES } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';

export interface CatalogOptions {
  databaseName?: string;
  crawlerName?: string;
  /** The crawler's role; the emulator does not check it. */
  roleArn?: string;
  /** A crawler schedule expression; none by default. */
  schedule?: string;
}

export interface Catalog {
  databaseName: string;
  crawlerName: string;
  tables: string[];
}

function isNamed(error: unknown, name: string): boolean {
  return (error as { name?: string } | null)?.name === name;
}

/** Creates (or updates) the database, one table per metadata folder of `location`, and the crawler. */
export async function createCatalog(
  glue: GlueClient,
  location: S3Location,
  options: CatalogOptions = {},
): Promise<Catalog> {
  const databaseName = options.databaseName ?? DEFAULT_DATABASE;
  const crawlerName = options.crawlerName ?? DEFAULT_CRAWLER_NAME;
  // The emulator has no `default` database; AWS creates it on first use, so create it when missing.
  try {
    await glue.send(new GetDatabaseCommand({ Name: databaseName }));
  } catch (error) {
    if (!isNamed(error, 'EntityNotFoundException')) throw error;
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: databaseName } }));
  }
  for (const table of METADATA_TABLES) {
    const input = tableInput(table, tableLocation(location, table));
    try {
      await glue.send(new CreateTableCommand({ DatabaseName: databaseName, TableInput: input }));
    } catch (error) {
      if (!isNamed(error, 'AlreadyExistsException')) throw error;
      await glue.send(new UpdateTableCommand({ DatabaseName: databaseName, TableInput: input }));
    }
  }
  const tables = METADATA_TABLES.map((table) => TABLES[table].name);
  const crawler = {
    Name: crawlerName,
    Role: options.roleArn ?? 'arn:aws:iam::123456789012:role/clonesquad-cmdb-crawler',
    Targets: crawlerTargets(databaseName, tables),
    ...crawlerSettings(),
    ...(options.schedule ? { Schedule: options.schedule } : {}),
  };
  try {
    await glue.send(new CreateCrawlerCommand(crawler));
  } catch (error) {
    if (!isNamed(error, 'AlreadyExistsException')) throw error;
    // moto 5.2 has no UpdateCrawler; a crawler is cheap to replace in the emulator.
    await glue.send(new DeleteCrawlerCommand({ Name: crawlerName }));
    await glue.send(new CreateCrawlerCommand(crawler));
  }
  return { databaseName, crawlerName, tables };
}
