/**
 * The CMDB catalog as Glue holds it, defined once from the table schemas (shared/catalog): the tables'
 * inputs, the crawler's settings and targets, and the state machine that starts the crawler when a
 * writer says it created a partition. The catalog stack (infra/catalog-stack.ts) wraps them in
 * CloudFormation; the local runs (local/catalog.ts) create them in the emulator.
 */
import { metadataTableFolder, type MetadataTable } from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';
import {
  INPUT_FORMAT,
  JSON_SERDE,
  OUTPUT_FORMAT,
  TABLES,
  glueColumns,
  gluePartitionKeys,
} from '#shared/catalog/schema';

/** Athena's default database; the shipped views read `default.clonesquad_*`. */
export const DEFAULT_DATABASE = 'default';
export const DEFAULT_CRAWLER_NAME = 'clonesquad-cmdb-metadata';
/**
 * The crawler names this catalog stack creates, and so the only ones a deployment may name: Glue's API
 * would take spaces and `*` too, but such a name is a typo far more often than a crawler.
 */
export const CRAWLER_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,255}$/;
/** Daily safety net; the workflow starts the crawler right after an export that created a partition. */
export const DEFAULT_CRAWLER_SCHEDULE = 'cron(17 3 * * ? *)';

/** `s3://bucket/P/metadata/{folder}/`: the LOCATION of a table. */
export function tableLocation(root: S3Location, table: MetadataTable): string {
  return `s3://${root.bucket}/${metadataTableFolder(root, table)}/`;
}

/**
 * The Glue `TableInput` of a metadata table. `location` is a string for the SDK, or a
 * CloudFormation expression for the template.
 */
export function tableInput<Location>(table: MetadataTable, location: Location) {
  const schema = TABLES[table];
  return {
    Name: schema.name,
    Description: schema.description,
    TableType: 'EXTERNAL_TABLE',
    Parameters: { EXTERNAL: 'TRUE', classification: 'json', compressionType: 'gzip', typeOfData: 'file' },
    PartitionKeys: gluePartitionKeys(),
    StorageDescriptor: {
      Columns: glueColumns(schema),
      Location: location,
      InputFormat: INPUT_FORMAT,
      OutputFormat: OUTPUT_FORMAT,
      Compressed: true,
      SerdeInfo: { SerializationLibrary: JSON_SERDE, Parameters: { 'serialization.format': '1' } },
      StoredAsSubDirectories: false,
    },
  };
}

/**
 * Crawler settings that keep the explicit schemas: catalog targets never create tables; `LOG`
 * never updates or deletes them (AWS requires `LOG` deletion for catalog targets);
 * `InheritFromTable` gives every new partition the table's columns and SerDe instead of a schema
 * inferred from one file. Catalog targets always group compatible schemas and refuse
 * `CRAWL_NEW_FOLDERS_ONLY` (S3 targets only), so the recrawl policy is `CRAWL_EVERYTHING`.
 */
export function crawlerSettings() {
  const configuration = {
    CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
    Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
  };
  return {
    Description: 'Adds the new partitions of the CloneSquad CMDB metadata tables; never changes their schemas',
    SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' } as const,
    RecrawlPolicy: { RecrawlBehavior: 'CRAWL_EVERYTHING' } as const,
    // Glue documents `"Version": 1.0`; JSON.stringify would print 1.
    Configuration: `{"Version":1.0,${JSON.stringify(configuration).slice(1)}`,
  };
}

/** The crawler's targets: every metadata table of `databaseName`, as catalog targets. */
export function crawlerTargets<Name>(databaseName: Name, tableNames: Name[]) {
  return { CatalogTargets: [{ DatabaseName: databaseName, Tables: tableNames }] };
}

/**
 * The state machine that registers a new partition: it starts the crawler, and while a crawl is
 * under way (which may have listed the folders before this one was created) it tries again every two
 * minutes, for up to 14 minutes, so the partition is queryable within 15 minutes of its first export.
 * A partition the crawler could not be started for is left to its daily schedule.
 */
export function crawlerTriggerDefinition<Name>(crawlerName: Name) {
  return {
    Comment: 'Starts the CMDB crawler for a new partition; waits out a crawl already under way',
    StartAt: 'StartCrawler',
    States: {
      StartCrawler: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:glue:startCrawler',
        Parameters: { Name: crawlerName },
        Retry: [
          { ErrorEquals: ['Glue.CrawlerRunningException'], IntervalSeconds: 120, MaxAttempts: 7, BackoffRate: 1 },
          {
            ErrorEquals: [
              'Glue.OperationTimeoutException',
              'Glue.InternalServiceException',
              'Glue.ThrottlingException',
            ],
            IntervalSeconds: 5,
            MaxAttempts: 4,
            BackoffRate: 2,
            JitterStrategy: 'FULL',
          },
        ],
        End: true,
      },
    },
  };
}
