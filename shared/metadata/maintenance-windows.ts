/**
 * The `clonesquad_maintenance_windows` table (docs/cmdb.md): one line per fleet (`__main__` and each
 * subfleet) with the SSM maintenance windows that apply to it and whether it is in maintenance now.
 *
 * Which windows apply, most specific first: for the main fleet `CS-{G}-Mainfleet`, for a subfleet
 * `CS-{G}-Subfleet.{name}` then `CS-{G}-Subfleet.__all__`; then `CS-{G}` and
 * `CS-GlobalDefaultMaintenanceWindow`. Every one but the global default must be tagged
 * `clonesquad:group-name = {G}`, else it is ignored with a warning (as CloneSquad does). Disabled
 * windows are listed (`Enabled: false`) but never make a maintenance period.
 *
 * Maintenance periods are computed from each window's schedule (./schedule.ts), not from SSM's
 * `NextExecutionTime` alone: a period starts at a scheduled start and lasts `Duration` hours.
 * `Cutoff` does not shorten it: in SSM it only stops new tasks from starting in the last hours, and
 * CloneSquad keeps the fleet in maintenance for the whole `Duration`. Unlike CloneSquad itself, the
 * period does not begin `ssm.feature.maintenance_window.start_ahead` (15 min by default, jittered)
 * early: that is a CloneSquad setting about starting instances, and this export reports SSM's
 * windows. Periods of several windows add up (union).
 *
 * `NextMaintenanceWindowDetails.MatchingWindow` also carries the original's `_ActivePeriod`,
 * `_StartTime`, `_EndTime` and `_FutureNextExecutionTime`. They keep the original's meaning for that
 * one window (its own period, whether it holds now, its next execution), without the start-ahead
 * and its per-fleet jitter, and without the union: `StartTime`/`EndTime` beside it give the union.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ListTagsForResourceCommand,
  paginateDescribeMaintenanceWindows,
  type MaintenanceWindowIdentity,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { Deployment } from '#shared/run/deployment';
import { quoteInput } from '#shared/aws/errors';
import { log } from '#shared/aws/log';
import { GROUP_NAME_TAG } from '#shared/metadata/instances';
import { writeMetadataTable, type MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { naiveUtc } from '#shared/metadata/records';
import { listSubfleets } from '#shared/metadata/subfleets';
import { parseSchedule, withMemory, type Schedule } from '#shared/schedule/aws-schedule';

export const GLOBAL_DEFAULT_WINDOW = 'CS-GlobalDefaultMaintenanceWindow';
export const MAIN_FLEET = '__main__';

const HOUR = 3_600_000;
/** How far a union of periods is followed before its start or end is reported as unknown (null). */
const HORIZON_DAYS = 7;
const UNION_HORIZON = HORIZON_DAYS * 24 * HOUR;
/** SSM's pattern for window names: no other name can match a window. */
const WINDOW_NAME = /^[a-zA-Z0-9_\-.]{3,128}$/;
/** DescribeMaintenanceWindows is asked for at most this many names at a time. */
const NAMES_PER_CALL = 20;

export interface MaintenanceWindowClients {
  ssm: SSMClient;
  ec2: EC2Client;
  s3: S3Client;
}

export interface WindowTag {
  Key: string;
  Value: string;
}

/** A window as DescribeMaintenanceWindows answers it, with its tags. */
export interface TaggedWindow {
  identity: MaintenanceWindowIdentity;
  tags: WindowTag[];
}

export interface WindowRecord {
  WindowId?: string;
  Name?: string;
  Description?: string;
  Enabled: boolean;
  Duration?: number;
  Cutoff?: number;
  Schedule?: string;
  ScheduleTimezone?: string;
  ScheduleOffset?: number;
  StartDate?: string;
  EndDate?: string;
  NextExecutionTime?: string;
  Tags: WindowTag[];
}

/** The window that starts the reported period, with its own period (see the catalog's comment). */
export interface MatchingWindowRecord extends WindowRecord {
  _ActivePeriod: boolean;
  _StartTime: string;
  _EndTime: string;
  _FutureNextExecutionTime?: string;
}

export interface NextMaintenanceWindowDetails {
  StartTime: string | null;
  EndTime: string | null;
  MatchingWindow: MatchingWindowRecord;
  MatchingWindowMessage?: string;
  NextWindowMessage?: string;
}

export interface FleetRecord {
  Fleet: string;
  MaintenanceWindows: WindowRecord[];
  IsMaintenanceTime: boolean;
  NextMaintenanceWindowDetails: NextMaintenanceWindowDetails | null;
  MetadataRecordLastUpdatedAt: string;
}

/** Names of the windows that apply to `fleet` (`__main__` or a subfleet name), most specific first. */
export function windowNamesForFleet(groupName: string, fleet: string): string[] {
  const own =
    fleet === MAIN_FLEET
      ? [`CS-${groupName}-Mainfleet`]
      : [`CS-${groupName}-Subfleet.${fleet}`, `CS-${groupName}-Subfleet.__all__`];
  return [...new Set([...own, `CS-${groupName}`, GLOBAL_DEFAULT_WINDOW])];
}

/** Every window named like one of `names`, with its tags. */
export async function readWindowsNamed(ssm: SSMClient, names: string[]): Promise<TaggedWindow[]> {
  const wanted = [...new Set(names)].filter((name) => WINDOW_NAME.test(name));
  const identities = new Map<string, MaintenanceWindowIdentity>();
  for (let start = 0; start < wanted.length; start += NAMES_PER_CALL) {
    const Values = wanted.slice(start, start + NAMES_PER_CALL);
    const pages = paginateDescribeMaintenanceWindows(
      { client: ssm, pageSize: 100 },
      { Filters: [{ Key: 'Name', Values }] },
    );
    for await (const page of pages) {
      for (const identity of page.WindowIdentities ?? []) identities.set(identity.WindowId!, identity);
    }
  }
  const windows: TaggedWindow[] = [];
  for (const identity of identities.values()) {
    const response = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'MaintenanceWindow', ResourceId: identity.WindowId }),
    );
    const tags = (response.TagList ?? []).map((tag) => ({ Key: tag.Key ?? '', Value: tag.Value ?? '' }));
    windows.push({ identity, tags });
  }
  return windows;
}

/** A window ready for period computations. */
interface Evaluated {
  record: WindowRecord;
  name: string;
  /** `null` when the window is disabled or its schedule cannot be evaluated. */
  schedule: Schedule | null;
  duration: number;
}

function parseAwsTime(text: string | undefined, what: string, warnings: string[]): Date | undefined {
  if (text === undefined || text === '') return undefined;
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) {
    warnings.push(`${what} ${quoteInput(text)} is not a date-time; ignored`);
    return undefined;
  }
  return time;
}

/** The one start SSM announced, when the schedule itself cannot be evaluated. */
function announcedStartOnly(expression: string, start: Date): Schedule {
  return {
    expression,
    previousStart: (instant) => (start <= instant ? start : null),
    nextStart: (instant) => (start > instant ? start : null),
  };
}

function evaluate(window: TaggedWindow, now: Date, warnings: string[]): Evaluated {
  const identity = window.identity;
  const label = `maintenance window ${identity.WindowId} (${identity.Name})`;
  const enabled = identity.Enabled !== false;
  const announced = parseAwsTime(identity.NextExecutionTime, `${label}: NextExecutionTime`, warnings);
  const startDate = parseAwsTime(identity.StartDate, `${label}: StartDate`, warnings);
  const endDate = parseAwsTime(identity.EndDate, `${label}: EndDate`, warnings);
  let schedule: Schedule | null = null;
  if (enabled && identity.Schedule && identity.Duration) {
    try {
      schedule = withMemory(
        parseSchedule(identity.Schedule, {
          timeZone: identity.ScheduleTimezone,
          anchor: announced ?? startDate,
          startDate,
          endDate,
          offsetDays: identity.ScheduleOffset,
        }),
      );
    } catch (error) {
      const fallback = announced ? 'only its NextExecutionTime from SSM is used' : 'it never counts as active';
      warnings.push(`${label}: ${(error as Error).message}; ${fallback}`);
      if (announced) schedule = announcedStartOnly(identity.Schedule, announced);
    }
  } else if (enabled) {
    warnings.push(`${label}: no Schedule or Duration; it never counts as active`);
  }
  const computed = schedule?.nextStart(now) ?? undefined;
  if (announced && computed && Math.abs(announced.getTime() - computed.getTime()) >= 60_000) {
    warnings.push(
      `${label}: SSM announces the next execution at ${announced.toISOString()} but its schedule gives ` +
        `${computed.toISOString()}; periods follow the schedule`,
    );
  }
  const nextExecution = enabled ? (announced ?? computed) : undefined;
  const record: WindowRecord = {
    WindowId: identity.WindowId,
    Name: identity.Name,
    Description: identity.Description,
    Enabled: enabled,
    Duration: identity.Duration,
    Cutoff: identity.Cutoff,
    Schedule: identity.Schedule,
    ScheduleTimezone: identity.ScheduleTimezone,
    ScheduleOffset: identity.ScheduleOffset,
    StartDate: startDate && naiveUtc(startDate),
    EndDate: endDate && naiveUtc(endDate),
    NextExecutionTime: nextExecution && naiveUtc(nextExecution),
    Tags: window.tags,
  };
  for (const key of Object.keys(record) as (keyof WindowRecord)[]) {
    if (record[key] === undefined) delete record[key];
  }
  return { record, name: identity.Name ?? '', schedule, duration: (identity.Duration ?? 0) * HOUR };
}

/** The start of the period of `window` that contains `instant`, if any. */
function coveringStart(window: Evaluated, instant: number): number | null {
  const start = window.schedule?.previousStart(new Date(instant))?.getTime();
  return start !== undefined && instant < start + window.duration ? start : null;
}

/** Follows touching or overlapping periods back from `start`; `null` further than the horizon from `origin`. */
function unionStart(windows: Evaluated[], start: number, origin: number): number | null {
  let current = start;
  for (;;) {
    let earliest = current;
    for (const window of windows) {
      const first = window.schedule?.nextStart(new Date(current - window.duration - 1))?.getTime();
      if (first !== undefined && first < earliest) earliest = first;
    }
    if (earliest === current) return current;
    if (origin - earliest > UNION_HORIZON) return null;
    current = earliest;
  }
}

/** Follows touching or overlapping periods forward from `end`; `null` further than the horizon from `origin`. */
function unionEnd(windows: Evaluated[], end: number, origin: number): number | null {
  let current = end;
  for (;;) {
    let latest = current;
    for (const window of windows) {
      const start = window.schedule?.previousStart(new Date(current))?.getTime();
      if (start !== undefined && start + window.duration > latest) latest = start + window.duration;
    }
    if (latest === current) return current;
    if (latest - origin > UNION_HORIZON) return null;
    current = latest;
  }
}

function text(instant: number | null, unknown: string): string {
  return instant === null ? unknown : new Date(instant).toISOString();
}

function inHours(milliseconds: number): string {
  const minutes = Math.round(milliseconds / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The maintenance period of a set of windows at `now`: the one in effect, else the next one. */
interface MaintenanceState {
  active: boolean;
  /** null when the period reaches further than the horizon. */
  start: number | null;
  end: number | null;
  matching: Evaluated;
  /** When the matching window's own period starts. */
  matchingStart: number;
}

function maintenanceState(windows: Evaluated[], now: number): MaintenanceState | null {
  const timed = windows.filter((window) => window.schedule !== null);
  const active = timed
    .map((window) => ({ window, start: coveringStart(window, now) }))
    .filter((entry): entry is { window: Evaluated; start: number } => entry.start !== null);
  if (active.length > 0) {
    const first = active.reduce((best, entry) => (entry.start < best.start ? entry : best));
    const ownEnd = Math.max(...active.map((entry) => entry.start + entry.window.duration));
    return {
      active: true,
      start: unionStart(timed, first.start, now),
      end: unionEnd(timed, ownEnd, now),
      matching: first.window,
      matchingStart: first.start,
    };
  }
  const upcoming = timed
    .map((window) => ({ window, start: window.schedule!.nextStart(new Date(now))?.getTime() ?? null }))
    .filter((entry): entry is { window: Evaluated; start: number } => entry.start !== null);
  if (upcoming.length === 0) return null;
  const next = upcoming.reduce((best, entry) => (entry.start < best.start ? entry : best));
  return {
    active: false,
    start: next.start,
    end: unionEnd(timed, next.start, next.start),
    matching: next.window,
    matchingStart: next.start,
  };
}

function details(fleet: string, state: MaintenanceState, now: number): NextMaintenanceWindowDetails {
  const fleetLabel = fleet === MAIN_FLEET ? 'the main fleet' : `subfleet ${fleet}`;
  const window = `${state.matching.record.WindowId} (${state.matching.name})`;
  const until = `until ${text(state.end, `more than ${HORIZON_DAYS} days later`)}`;
  const { record, duration } = state.matching;
  const common = {
    StartTime: state.start === null ? null : naiveUtc(state.start),
    EndTime: state.end === null ? null : naiveUtc(state.end),
    MatchingWindow: {
      ...record,
      _ActivePeriod: state.active,
      _StartTime: naiveUtc(state.matchingStart),
      _EndTime: naiveUtc(state.matchingStart + duration),
      ...(record.NextExecutionTime ? { _FutureNextExecutionTime: record.NextExecutionTime } : {}),
    },
  };
  if (state.active) {
    return {
      ...common,
      MatchingWindowMessage:
        `${fleetLabel} is in a maintenance period from ${text(state.start, `more than ${HORIZON_DAYS} days ago`)} ` +
        `${until}; matching window ${window} started at ${new Date(state.matchingStart).toISOString()}`,
    };
  }
  return {
    ...common,
    NextWindowMessage:
      `next maintenance period of ${fleetLabel} starts at ${new Date(state.matchingStart).toISOString()} ` +
      `(in ${inHours(state.matchingStart - now)}) with window ${window}, ${until}`,
  };
}

/**
 * The table's lines from windows already read: one per fleet, `__main__` first, then subfleets in
 * order. Windows that the naming and tagging rules do not select are ignored, with a warning.
 */
export function maintenanceWindowRecords(
  groupName: string,
  subfleets: string[],
  windows: TaggedWindow[],
  options: { now: Date; updatedAt: string; warnings?: string[] },
): FleetRecord[] {
  const warnings = options.warnings ?? [];
  const selected: Evaluated[] = [];
  const ordered = [...windows].sort((a, b) => (a.identity.WindowId ?? '').localeCompare(b.identity.WindowId ?? ''));
  for (const window of ordered) {
    const { Name: name, WindowId: id } = window.identity;
    const tagged = window.tags.some((tag) => tag.Key === GROUP_NAME_TAG && tag.Value === groupName);
    if (name !== GLOBAL_DEFAULT_WINDOW && !tagged) {
      warnings.push(`maintenance window ${id} (${name}) ignored: tag it ${GROUP_NAME_TAG}=${groupName} to apply it`);
      continue;
    }
    selected.push(evaluate(window, options.now, warnings));
  }
  const now = options.now.getTime();
  // Subfleets often share the same windows (only __all__ and CS-{G}): compute their period once.
  const states = new Map<string, MaintenanceState | null>();
  return [MAIN_FLEET, ...subfleets.filter((name) => name !== MAIN_FLEET)].map((fleet) => {
    const names = windowNamesForFleet(groupName, fleet);
    const applying = selected
      .filter((window) => names.includes(window.name))
      .sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
    const key = applying.map((window) => window.record.WindowId).join(' ');
    if (!states.has(key)) states.set(key, maintenanceState(applying, now));
    const state = states.get(key)!;
    return {
      Fleet: fleet,
      MaintenanceWindows: applying.map((window) => window.record),
      IsMaintenanceTime: state?.active ?? false,
      NextMaintenanceWindowDetails: state ? details(fleet, state, now) : null,
      MetadataRecordLastUpdatedAt: options.updatedAt,
    };
  });
}

/**
 * Reads the group's subfleets and applicable windows and writes the table's partition.
 *
 * @example
 * await exportMaintenanceWindows({ ssm, ec2, s3 }, deployment, { executionStartTime: '2024-05-01T10:00:00Z' });
 */
export async function exportMaintenanceWindows(
  clients: MaintenanceWindowClients,
  deployment: Deployment,
  request: { executionStartTime: string; now?: Date },
): Promise<MetadataPartResult> {
  const now = request.now ?? new Date();
  const subfleets = await listSubfleets(clients.ec2, deployment.groupName);
  const names = [MAIN_FLEET, ...subfleets].flatMap((fleet) => windowNamesForFleet(deployment.groupName, fleet));
  const windows = await readWindowsNamed(clients.ssm, names);
  const warnings: string[] = [];
  const records = maintenanceWindowRecords(deployment.groupName, subfleets, windows, {
    now,
    updatedAt: naiveUtc(request.executionStartTime),
    warnings,
  });
  for (const warning of warnings) log('warn', warning, { part: 'metadata/maintenance-windows' });
  const result = await writeMetadataTable(clients.s3, deployment, 'maintenance-windows', records);
  const allWarnings = [...warnings, ...(result.warnings ?? [])];
  return allWarnings.length > 0 ? { ...result, warnings: allWarnings } : result;
}
