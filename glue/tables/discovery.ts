import { columns, timestamp, type TableSchema } from '../schema-types.ts';

export const discoveryTable: TableSchema = {
  folder: 'discovery',
  name: 'clonesquad_discovery',
  description: 'One line per CloneSquad deployment',
  columns: columns({
    MetadataRecordLastUpdatedAt: timestamp,
  }),
};
