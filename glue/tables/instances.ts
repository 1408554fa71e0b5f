import { columns, timestamp, type TableSchema } from '../schema-types.ts';

export const instancesTable: TableSchema = {
  folder: 'instances',
  name: 'clonesquad_instances',
  description: 'One line per EC2 instance managed by CloneSquad',
  columns: columns({
    MetadataRecordLastUpdatedAt: timestamp,
  }),
};
