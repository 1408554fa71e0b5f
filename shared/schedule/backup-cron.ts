/**
 * What the Configuration-table key `backup.cron` asks of the backup schedule, read as
 * CloneSquad reads it and checked with EventBridge Scheduler's rules; no AWS call
 * (shared/schedule/backup-schedule.ts applies it).
 *
 * Which value applies ({@link effectiveBackupCron}): `override:backup.cron`, else `[P]backup.cron`
 * of the parameter set `P` that `config.active_parameter_set` names, else `backup.cron`, else the
 * default. Only the Configuration table is read: a value set in CloneSquad's configuration files
 * (`ConfigurationURLs`) is not seen.
 *
 * Values ({@link desiredSchedule}):
 * - absent, empty or expired (TTL): the default, `cron(0 * * * ? *)` in UTC;
 * - `cron(min hour day-of-month month day-of-week year)`: EventBridge's six fields, in UTC. Lists are
 *   written `6\,18` (CloneSquad's escaped comma, which its own parser needs) or `6,18`; the schedule
 *   gets plain commas;
 * - `localcron(…)`: the same fields read in the group's time zone, which becomes the schedule's own
 *   zone: EventBridge Scheduler keeps it DST-correct (a local time skipped by spring forward does not
 *   run that day; one repeated by fall back runs once), on the right local day, half-hour offsets
 *   included. CloneSquad itself converts it to UTC once, at the offset of the moment;
 * - `rate(N unit)`: as EventBridge Scheduler reads it, counted from when the schedule changes;
 * - `disabled`, in any case: the schedule is disabled (its expression is kept for when it comes back).
 *
 * Refused, with the reason: anything else, including `;` (CloneSquad splits a value into several
 * events there) and CloneSquad's other escapes `\;` and `\=`, which no schedule expression allows.
 */
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { splitParameterSetKey, type TableRow } from '#shared/catalog/table-rows';
import { parseSchedule, ScheduleError } from '#shared/schedule/aws-schedule';

export const BACKUP_CRON_KEY = 'backup.cron';
export const OVERRIDE_BACKUP_CRON_KEY = `override:${BACKUP_CRON_KEY}`;
export const ACTIVE_PARAMETER_SET_KEY = 'config.active_parameter_set';
export const DEFAULT_SCHEDULE_EXPRESSION = 'cron(0 * * * ? *)';
export const SCHEDULE_PART = 'schedule';

export type ScheduleState = 'ENABLED' | 'DISABLED';

/** What the schedule says: an expression in a time zone, enabled or not. */
export interface ScheduleSetting {
  expression: string;
  timeZone: string;
  state: ScheduleState;
}

/** What `backup.cron` asks for; `disabled` keeps the expression and time zone the schedule has. */
export type DesiredSchedule = { state: 'DISABLED' } | (ScheduleSetting & { state: 'ENABLED' });

/** The `backup.cron` that applies, and the row it comes from. */
export interface EffectiveBackupCron {
  /** `undefined` when no row sets it: the default applies. */
  value: string | undefined;
  /** `override:backup.cron`, `[P]backup.cron` or `backup.cron`; `undefined` for the default. */
  key: string | undefined;
  /** The parameter set `config.active_parameter_set` names, whether or not it sets `backup.cron`. */
  activeParameterSet: string | undefined;
}

/**
 * The `backup.cron` CloneSquad applies, from the Configuration table's rows (TTL already applied).
 * A row whose value is empty or blank counts as absent, as CloneSquad's own API deletes a key set to
 * an empty value.
 *
 * @example
 * effectiveBackupCron([
 *   { key: 'backup.cron', value: 'cron(0 6\\,18 * * ? *)' },
 *   { key: 'config.active_parameter_set', value: 'night' },
 *   { key: '[night]backup.cron', value: 'disabled' },
 * ]);
 * // { value: 'disabled', key: '[night]backup.cron', activeParameterSet: 'night' }
 */
export function effectiveBackupCron(rows: Iterable<Pick<TableRow, 'key' | 'value'>>): EffectiveBackupCron {
  const values = new Map<string, string>();
  for (const { key, value } of rows) {
    if (value.trim() !== '') values.set(key, value);
  }
  const activeParameterSet = values.get(ACTIVE_PARAMETER_SET_KEY);
  const candidates = [
    OVERRIDE_BACKUP_CRON_KEY,
    ...(activeParameterSet !== undefined ? [`[${activeParameterSet}]${BACKUP_CRON_KEY}`] : []),
    BACKUP_CRON_KEY,
  ];
  const key = candidates.find((candidate) => values.has(candidate));
  return { value: key && values.get(key), key, activeParameterSet };
}

/** Where the value comes from, as a result's reason says it. */
export function describeEffectiveBackupCron(effective: EffectiveBackupCron): string {
  if (effective.key === undefined) return `${BACKUP_CRON_KEY} not set`;
  const source = `${effective.key} ${quoteInput(effective.value)}`;
  return effective.key.startsWith('[') ? `${source} (parameter set ${effective.activeParameterSet} is active)` : source;
}

/**
 * Keys of the rows that can change the effective value, as IAM `dynamodb:LeadingKeys` patterns
 * (`StringLike`): the three fixed keys and any parameter set's `backup.cron`.
 */
export const BACKUP_CRON_ROW_KEY_PATTERNS: readonly string[] = [
  OVERRIDE_BACKUP_CRON_KEY,
  ACTIVE_PARAMETER_SET_KEY,
  BACKUP_CRON_KEY,
  `[*]${BACKUP_CRON_KEY}`,
];

/**
 * Lambda event filters (`FilterCriteria.Filters[].Pattern`, OR-ed) for the Configuration table's
 * stream that let through every record of a row that can change the effective value. Lambda filters
 * match a prefix but document no suffix match, so every parameter-set row (`[` prefix) passes too:
 * tell them apart with {@link affectsBackupCron}.
 */
export const BACKUP_CRON_STREAM_FILTER_PATTERNS: readonly string[] = [
  JSON.stringify({
    dynamodb: { Keys: { Key: { S: [OVERRIDE_BACKUP_CRON_KEY, ACTIVE_PARAMETER_SET_KEY, BACKUP_CRON_KEY] } } },
  }),
  JSON.stringify({ dynamodb: { Keys: { Key: { S: [{ prefix: '[' }] } } } }),
];

/** True for the key of a row that can change the effective value. */
export function affectsBackupCron(key: string): boolean {
  if ([OVERRIDE_BACKUP_CRON_KEY, ACTIVE_PARAMETER_SET_KEY, BACKUP_CRON_KEY].includes(key)) return true;
  return splitParameterSetKey(key)?.subkey === BACKUP_CRON_KEY;
}

function valueFix(key: string, timeZone: string): string {
  return (
    `set ${key} to cron(…) in UTC or localcron(…) in ${timeZone} with the 6 EventBridge fields ` +
    '(minutes hours day-of-month month day-of-week year, "?" in exactly one of day-of-month and day-of-week), ' +
    'lists as 6\\,18 or 6,18 (cron(0 6\\,18 * * ? *)); or rate(1 hour), rate(30 minutes); or disabled; ' +
    `or delete the key for the hourly default ${DEFAULT_SCHEDULE_EXPRESSION}`
  );
}

const RATE_UNITS = ['minute', 'hour', 'day'];

/**
 * The schedule `backup.cron` asks for (`value` undefined: no row sets it). `timeZone` is the
 * group's, for `localcron()`; `key` is the row the value comes from, for messages. Throws a
 * {@link UserInputError} naming the key, the value and the problem when it is not valid.
 *
 * @example
 * desiredSchedule('localcron(0 2\\,14 * * ? *)', 'Europe/Paris');
 * // { expression: 'cron(0 2,14 * * ? *)', timeZone: 'Europe/Paris', state: 'ENABLED' }
 */
export function desiredSchedule(
  value: string | undefined,
  timeZone: string,
  now = new Date(),
  key = BACKUP_CRON_KEY,
): DesiredSchedule {
  const text = value?.trim() ?? '';
  if (text === '') return { expression: DEFAULT_SCHEDULE_EXPRESSION, timeZone: 'UTC', state: 'ENABLED' };
  if (text.toLowerCase() === 'disabled') return { state: 'DISABLED' };
  const refuse = (problem: string) =>
    new UserInputError(`${key} ${quoteInput(value)}`, problem, valueFix(key, timeZone));
  if (text.includes(';')) {
    throw refuse(
      'it holds ";", which CloneSquad reads as the end of one event and the start of another ' +
        `(and "\\;" as a ";" that no schedule expression allows); ${BACKUP_CRON_KEY} is one schedule`,
    );
  }
  const unescaped = text.replace(/\\,/g, ',');
  if (unescaped.includes('\\')) {
    throw refuse(
      'it holds a backslash that is not right before a comma: a list is written 6\\,18, with one backslash ' +
        "(typed \\\\, inside a YAML or JSON string), and no schedule expression allows CloneSquad's other escapes \\; and \\=",
    );
  }
  const match = /^(cron|localcron|rate)\((.*)\)$/i.exec(unescaped);
  if (!match) throw refuse('it is not cron(…), localcron(…), rate(…) or disabled');
  const kind = match[1].toLowerCase();
  if (kind === 'rate') return { expression: rateExpression(match[2], refuse), timeZone: 'UTC', state: 'ENABLED' };
  const fields = match[2].trim().split(/\s+/);
  if (fields.length !== 6) {
    throw refuse(`it has ${fields.length} fields; EventBridge cron expressions have 6`);
  }
  if ((fields[2] === '?') === (fields[4] === '?')) {
    throw refuse('exactly one of day-of-month (3rd field) and day-of-week (5th field) must be "?"');
  }
  const setting: ScheduleSetting = {
    expression: `cron(${fields.join(' ')})`,
    timeZone: kind === 'localcron' ? timeZone : 'UTC',
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

/** `rate(N unit)` as EventBridge Scheduler accepts it: N ≥ 1, a singular unit for 1 and a plural one otherwise. */
function rateExpression(body: string, refuse: (problem: string) => UserInputError): string {
  const match = /^(\d+)\s+([a-z]+?)(s?)$/i.exec(body.trim());
  const count = match ? Number(match[1]) : 0;
  const unit = match?.[2].toLowerCase() ?? '';
  if (!match || count < 1 || !Number.isSafeInteger(count) || !RATE_UNITS.includes(unit)) {
    throw refuse('rate() takes a whole number of at least 1 and minute(s), hour(s) or day(s)');
  }
  const expression = `rate(${count} ${unit}${count === 1 ? '' : 's'})`;
  if ((match[3] === '') !== (count === 1)) {
    throw refuse(`with ${count} the unit is ${count === 1 ? 'singular' : 'plural'}: ${expression}`);
  }
  return expression;
}

/**
 * The first `count` start instants of a setting after `after`. None when disabled, and none for
 * `rate()`, whose starts EventBridge Scheduler counts from the moment the schedule last changed.
 */
export function upcomingRuns(setting: ScheduleSetting, after: Date, count: number): Date[] {
  if (setting.state === 'DISABLED' || /^rate\(/.test(setting.expression)) return [];
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
