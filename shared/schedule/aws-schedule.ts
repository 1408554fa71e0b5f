/**
 * Evaluates SSM maintenance-window schedules: the latest start at or before an instant and the
 * first start after it, in the window's time zone.
 *
 * Handled:
 * - `cron(min hour day-of-month month day-of-week year)`, AWS syntax: `*`, `?`, `,`, `-`, `/`;
 *   `L` (last day of the month) and `NW` / `LW` (nearest weekday, never crossing the month) in
 *   day-of-month; `L` (Saturday), `NL` (last N-day of the month) and `N#k` (k-th N-day) in
 *   day-of-week, where 1 = SUN … 7 = SAT (not the Unix 0 = SUN); names `SUN`–`SAT` and
 *   `JAN`–`DEC` in any case; ranges that wrap (`FRI-MON`); a year field of 1970–2199.
 *   A 7-field form is read as Quartz's `sec min hour dom month dow year`. A 6-field expression is
 *   always `min hour dom month dow year`.
 * - The time zone (IANA, default `UTC`), DST-correct, with EventBridge Scheduler's documented rule
 *   (SSM documents none): a local time that does not exist (spring forward) does not run that day;
 *   a local time that happens twice (fall back) runs once, at its first occurrence.
 * - `ScheduleOffset` (days added to each cron date, in local time), `StartDate` and `EndDate`
 *   (no start before the one or after the other).
 * - `rate(N minute[s]|hour[s]|day[s])`: starts every N units of fixed length (a day is 24 h,
 *   whatever DST does) on a grid through `anchor` — the caller passes SSM's `NextExecutionTime` when
 *   it has one, else `StartDate`; without either the grid is anchored at 1970-01-01T00:00Z. With a
 *   `StartDate` the first start is the first grid point at or after it.
 * - `at(yyyy-mm-ddThh:mm:ss)`: one start, read in the time zone (SSM's documentation says UTC; the
 *   two agree when no `ScheduleTimezone` is set). A time in a DST gap never runs.
 *
 * Not handled (an error names the expression): `L-n` (offset from the last day), lists or ranges
 * combined with `W`, more than one `#` term or `#` with another term in day-of-week, both
 * day-of-month and day-of-week restricted (AWS refuses them too), `H` and other non-AWS extensions,
 * seconds in a 6-field expression. Not modelled at all: the SSM service's own lateness (a window
 * may start up to a few minutes after its scheduled time) and any rule AWS applies that its
 * documentation does not state.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { quoteInput, UserInputError } from '#shared/aws/errors';

export interface ScheduleOptions {
  /** IANA time zone the cron fields and `at()` are read in; default `UTC`. */
  timeZone?: string;
  /** `rate()` only: one instant of the grid (SSM's `NextExecutionTime`, else `StartDate`). */
  anchor?: Date;
  /** No start before this instant. */
  startDate?: Date;
  /** No start after this instant. */
  endDate?: Date;
  /** `cron()` only: days added to each date the expression gives (SSM `ScheduleOffset`). */
  offsetDays?: number;
}

export interface Schedule {
  readonly expression: string;
  /** The latest start at or before `instant`, or `null` when there is none. */
  previousStart(instant: Date): Date | null;
  /** The earliest start strictly after `instant`, or `null` when there is none. */
  nextStart(instant: Date): Date | null;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Longer than any UTC offset change (at most 2 h), and shorter than the time between two changes. */
const DST_MARGIN = 3 * HOUR;
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;
const MAX_STEPS = 100_000;

/**
 * Parses an SSM schedule expression. Throws a {@link ScheduleError} naming the expression when it
 * is not one this module evaluates.
 *
 * @example
 * const weekly = parseSchedule('cron(30 23 ? * TUE#3 *)', { timeZone: 'Europe/Paris' });
 * weekly.nextStart(new Date('2024-01-01T00:00:00Z')); // 2024-01-16T22:30:00.000Z
 */
export function parseSchedule(expression: string, options: ScheduleOptions = {}): Schedule {
  const match = /^\s*(cron|rate|at)\((.*)\)\s*$/i.exec(expression);
  if (!match) {
    throw scheduleError(expression, 'it is not cron(…), rate(…) or at(…)');
  }
  const timeZone = checkTimeZone(options.timeZone || 'UTC', expression);
  const body = match[2].trim();
  const kind = match[1].toLowerCase();
  const raw =
    kind === 'cron'
      ? cronSchedule(body, expression, timeZone, options.offsetDays ?? 0)
      : kind === 'rate'
        ? rateSchedule(body, expression, options.anchor ?? options.startDate)
        : atSchedule(body, expression, timeZone);
  return bounded(expression, raw, options.startDate, options.endDate);
}

/** The latest start of `expression` at or before `instant`, or `null`. */
export function previousStart(expression: string, instant: Date, options?: ScheduleOptions): Date | null {
  return parseSchedule(expression, options).previousStart(instant);
}

/** The earliest start of `expression` strictly after `instant`, or `null`. */
export function nextStart(expression: string, instant: Date, options?: ScheduleOptions): Date | null {
  return parseSchedule(expression, options).nextStart(instant);
}

/** A schedule this module cannot evaluate; `problem` says why, without the expression. */
export class ScheduleError extends UserInputError {
  readonly problem: string;

  constructor(expression: string, problem: string) {
    super(
      `schedule ${quoteInput(expression)}`,
      problem,
      'write an SSM schedule such as cron(0 2 ? * SUN *), rate(12 hours) or at(2030-01-01T02:00:00)',
    );
    this.name = 'ScheduleError';
    this.problem = problem;
  }
}

/**
 * `schedule` remembering the last interval between two consecutive starts it found: any instant
 * inside it is answered without evaluating again. Walks over nearby instants (period unions) then
 * cost one evaluation per start crossed, which matters for sparse cron expressions, whose previous
 * start cron-parser finds slowly.
 */
export function withMemory(schedule: Schedule): Schedule {
  let known: { previous: Date | null; next: Date | null } | undefined;
  const around = (instant: Date) => {
    const time = instant.getTime();
    const inside =
      known !== undefined &&
      (known.previous === null || known.previous.getTime() <= time) &&
      (known.next === null || time < known.next.getTime());
    if (!inside) known = { previous: schedule.previousStart(instant), next: schedule.nextStart(instant) };
    return known!;
  };
  return {
    expression: schedule.expression,
    previousStart: (instant) => around(instant).previous,
    nextStart: (instant) => around(instant).next,
  };
}

function scheduleError(expression: string, problem: string): ScheduleError {
  return new ScheduleError(expression, problem);
}

interface RawSchedule {
  previous(instant: number): number | null;
  next(instant: number): number | null;
}

function bounded(expression: string, raw: RawSchedule, startDate?: Date, endDate?: Date): Schedule {
  const start = startDate?.getTime();
  const end = endDate?.getTime();
  return {
    expression,
    previousStart(instant) {
      const at = end !== undefined ? Math.min(instant.getTime(), end) : instant.getTime();
      const found = raw.previous(at);
      return found === null || (start !== undefined && found < start) ? null : new Date(found);
    },
    nextStart(instant) {
      const after = start !== undefined ? Math.max(instant.getTime(), start - 1) : instant.getTime();
      const found = raw.next(after);
      return found === null || (end !== undefined && found > end) ? null : new Date(found);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Time zones. "Wall" times are local date-times encoded as if they were UTC epoch milliseconds.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, found);
  }
  return found;
}

function checkTimeZone(timeZone: string, expression: string): string {
  if (timeZone === 'UTC') return timeZone;
  try {
    formatter(timeZone);
  } catch {
    throw scheduleError(expression, `its time zone ${quoteInput(timeZone)} is not an IANA name this runtime knows`);
  }
  return timeZone;
}

/** UTC offset (ms) of `timeZone` at `instant`. */
function offsetAt(timeZone: string, instant: number): number {
  if (timeZone === 'UTC') return 0;
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wall = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The first instant whose local time is `wall`, or `null` when a DST gap skips it. */
function fromWall(timeZone: string, wall: number): number | null {
  if (timeZone === 'UTC') return wall;
  const offsets = new Set([offsetAt(timeZone, wall - DAY), offsetAt(timeZone, wall), offsetAt(timeZone, wall + DAY)]);
  let first: number | null = null;
  for (const offset of offsets) {
    const instant = wall - offset;
    if (offsetAt(timeZone, instant) === offset && (first === null || instant < first)) first = instant;
  }
  return first;
}

// ---------------------------------------------------------------------------------------------
// cron()

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

interface CronPlan {
  /** The expression in cron-parser's syntax (seconds first, 0 = Sunday, no year). */
  text: string;
  /** Parsed once, in UTC (wall times), moved with `reset`. */
  expression: CronExpression;
  /** Allowed years, ascending. */
  years: number[];
  yearSet: Set<number>;
  /** `NW` / `LW`: the day of the month whose nearest weekday is the only allowed day. */
  nearestWeekdayOf?: number | 'L';
}

function cronSchedule(body: string, expression: string, timeZone: string, offsetDays: number): RawSchedule {
  const plan = cronPlan(body, expression);
  const shift = offsetDays * DAY;
  return {
    next(instant) {
      // Local times after `instant` are never below this, even across a fall-back change.
      const lowest = instant + Math.min(offsetAt(timeZone, instant), offsetAt(timeZone, instant + DST_MARGIN));
      let after = lowest - 1 - shift;
      for (let step = 0; step < MAX_STEPS; step += 1) {
        const wall = nextWall(plan, after);
        if (wall === null) return null;
        const found = fromWall(timeZone, wall + shift);
        if (found !== null && found > instant) return found;
        after = wall;
      }
      throw new Error(`schedule ${expression}: no start found after ${new Date(instant).toISOString()}`);
    },
    previous(instant) {
      // Local times up to `instant` are never above this, even across a fall-back change.
      const highest = instant + Math.max(offsetAt(timeZone, instant), offsetAt(timeZone, instant - DST_MARGIN));
      let before = highest + 1 - shift;
      for (let step = 0; step < MAX_STEPS; step += 1) {
        const wall = previousWall(plan, before);
        if (wall === null) return null;
        const found = fromWall(timeZone, wall + shift);
        if (found !== null && found <= instant) return found;
        before = wall;
      }
      throw new Error(`schedule ${expression}: no start found before ${new Date(instant).toISOString()}`);
    },
  };
}

function cronPlan(body: string, expression: string): CronPlan {
  const fields = body.split(/\s+/);
  if (fields.length !== 6 && fields.length !== 7) {
    throw scheduleError(
      expression,
      `cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  const [seconds, minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields.length === 7 ? fields : ['0', ...fields];
  const fail = (problem: string) => scheduleError(expression, problem);
  for (const [name, value] of Object.entries({ seconds, minutes, hours, year })) {
    if (!/^[0-9*,/-]+$/.test(value))
      throw fail(`the ${name} field ${quoteInput(value)} holds characters AWS does not allow there`);
  }
  if (!/^[0-9A-Za-z*,/-]+$/.test(month))
    throw fail(`the month field ${quoteInput(month)} holds characters AWS does not allow there`);
  const domAny = dayOfMonth === '?' || dayOfMonth === '*';
  const dowAny = dayOfWeek === '?' || dayOfWeek === '*';
  if (!domAny && !dowAny) {
    throw fail('day-of-month and day-of-week are both restricted; AWS requires "?" in one of them');
  }
  const monthText = month.toUpperCase();
  for (const token of monthText.match(/[A-Z]+/g) ?? []) {
    if (!MONTH_NAMES.includes(token)) throw fail(`${quoteInput(token)} is not a month name (JAN–DEC)`);
  }
  let domText = dayOfMonth === '?' ? '*' : dayOfMonth.toUpperCase();
  let nearestWeekdayOf: number | 'L' | undefined;
  const weekday = /^(\d{1,2}|L)W$/.exec(domText);
  if (weekday) {
    nearestWeekdayOf = weekday[1] === 'L' ? 'L' : Number(weekday[1]);
    if (nearestWeekdayOf !== 'L' && (nearestWeekdayOf < 1 || nearestWeekdayOf > 31)) {
      throw fail(`day-of-month ${quoteInput(dayOfMonth)}: the day must be 1–31`);
    }
    domText = '*';
  } else if (!/^([0-9*,/-]+|L)$/.test(domText)) {
    throw fail(`day-of-month ${quoteInput(dayOfMonth)} is not supported (use numbers, ranges, steps, L, NW or LW)`);
  }
  const dowText = dayOfWeek === '?' ? '*' : translateDayOfWeek(dayOfWeek.toUpperCase(), fail);
  const years = yearsOf(year, fail);
  const text = `${seconds} ${minutes} ${hours} ${domText} ${monthText} ${dowText}`;
  let parsed: CronExpression;
  try {
    parsed = CronExpressionParser.parse(text, { tz: 'UTC', currentDate: new Date(0) });
  } catch (error) {
    throw fail(`cron-parser refuses it (${(error as Error).message})`);
  }
  return { text, expression: parsed, years, yearSet: new Set(years), nearestWeekdayOf };
}

/** AWS day-of-week (1 = SUN … 7 = SAT) to cron-parser's (0 = SUN … 6 = SAT), lists expanded. */
function translateDayOfWeek(field: string, fail: (problem: string) => ScheduleError): string {
  if (field === '*') return '*';
  if (field === 'L') return '6';
  const day = (token: string): number => {
    const index = DAY_NAMES.indexOf(token);
    const value = index >= 0 ? index + 1 : /^\d$/.test(token) ? Number(token) : NaN;
    if (!(value >= 1 && value <= 7)) throw fail(`day-of-week ${quoteInput(token)} is not 1–7 or SUN–SAT`);
    return value;
  };
  const special = /^([A-Z]+|\d)(L|#([1-5]))$/.exec(field);
  if (special) {
    return `${day(special[1]) - 1}${special[2] === 'L' ? 'L' : `#${special[3]}`}`;
  }
  if (/[L#]/.test(field)) {
    throw fail(`day-of-week ${quoteInput(field)}: L and # take one day only (for example 6L or TUE#3), with no list`);
  }
  const values = new Set<number>();
  for (const item of field.split(',')) {
    const parts = /^(\*|[A-Z]+|\d)(?:-([A-Z]+|\d))?(?:\/(\d+))?$/.exec(item);
    if (!parts) throw fail(`day-of-week item ${quoteInput(item)} is not understood`);
    const step = parts[3] !== undefined ? Number(parts[3]) : 1;
    if (step < 1) throw fail(`day-of-week item ${quoteInput(item)}: the step must be at least 1`);
    const first = parts[1] === '*' ? 1 : day(parts[1]);
    const last = parts[2] !== undefined ? day(parts[2]) : parts[1] === '*' || parts[3] !== undefined ? 7 : first;
    const span = (last - first + 7) % 7;
    for (let offset = 0; offset <= span; offset += step) values.add(((first - 1 + offset) % 7) + 1);
  }
  return [...values]
    .sort((a, b) => a - b)
    .map((value) => value - 1)
    .join(',');
}

function yearsOf(field: string, fail: (problem: string) => ScheduleError): number[] {
  const years = new Set<number>();
  for (const item of field.split(',')) {
    const parts = /^(\*|\d{4})(?:-(\d{4}))?(?:\/(\d+))?$/.exec(item);
    if (!parts) throw fail(`year item ${quoteInput(item)} is not understood`);
    const first = parts[1] === '*' ? MIN_YEAR : Number(parts[1]);
    const last = parts[2] !== undefined ? Number(parts[2]) : parts[1] === '*' || parts[3] ? MAX_YEAR : first;
    const step = parts[3] !== undefined ? Number(parts[3]) : 1;
    if (first < MIN_YEAR || last > MAX_YEAR || first > last || step < 1) {
      throw fail(
        `year item ${quoteInput(item)} must stay within ${MIN_YEAR}–${MAX_YEAR}, ascending, with a step of at least 1`,
      );
    }
    for (let value = first; value <= last; value += step) years.add(value);
  }
  return [...years].sort((a, b) => a - b);
}

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

/** The day of the month of the weekday nearest to `target`, within the month; `null` when the month is too short. */
function nearestWeekday(target: number | 'L', year: number, monthIndex: number): number | null {
  const length = daysInMonth(year, monthIndex);
  const day = target === 'L' ? length : target;
  if (day > length) return null;
  const weekday = new Date(Date.UTC(year, monthIndex, day)).getUTCDay();
  if (weekday === 6) return day === 1 ? 3 : day - 1;
  if (weekday === 0) return day === length ? day - 2 : day + 1;
  return day;
}

/** The first wall time strictly after `after` that the plan allows, or `null`. */
function nextWall(plan: CronPlan, after: number): number | null {
  let cursor = after;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    plan.expression.reset(new Date(cursor));
    const candidate = plan.expression.next().getTime();
    const date = new Date(candidate);
    const year = date.getUTCFullYear();
    if (!plan.yearSet.has(year)) {
      const later = plan.years.find((allowed) => allowed > year);
      if (later === undefined) return null;
      cursor = Date.UTC(later, 0, 1) - 1;
      continue;
    }
    if (plan.nearestWeekdayOf !== undefined) {
      const month = date.getUTCMonth();
      const allowed = nearestWeekday(plan.nearestWeekdayOf, year, month);
      if (allowed !== date.getUTCDate()) {
        cursor =
          allowed !== null && allowed > date.getUTCDate()
            ? Date.UTC(year, month, allowed) - 1
            : Date.UTC(year, month + 1, 1) - 1;
        continue;
      }
    }
    return candidate;
  }
  throw new Error(`cron ${plan.text}: no allowed time found after ${new Date(after).toISOString()}`);
}

/** The last wall time strictly before `before` that the plan allows, or `null`. */
function previousWall(plan: CronPlan, before: number): number | null {
  let cursor = before;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (cursor <= Date.UTC(MIN_YEAR, 0, 1)) return null;
    plan.expression.reset(new Date(cursor));
    const candidate = plan.expression.prev().getTime();
    const date = new Date(candidate);
    const year = date.getUTCFullYear();
    if (!plan.yearSet.has(year)) {
      const earlier = plan.years.findLast((allowed) => allowed < year);
      if (earlier === undefined) return null;
      cursor = Date.UTC(earlier + 1, 0, 1);
      continue;
    }
    if (plan.nearestWeekdayOf !== undefined) {
      const month = date.getUTCMonth();
      const allowed = nearestWeekday(plan.nearestWeekdayOf, year, month);
      if (allowed !== date.getUTCDate()) {
        cursor =
          allowed !== null && allowed < date.getUTCDate()
            ? Date.UTC(year, month, allowed + 1)
            : Date.UTC(year, month, 1);
        continue;
      }
    }
    return candidate;
  }
  throw new Error(`cron ${plan.text}: no allowed time found before ${new Date(before).toISOString()}`);
}

// ---------------------------------------------------------------------------------------------
// rate() and at()

const RATE_UNITS: Record<string, number> = {
  minute: MINUTE,
  minutes: MINUTE,
  hour: HOUR,
  hours: HOUR,
  day: DAY,
  days: DAY,
};

function rateSchedule(body: string, expression: string, anchor?: Date): RawSchedule {
  const match = /^(\d+)\s+([a-z]+)$/i.exec(body);
  const unit = match ? RATE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) < 1) {
    throw scheduleError(expression, 'rate() takes a positive whole number and minutes, hours or days');
  }
  const period = Number(match[1]) * unit;
  const origin = anchor?.getTime() ?? 0;
  const latest = (instant: number) => origin + Math.floor((instant - origin) / period) * period;
  return {
    previous: (instant) => latest(instant),
    next: (instant) => latest(instant) + period,
  };
}

function atSchedule(body: string, expression: string, timeZone: string): RawSchedule {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!match) throw scheduleError(expression, 'at() takes a local date-time yyyy-mm-ddThh:mm:ss');
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(wall);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw scheduleError(expression, 'at() holds a date-time that does not exist');
  }
  const once = fromWall(timeZone, wall);
  return {
    previous: (instant) => (once !== null && once <= instant ? once : null),
    next: (instant) => (once !== null && once > instant ? once : null),
  };
}
