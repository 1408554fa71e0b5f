/**
 * What the Configuration-table key `backup.cron` asks of the backup schedule (SPEC §8), checked
 * with EventBridge Scheduler's rules; no AWS call (shared/backup-schedule.ts applies it).
 *
 * `backup.cron` values:
 * - absent, empty or expired (TTL): the default, `cron(0 * * * ? *)` in UTC;
 * - `cron(min hour day-of-month month day-of-week year)`: EventBridge's six fields, in UTC;
 * - `localcron(…)`: the same fields read in the deployment's `TimeZone`, which becomes the
 *   schedule's own time zone, so EventBridge Scheduler keeps it DST-correct (a local time skipped by
 *   spring forward does not run that day; one repeated by fall back runs once);
 * - `disabled`: the schedule is disabled (its expression is kept for when it comes back).
 */
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { parseSchedule, ScheduleError } from '#shared/schedule/aws-schedule';

export const BACKUP_CRON_KEY = 'backup.cron';
export const DEFAULT_SCHEDULE_EXPRESSION = 'cron(0 * * * ? *)';
export const SCHEDULE_PART = 'schedule';
/** Scheduler's group of the schedule CloudFormation creates. */
export const SCHEDULE_GROUP = 'default';

export type ScheduleState = 'ENABLED' | 'DISABLED';

/** What the schedule says: an expression in a time zone, enabled or not. */
export interface ScheduleSetting {
  expression: string;
  timeZone: string;
  state: ScheduleState;
}

/** What `backup.cron` asks for; `disabled` keeps the expression and time zone the schedule has. */
export type DesiredSchedule = { state: 'DISABLED' } | (ScheduleSetting & { state: 'ENABLED' });

const VALUE_FIX =
  'set backup.cron to cron(…) in UTC or localcron(…) in the deployment TimeZone, with the 6 EventBridge fields ' +
  '(minutes hours day-of-month month day-of-week year, "?" in day-of-month or day-of-week), for example ' +
  'cron(0 * * * ? *) or localcron(0 2 * * ? *); or disabled; or delete the key for the hourly default';

/**
 * The schedule `backup.cron` asks for (`value` undefined: the key is absent). Throws a
 * {@link UserInputError} naming the value and the problem when it is not valid.
 *
 * @example
 * desiredSchedule('localcron(0 2 * * ? *)', 'Europe/Paris');
 * // { expression: 'cron(0 2 * * ? *)', timeZone: 'Europe/Paris', state: 'ENABLED' }
 */
export function desiredSchedule(value: string | undefined, timeZone: string, now = new Date()): DesiredSchedule {
  const text = value?.trim() ?? '';
  if (text === '') return { expression: DEFAULT_SCHEDULE_EXPRESSION, timeZone: 'UTC', state: 'ENABLED' };
  if (text.toLowerCase() === 'disabled') return { state: 'DISABLED' };
  const refuse = (problem: string) => new UserInputError(`${BACKUP_CRON_KEY} ${quoteInput(value)}`, problem, VALUE_FIX);
  const match = /^(cron|localcron)\((.*)\)$/i.exec(text);
  if (!match) throw refuse('it is not cron(…), localcron(…) or disabled');
  const fields = match[2].trim().split(/\s+/);
  if (fields.length !== 6) {
    throw refuse(`it has ${fields.length} fields; EventBridge cron expressions have 6`);
  }
  if ((fields[2] === '?') === (fields[4] === '?')) {
    throw refuse('exactly one of day-of-month (3rd field) and day-of-week (5th field) must be "?"');
  }
  const setting: ScheduleSetting = {
    expression: `cron(${fields.join(' ')})`,
    timeZone: match[1].toLowerCase() === 'localcron' ? timeZone : 'UTC',
    state: 'ENABLED',
  };
  let next: Date | null;
  try {
    next = parseSchedule(setting.expression, { timeZone: setting.timeZone }).nextStart(now);
  } catch (error) {
    if (error instanceof ScheduleError) throw refuse(error.problem);
    throw error;
  }
  if (next === null) throw refuse(`it never runs after ${now.toISOString()}`);
  return setting as DesiredSchedule;
}

/** The first `count` start instants of a setting after `after` (none when disabled). */
export function upcomingRuns(setting: ScheduleSetting, after: Date, count: number): Date[] {
  if (setting.state === 'DISABLED') return [];
  const schedule = parseSchedule(setting.expression, { timeZone: setting.timeZone });
  const runs: Date[] = [];
  for (let cursor: Date | null = after; runs.length < count;) {
    cursor = schedule.nextStart(cursor);
    if (cursor === null) break;
    runs.push(cursor);
  }
  return runs;
}

export function describeSetting(setting: ScheduleSetting): string {
  return `${setting.expression} in ${setting.timeZone}, ${setting.state === 'ENABLED' ? 'enabled' : 'disabled'}`;
}
