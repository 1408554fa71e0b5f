/**
 * The `maintenanceWindows` section of a local seed file: SSM maintenance windows created in the
 * emulator with CreateMaintenanceWindow, tags included.
 *
 * Each entry takes `name`, `schedule`, `duration` (hours, 1–24) and `cutoff` (hours, 0–23, less
 * than `duration`), and optionally `scheduleTimezone` (IANA), `enabled` (default true) and `tags`
 * (a mapping of strings). `{GroupName}` in `name` or in a tag value is replaced by the seed's group
 * name. Nothing is added implicitly: a window only applies to the group when its tags say
 * `clonesquad:group-name: '{GroupName}'` (except `CS-GlobalDefaultMaintenanceWindow`), so a seed can
 * also show a window that is ignored for lack of that tag.
 *
 * A window that is active whatever the time the sample runs: `rate(1 hour)` with `duration: 1` or
 * more (a new period starts before the last one ends, and a rate is not affected by DST). A cron
 * every hour in UTC works too; in a zone with DST it misses the repeated hour of the autumn change.
 *
 * ```yaml
 * maintenanceWindows:
 *   - name: CS-{GroupName}                 # every fleet; active now, whenever this runs
 *     schedule: rate(1 hour)
 *     duration: 2
 *     cutoff: 0
 *     tags: { 'clonesquad:group-name': '{GroupName}' }
 *   - name: CS-{GroupName}-Subfleet.__all__ # every subfleet, Sundays 03:00–07:00 Paris time
 *     schedule: cron(0 3 ? * SUN *)
 *     scheduleTimezone: Europe/Paris
 *     duration: 4
 *     cutoff: 1
 *     tags: { 'clonesquad:group-name': '{GroupName}' }
 *   - name: CS-{GroupName}-Mainfleet        # ignored: not tagged with the group
 *     schedule: cron(0 1 * * ? *)
 *     duration: 1
 *     cutoff: 0
 * ```
 *
 * `enabled: false` needs UpdateMaintenanceWindow, which the emulator (moto 5.2) does not implement;
 * applying such an entry there fails with an error saying so.
 */
import {
  CreateMaintenanceWindowCommand,
  DeleteMaintenanceWindowCommand,
  UpdateMaintenanceWindowCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { parseSchedule, ScheduleError } from '#shared/schedule/aws-schedule';

export interface WindowSeed {
  name: string;
  schedule: string;
  duration: number;
  cutoff: number;
  scheduleTimezone?: string;
  enabled: boolean;
  tags: Record<string, string>;
}

const FIELDS = new Set(['name', 'schedule', 'duration', 'cutoff', 'scheduleTimezone', 'enabled', 'tags']);
const GROUP_NAME = /\{GroupName\}/g;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wholeNumber(value: unknown, where: string, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new UserInputError(
      `${where}, ${field}`,
      `${quoteInput(value)} is not a whole number of hours from ${min} to ${max}`,
      `write for example "${field}: ${min === 0 ? 1 : 2}"`,
    );
  }
  return value as number;
}

function parseEntry(entry: unknown, where: string): WindowSeed {
  if (!isMapping(entry)) {
    throw new UserInputError(where, 'it is not a mapping', 'write "- name: …" followed by schedule, duration, cutoff');
  }
  for (const key of Object.keys(entry)) {
    if (!FIELDS.has(key)) {
      throw new UserInputError(where, `"${key}" is not a known field`, `use only ${[...FIELDS].join(', ')}`);
    }
  }
  const { name, schedule, scheduleTimezone, enabled, tags } = entry;
  if (typeof name !== 'string' || !/^[a-zA-Z0-9_\-.]{3,128}$/.test(name.replace(GROUP_NAME, 'G'))) {
    throw new UserInputError(
      `${where}, name`,
      `${quoteInput(name)} is not an SSM window name (3–128 of letters, digits, "_", "-", ".")`,
      'write for example "name: CS-{GroupName}-Mainfleet"',
    );
  }
  const at = `${where} (${name})`;
  if (scheduleTimezone !== undefined && typeof scheduleTimezone !== 'string') {
    throw new UserInputError(
      `${at}, scheduleTimezone`,
      'it is not a string',
      'write an IANA name such as Europe/Paris',
    );
  }
  if (typeof schedule !== 'string') {
    throw new UserInputError(
      `${at}, schedule`,
      'it is missing or not a string',
      'write for example "schedule: rate(1 hour)"',
    );
  }
  try {
    parseSchedule(schedule, { timeZone: scheduleTimezone });
  } catch (error) {
    if (!(error instanceof ScheduleError)) throw error;
    throw new UserInputError(
      `${at}, schedule ${quoteInput(schedule)}`,
      error.problem,
      'write cron(…) with 6 AWS fields, rate(N minutes|hours|days) or at(yyyy-mm-ddThh:mm:ss)',
    );
  }
  const duration = wholeNumber(entry.duration, at, 'duration', 1, 24);
  const cutoff = wholeNumber(entry.cutoff, at, 'cutoff', 0, 23);
  if (cutoff >= duration) {
    throw new UserInputError(
      `${at}, cutoff`,
      `${cutoff} is not less than the duration ${duration}`,
      'lower the cutoff',
    );
  }
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw new UserInputError(`${at}, enabled`, `${quoteInput(enabled)} is not true or false`, 'write true or false');
  }
  if (tags !== undefined && !isMapping(tags)) {
    throw new UserInputError(
      `${at}, tags`,
      'it is not a mapping',
      `write for example "tags: { 'clonesquad:group-name': '{GroupName}' }"`,
    );
  }
  for (const [key, value] of Object.entries(tags ?? {})) {
    if (typeof value !== 'string') {
      throw new UserInputError(`${at}, tag "${key}"`, `its value ${quoteInput(value)} is not a string`, 'quote it');
    }
  }
  return {
    name,
    schedule,
    duration,
    cutoff,
    ...(scheduleTimezone !== undefined ? { scheduleTimezone } : {}),
    enabled: enabled ?? true,
    tags: (tags ?? {}) as Record<string, string>,
  };
}

/** Validates the `maintenanceWindows` section (a list); `source` names the seed file in messages. */
export function parseWindowsSeed(section: unknown, source: string): WindowSeed[] {
  const where = `seed file ${source}, section maintenanceWindows`;
  if (section === undefined || section === null) return [];
  if (!Array.isArray(section)) {
    throw new UserInputError(where, 'it is not a list', 'write one "- name: …" entry per window');
  }
  return section.map((entry, index) => parseEntry(entry, `${where}, entry ${index + 1}`));
}

/** Creates the windows in the emulator, `{GroupName}` replaced; answers their ids in seed order. */
export async function applyWindowsSeed(ssm: SSMClient, groupName: string, windows: WindowSeed[]): Promise<string[]> {
  const ids: string[] = [];
  for (const window of windows) {
    const name = window.name.replace(GROUP_NAME, groupName);
    const tags = Object.entries(window.tags).map(([Key, Value]) => ({
      Key,
      Value: Value.replace(GROUP_NAME, groupName),
    }));
    const { WindowId } = await ssm.send(
      new CreateMaintenanceWindowCommand({
        Name: name,
        Schedule: window.schedule,
        ScheduleTimezone: window.scheduleTimezone,
        Duration: window.duration,
        Cutoff: window.cutoff,
        AllowUnassociatedTargets: true,
        ...(tags.length > 0 ? { Tags: tags } : {}),
      }),
    );
    if (!window.enabled) {
      try {
        await ssm.send(new UpdateMaintenanceWindowCommand({ WindowId, Enabled: false }));
      } catch (error) {
        // Leave no enabled copy behind for a window the seed wants disabled.
        await ssm.send(new DeleteMaintenanceWindowCommand({ WindowId })).catch(() => undefined);
        throw new UserInputError(
          `seed maintenance window ${name}`,
          `it could not be disabled (${(error as Error).name}); the local emulator does not implement UpdateMaintenanceWindow`,
          'remove "enabled: false" from the seed',
        );
      }
    }
    ids.push(WindowId!);
  }
  return ids;
}
