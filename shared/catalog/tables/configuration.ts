import { bigint, columns, string, timestamp, type TableSchema } from '#shared/catalog/schema-types';

/** One line per table row, parameter-set rows included with their raw `Key`. */
const tableRowColumns = columns({
  Key: string,
  Value: string,
  ExpirationTime: bigint,
  MetadataRecordLastUpdatedAt: timestamp,
});

export const configurationTable: TableSchema = {
  folder: 'configuration',
  name: 'clonesquad_configuration',
  description: 'Rows of each CloneSquad Configuration table',
  columns: tableRowColumns,
};

export const schedulerTable: TableSchema = {
  folder: 'scheduler',
  name: 'clonesquad_scheduler',
  description: 'Rows of each CloneSquad Scheduler table',
  columns: tableRowColumns,
};
