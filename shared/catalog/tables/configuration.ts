import { columns, string, type TableSchema } from '#shared/catalog/schema-types';

/**
 * One line per table row, parameter-set rows included with their raw `Key`. Typed as the original
 * CloneSquad tables type them (text), so queries written for those run unchanged: the export time is
 * the original's text, and ExpirationTime (epoch seconds) is text in both tables, so the two union.
 */
const tableRowColumns = columns({
  Key: string,
  Value: string,
  ExpirationTime: string,
  MetadataRecordLastUpdatedAt: string,
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
