import { columns, timestamp, type TableSchema } from '../schema-types.ts';

export const volumesTable: TableSchema = {
  folder: 'volumes',
  name: 'clonesquad_volumes',
  description: 'One line per EBS volume attached to a managed instance',
  columns: columns({
    MetadataRecordLastUpdatedAt: timestamp,
  }),
};
