import {
  array,
  bigint,
  boolean,
  columns,
  string,
  struct,
  tags,
  timestamp,
  type ColumnType,
  type TableSchema,
} from '#shared/catalog/schema-types';

/**
 * One SSM maintenance window as DescribeMaintenanceWindows gives it, with its tags. `Duration` and
 * `Cutoff` are hours, typed `bigint` as in the original CloneSquad DDL. `NextExecutionTime` is SSM's
 * own value when it gives one, else computed from the schedule; null for a disabled window.
 */
const windowFields: Record<string, ColumnType> = {
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
};

/**
 * The window that starts the period of `NextMaintenanceWindowDetails`, with the fields the original
 * adds to it. `_StartTime` / `_EndTime` are that window's own period (a start of its schedule plus
 * `Duration`), not the union; `_ActivePeriod` is true when that period holds the export time;
 * `_FutureNextExecutionTime` is its `NextExecutionTime`. Unlike CloneSquad, the period does not
 * begin `ssm.feature.maintenance_window.start_ahead` early (no jitter either): this table reports
 * SSM's windows, not when CloneSquad starts instances ahead of them.
 */
const matchingWindow = struct({
  ...windowFields,
  _ActivePeriod: boolean,
  _StartTime: timestamp,
  _EndTime: timestamp,
  _FutureNextExecutionTime: timestamp,
});

/**
 * The maintenance period in effect now (`IsMaintenanceTime` true) or the next one: the union of the
 * overlapping or touching periods of every matching window, so `EndTime` is when the fleet really
 * leaves maintenance. `StartTime` / `EndTime` are null when the union reaches further than 7 days
 * (a window that is always active). `MatchingWindow` is the window whose period starts it: the
 * earliest-started active window, else the window that starts next. (The original fills
 * `StartTime`, `EndTime` and `MatchingWindow` only while a window is active.)
 */
const nextMaintenanceWindowDetails = struct({
  StartTime: timestamp,
  EndTime: timestamp,
  MatchingWindow: matchingWindow,
  MatchingWindowMessage: string,
  NextWindowMessage: string,
});

export const maintenanceWindowsTable: TableSchema = {
  folder: 'maintenance-windows',
  name: 'clonesquad_maintenance_windows',
  description: 'One line per fleet with the SSM maintenance windows that apply to it',
  columns: columns({
    Fleet: string,
    MaintenanceWindows: array(struct(windowFields)),
    IsMaintenanceTime: boolean,
    NextMaintenanceWindowDetails: nextMaintenanceWindowDetails,
    MetadataRecordLastUpdatedAt: timestamp,
  }),
};
