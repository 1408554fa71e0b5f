import {
  array,
  bigint,
  boolean,
  columns,
  string,
  struct,
  tags,
  timestamp,
  type TableSchema,
} from '#shared/catalog/schema-types';

/**
 * One SSM maintenance window as DescribeMaintenanceWindows gives it, with its tags. `Duration` and
 * `Cutoff` are hours, typed `bigint` as in the original CloneSquad DDL. `NextExecutionTime` is SSM's
 * own value when it gives one, else computed from the schedule; null for a disabled window.
 */
const maintenanceWindow = struct({
  WindowId: string,
  Name: string,
  Description: string,
  Enabled: boolean,
  Duration: bigint,
  Cutoff: bigint,
  Schedule: string,
  ScheduleTimezone: string,
  ScheduleOffset: bigint,
  StartDate: timestamp,
  EndDate: timestamp,
  NextExecutionTime: timestamp,
  Tags: tags,
});

/**
 * The maintenance period in effect now (`IsMaintenanceTime` true) or the next one: the union of the
 * overlapping or touching periods of every matching window, so `EndTime` is when the fleet really
 * leaves maintenance. `StartTime` / `EndTime` are null when the union reaches further than 7 days
 * (a window that is always active). `MatchingWindow` is the window whose period starts it: the
 * earliest-started active window, else the window that starts next.
 */
const nextMaintenanceWindowDetails = struct({
  StartTime: timestamp,
  EndTime: timestamp,
  MatchingWindow: maintenanceWindow,
  MatchingWindowMessage: string,
  NextWindowMessage: string,
});

export const maintenanceWindowsTable: TableSchema = {
  folder: 'maintenance-windows',
  name: 'clonesquad_maintenance_windows',
  description: 'One line per fleet with the SSM maintenance windows that apply to it',
  columns: columns({
    Fleet: string,
    MaintenanceWindows: array(maintenanceWindow),
    IsMaintenanceTime: boolean,
    NextMaintenanceWindowDetails: nextMaintenanceWindowDetails,
    MetadataRecordLastUpdatedAt: timestamp,
  }),
};
