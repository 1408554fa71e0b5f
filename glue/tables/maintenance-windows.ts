import { columns, timestamp, type TableSchema } from '../schema-types.ts';

export const maintenanceWindowsTable: TableSchema = {
  folder: 'maintenance-windows',
  name: 'clonesquad_maintenance_windows',
  description: 'One line per fleet with the SSM maintenance windows that apply to it',
  columns: columns({
    MetadataRecordLastUpdatedAt: timestamp,
  }),
};
