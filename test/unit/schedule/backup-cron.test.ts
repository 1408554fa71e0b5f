/**
 * `backup.cron` read as CloneSquad reads it: its value (escaped lists, rate(), localcron() in the
 * group's zone, disabled), the key it comes from (override:, the active parameter set, the plain
 * key), and the stream filter that lets through every row that can change it.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { UserInputError } from '#shared/aws/errors';
import {
  affectsBackupCron,
  BACKUP_CRON_ROW_KEY_PATTERNS,
  BACKUP_CRON_STREAM_FILTER_PATTERNS,
  describeEffectiveBackupCron,
  desiredSchedule,
  effectiveBackupCron,
  upcomingRuns,
  type ScheduleSetting,
} from '#shared/schedule/backup-cron';
import { groupTimeZone } from '#shared/schedule/region-time-zones';

const NOW = new Date('2024-03-20T10:17:00Z'); // a Wednesday, before Europe's spring forward (31 March)
const PARIS = groupTimeZone({ region: 'eu-west-3' });
const KOLKATA = groupTimeZone({ region: 'ap-south-1' });

function refusal(value: string, timeZone = 'UTC', key?: string): string {
  try {
    desiredSchedule(value, timeZone, NOW, key);
  } catch (error) {
    expect(error).to.be.instanceOf(UserInputError);
    return (error as Error).message;
  }
  throw new Error(`${value} was accepted`);
}

/** The local wall-clock time of `instant` in `timeZone`, as `Mon 2024-03-25 00:00`. */
function localTime(instant: Date, timeZone: string): string {
  const weekday = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short' }).format(instant);
  const time = new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(instant);
  return `${weekday} ${time}`;
}

function enabled(value: string, timeZone: string): ScheduleSetting {
  const setting = desiredSchedule(value, timeZone, NOW);
  if (setting.state !== 'ENABLED') throw new Error(`${value} is not an enabled schedule`);
  return setting;
}

describe('backup.cron values, as CloneSquad writes them', () => {
  describe('the original documentation examples', () => {
    it('reads the default cron(0 * * * ? *) and disabled as documented', () => {
      expect(desiredSchedule('cron(0 * * * ? *)', PARIS, NOW)).to.deep.equal({
        expression: 'cron(0 * * * ? *)',
        timeZone: 'UTC',
        state: 'ENABLED',
      });
      expect(desiredSchedule('disabled', PARIS, NOW)).to.deep.equal({ state: 'DISABLED' });
    });

    it('reads localcron(0 12 * * ? *) as 12:00 in the group zone, every day, across the DST change', () => {
      const setting = enabled('localcron(0 12 * * ? *)', PARIS);

      const runs = upcomingRuns(setting, new Date('2024-03-29T12:00:00Z'), 4);

      expect(setting).to.deep.equal({ expression: 'cron(0 12 * * ? *)', timeZone: 'Europe/Paris', state: 'ENABLED' });
      expect(runs.map((run) => run.toISOString())).to.deep.equal([
        '2024-03-30T11:00:00.000Z',
        '2024-03-31T10:00:00.000Z',
        '2024-04-01T10:00:00.000Z',
        '2024-04-02T10:00:00.000Z',
      ]);
      for (const run of runs) expect(localTime(run, PARIS)).to.match(/ 12:00$/);
    });

    it("reads the demo's escaped list of even hours as the same list with plain commas", () => {
      const setting = enabled('cron(0 0\\,2\\,4\\,6\\,8\\,10\\,12\\,14\\,16\\,18\\,20\\,22 * * ? *)', PARIS);

      expect(setting.expression).to.equal('cron(0 0,2,4,6,8,10,12,14,16,18,20,22 * * ? *)');
      expect(upcomingRuns(setting, NOW, 3).map((run) => run.toISOString())).to.deep.equal([
        '2024-03-20T12:00:00.000Z',
        '2024-03-20T14:00:00.000Z',
        '2024-03-20T16:00:00.000Z',
      ]);
    });

    it('refuses the scheduler page example cron(0 6\\,18 0 * ? *): there is no day of the month 0', () => {
      expect(refusal('cron(0 6\\,18 0 * ? *)')).to.match(
        /^backup\.cron "cron\(0 6\\\\,18 0 \* \? \*\)": .*got value 0 expected range 1-31/,
      );
    });
  });

  describe('lists', () => {
    it('reads 6\\,18 and 6,18 alike, and writes plain commas', () => {
      const escaped = desiredSchedule('cron(0 6\\,18 * * ? *)', PARIS, NOW);
      const plain = desiredSchedule('cron(0 6,18 * * ? *)', PARIS, NOW);

      expect(escaped).to.deep.equal({ expression: 'cron(0 6,18 * * ? *)', timeZone: 'UTC', state: 'ENABLED' });
      expect(plain).to.deep.equal(escaped);
      expect(desiredSchedule('localcron(0\\,30 6\\,18 ? * MON\\,FRI *)', PARIS, NOW)).to.deep.equal({
        expression: 'cron(0,30 6,18 ? * MON,FRI *)',
        timeZone: 'Europe/Paris',
        state: 'ENABLED',
      });
    });

    it('refuses the other CloneSquad escapes and separators, saying why and how to write a list', () => {
      expect(refusal('cron(0 6 * * ? *);cron(0 18 * * ? *)')).to.equal(
        'backup.cron "cron(0 6 * * ? *);cron(0 18 * * ? *)": it holds ";", which CloneSquad reads as the end ' +
          'of one event and the start of another (and "\\;" as a ";" that no schedule expression allows); ' +
          'backup.cron is one schedule. Fix: ' +
          refusal('cron(0 * * * *)').split('. Fix: ')[1],
      );
      expect(refusal('cron(0 6\\;18 * * ? *)')).to.match(/: it holds ";", which CloneSquad reads/);
      expect(refusal('cron(0 6\\=18 * * ? *)')).to.match(
        /^backup\.cron "cron\(0 6\\\\=18 \* \* \? \*\)": it holds a backslash that is not right before a comma/,
      );
      expect(refusal('cron(0 6\\\\,18 * * ? *)')).to.match(/it holds a backslash that is not right before a comma/);
      for (const value of ['cron(0 6\\=18 * * ? *)', 'cron(0 6 * * *)', 'rate(1 hours)']) {
        expect(refusal(value)).to.match(/Fix: .*lists as 6\\,18 or 6,18 \(cron\(0 6\\,18 \* \* \? \*\)\)/);
      }
    });
  });

  describe('rate()', () => {
    it('passes rate() through as EventBridge Scheduler reads it: a whole number, a singular unit for 1', () => {
      const cases = {
        'rate(1 minute)': 'rate(1 minute)',
        'rate(5 minutes)': 'rate(5 minutes)',
        'rate(1 hour)': 'rate(1 hour)',
        ' RATE( 12  Hours ) ': 'rate(12 hours)',
        'rate(1 day)': 'rate(1 day)',
        'rate(7 days)': 'rate(7 days)',
      };
      for (const [value, expression] of Object.entries(cases)) {
        expect(desiredSchedule(value, PARIS, NOW)).to.deep.equal({ expression, timeZone: 'UTC', state: 'ENABLED' });
      }
    });

    it('refuses what EventBridge Scheduler refuses, naming the problem', () => {
      expect(refusal('rate(1 hours)')).to.match(
        /^backup\.cron "rate\(1 hours\)": with 1 the unit is singular: rate\(1 hour\)\./,
      );
      expect(refusal('rate(5 hour)')).to.match(/: with 5 the unit is plural: rate\(5 hours\)\./);
      expect(refusal('rate(0 minutes)')).to.match(
        /: rate\(\) takes a whole number of at least 1 and minute\(s\), hour\(s\) or day\(s\)\./,
      );
      for (const value of ['rate(1.5 hours)', 'rate(-1 hour)', 'rate(2 weeks)', 'rate(hour)', 'rate(60)']) {
        expect(refusal(value)).to.match(
          /: rate\(\) takes a whole number of at least 1 and minute\(s\), hour\(s\) or day\(s\)\./,
        );
      }
    });

    it('gives no next run: EventBridge Scheduler counts a rate from the time the schedule changed', () => {
      expect(upcomingRuns(enabled('rate(1 hour)', PARIS), NOW, 3)).to.deep.equal([]);
    });
  });

  describe('localcron() in the group zone, DST and odd offsets included', () => {
    it('runs a Monday-midnight Paris schedule on Monday at 00:00 Paris time, winter and summer', () => {
      // The original converted it to cron(0 23 ? * MON *) in UTC once: that fires on Tuesday, local time.
      const setting = enabled('localcron(0 0 ? * MON *)', PARIS);

      const runs = upcomingRuns(setting, NOW, 3);

      expect(setting).to.deep.equal({ expression: 'cron(0 0 ? * MON *)', timeZone: 'Europe/Paris', state: 'ENABLED' });
      expect(runs.map((run) => run.toISOString())).to.deep.equal([
        '2024-03-24T23:00:00.000Z',
        '2024-03-31T22:00:00.000Z',
        '2024-04-07T22:00:00.000Z',
      ]);
      expect(runs.map((run) => localTime(run, PARIS))).to.deep.equal([
        'Mon 2024-03-25 00:00',
        'Mon 2024-04-01 00:00',
        'Mon 2024-04-08 00:00',
      ]);
    });

    it('runs 12:45 in Kolkata at 12:45 Kolkata time (UTC+05:30), the half hour kept', () => {
      const setting = enabled('localcron(45 12 * * ? *)', KOLKATA);

      const runs = upcomingRuns(setting, NOW, 2);

      expect(setting).to.deep.equal({ expression: 'cron(45 12 * * ? *)', timeZone: 'Asia/Kolkata', state: 'ENABLED' });
      expect(runs.map((run) => run.toISOString())).to.deep.equal([
        '2024-03-21T07:15:00.000Z',
        '2024-03-22T07:15:00.000Z',
      ]);
      expect(runs.map((run) => localTime(run, KOLKATA))).to.deep.equal([
        'Thu 2024-03-21 12:45',
        'Fri 2024-03-22 12:45',
      ]);
    });

    it('keeps every item of a list and a range that cross UTC midnight', () => {
      // The original converted only the last item of an escaped list, and inverted a range across midnight.
      const list = upcomingRuns(enabled('localcron(0 23\\,0\\,1 * * ? *)', PARIS), NOW, 3);
      const range = upcomingRuns(enabled('localcron(30 0-2 * * ? *)', PARIS), NOW, 3);

      expect(list.map((run) => localTime(run, PARIS))).to.deep.equal([
        'Wed 2024-03-20 23:00',
        'Thu 2024-03-21 00:00',
        'Thu 2024-03-21 01:00',
      ]);
      expect(range.map((run) => localTime(run, PARIS))).to.deep.equal([
        'Thu 2024-03-21 00:30',
        'Thu 2024-03-21 01:30',
        'Thu 2024-03-21 02:30',
      ]);
    });

    it("reads the zone the deployment's TimeZone names over the stack's and the region's", () => {
      const timeZone = groupTimeZone({
        region: 'eu-west-3',
        stackTimeZone: 'Asia/Kolkata',
        override: 'America/New_York',
      });

      expect(desiredSchedule('localcron(0 2 * * ? *)', timeZone, NOW)).to.deep.equal({
        expression: 'cron(0 2 * * ? *)',
        timeZone: 'America/New_York',
        state: 'ENABLED',
      });
    });
  });

  describe('messages', () => {
    it('name the key the value came from, quote the value cut short, and say how to fix it', () => {
      const long = `cron(0 6 * * ? *)${' '.repeat(5_000)}x`;

      const message = refusal(long, 'UTC', 'override:backup.cron');

      expect(message).to.match(/^override:backup\.cron "cron\(0 6 \* \* \? \*\) {63}"… \(5018 characters\): /);
      expect(message).to.match(/\. Fix: set override:backup\.cron to /);
      expect(message.length).to.be.below(1_000);
    });

    it('says what to write: cron, localcron in the zone, rate, disabled, or nothing for the hourly default', () => {
      expect(refusal('cron(0 * * * *)', 'Europe/Paris', '[night]backup.cron')).to.equal(
        '[night]backup.cron "cron(0 * * * *)": it has 5 fields; EventBridge cron expressions have 6. ' +
          'Fix: set [night]backup.cron to cron(…) in UTC or localcron(…) in Europe/Paris with the 6 EventBridge fields ' +
          '(minutes hours day-of-month month day-of-week year, "?" in exactly one of day-of-month and day-of-week), ' +
          'lists as 6\\,18 or 6,18 (cron(0 6\\,18 * * ? *)); or rate(1 hour), rate(30 minutes); or disabled; ' +
          'or delete the key for the hourly default cron(0 * * * ? *)',
      );
    });
  });
});

describe('the effective backup.cron (override:, then the active parameter set, then the key, then the default)', () => {
  const row = (key: string, value: string) => ({ key, value });

  it('is the default when no row sets it', () => {
    const effective = effectiveBackupCron([row('ec2.schedule.min_instance_count', '2')]);

    expect(effective).to.deep.equal({ value: undefined, key: undefined, activeParameterSet: undefined });
    expect(describeEffectiveBackupCron(effective)).to.equal('backup.cron not set');
    expect(desiredSchedule(effective.value, PARIS, NOW)).to.deep.equal({
      expression: 'cron(0 * * * ? *)',
      timeZone: 'UTC',
      state: 'ENABLED',
    });
  });

  it('is backup.cron, then [P]backup.cron of the active set P, then override:backup.cron', () => {
    const plain = [row('backup.cron', 'cron(0 6\\,18 * * ? *)'), row('[night]backup.cron', 'disabled')];
    const active = [...plain, row('config.active_parameter_set', 'night')];
    const overridden = [...active, row('override:backup.cron', 'localcron(0 0 ? * MON *)')];

    expect(effectiveBackupCron(plain)).to.deep.equal({
      value: 'cron(0 6\\,18 * * ? *)',
      key: 'backup.cron',
      activeParameterSet: undefined,
    });
    expect(effectiveBackupCron(active)).to.deep.equal({
      value: 'disabled',
      key: '[night]backup.cron',
      activeParameterSet: 'night',
    });
    expect(effectiveBackupCron(overridden)).to.deep.equal({
      value: 'localcron(0 0 ? * MON *)',
      key: 'override:backup.cron',
      activeParameterSet: 'night',
    });
    expect(describeEffectiveBackupCron(effectiveBackupCron(active))).to.equal(
      '[night]backup.cron "disabled" (parameter set night is active)',
    );
    expect(describeEffectiveBackupCron(effectiveBackupCron(overridden))).to.equal(
      'override:backup.cron "localcron(0 0 ? * MON *)"',
    );
  });

  it('falls through a set that does not set it, an empty active set, and rows whose value is empty', () => {
    const base = [row('backup.cron', 'rate(1 day)'), row('[day]backup.cron', 'disabled')];

    expect(effectiveBackupCron([...base, row('config.active_parameter_set', 'night')])).to.include({
      key: 'backup.cron',
      activeParameterSet: 'night',
    });
    expect(effectiveBackupCron([...base, row('config.active_parameter_set', '')])).to.deep.equal({
      value: 'rate(1 day)',
      key: 'backup.cron',
      activeParameterSet: undefined,
    });
    expect(
      effectiveBackupCron([...base, row('override:backup.cron', ''), row('config.active_parameter_set', 'day')]),
    ).to.include({ key: '[day]backup.cron', value: 'disabled' });
    expect(effectiveBackupCron([row('backup.cron', '  ')])).to.include({ key: undefined, value: undefined });
  });

  it('ignores keys that only look alike, as CloneSquad does', () => {
    const rows = [
      row('#backup.cron', 'disabled'),
      row('backup.cron.inhibit_delay_after_install', 'hours=1'),
      row('[night]override:backup.cron', 'disabled'),
      row('Backup.Cron', 'disabled'),
      row('config.active_parameter_set', 'night'),
    ];

    expect(effectiveBackupCron(rows)).to.deep.equal({ value: undefined, key: undefined, activeParameterSet: 'night' });
  });

  it('schedules the value that applies: an escaped localcron() of the active set, in a Paris group', () => {
    const rows = [
      row('backup.cron', 'cron(0 * * * ? *)'),
      row('config.active_parameter_set', 'night'),
      row('[night]backup.cron', 'localcron(0 22\\,23 ? * MON-FRI *)'),
    ];
    const effective = effectiveBackupCron(rows);

    const setting = desiredSchedule(effective.value, groupTimeZone({ region: 'eu-west-3' }), NOW, effective.key);

    expect(setting).to.deep.equal({
      expression: 'cron(0 22,23 ? * MON-FRI *)',
      timeZone: 'Europe/Paris',
      state: 'ENABLED',
    });
    expect(upcomingRuns(setting as ScheduleSetting, NOW, 4).map((run) => localTime(run, PARIS))).to.deep.equal([
      'Wed 2024-03-20 22:00',
      'Wed 2024-03-20 23:00',
      'Thu 2024-03-21 22:00',
      'Thu 2024-03-21 23:00',
    ]);
  });

  it('reads the rows as the table reader gives them (TTL already applied)', () => {
    const rows = [{ key: 'backup.cron', value: 'rate(5 minutes)', expirationTime: 4_102_444_800 }];

    expect(desiredSchedule(effectiveBackupCron(rows).value, PARIS, NOW)).to.deep.equal({
      expression: 'rate(5 minutes)',
      timeZone: 'UTC',
      state: 'ENABLED',
    });
  });
});

describe('the rows that can change the effective backup.cron', () => {
  /** Lambda event filtering for what these patterns use: exact strings and `{ prefix }` in a leaf array. */
  function matches(pattern: unknown, event: unknown): boolean {
    if (Array.isArray(pattern)) {
      return pattern.some((rule) =>
        typeof rule === 'object' && rule !== null && 'prefix' in rule
          ? typeof event === 'string' && event.startsWith((rule as { prefix: string }).prefix)
          : rule === event,
      );
    }
    if (typeof pattern !== 'object' || pattern === null || typeof event !== 'object' || event === null) return false;
    return Object.entries(pattern).every(([key, value]) => matches(value, (event as Record<string, unknown>)[key]));
  }
  const record = (key: string, eventName = 'MODIFY') => ({
    eventName,
    dynamodb: { Keys: { Key: { S: key } }, NewImage: { Key: { S: key }, Value: { S: 'disabled' } } },
  });
  const passes = (key: string, eventName?: string) =>
    BACKUP_CRON_STREAM_FILTER_PATTERNS.some((pattern) => matches(JSON.parse(pattern), record(key, eventName)));

  it('are the three fixed keys and every parameter set key, as two Lambda filter patterns', () => {
    expect(BACKUP_CRON_STREAM_FILTER_PATTERNS.map((pattern) => JSON.parse(pattern))).to.deep.equal([
      { dynamodb: { Keys: { Key: { S: ['override:backup.cron', 'config.active_parameter_set', 'backup.cron'] } } } },
      { dynamodb: { Keys: { Key: { S: [{ prefix: '[' }] } } } },
    ]);
    for (const pattern of BACKUP_CRON_STREAM_FILTER_PATTERNS) expect(pattern.length).to.be.at.most(4096);
    expect(BACKUP_CRON_ROW_KEY_PATTERNS).to.deep.equal([
      'override:backup.cron',
      'config.active_parameter_set',
      'backup.cron',
      '[*]backup.cron',
    ]);
  });

  it('let through inserts, changes and removals of those rows, and nothing of the other keys', () => {
    for (const eventName of ['INSERT', 'MODIFY', 'REMOVE']) {
      for (const key of ['backup.cron', 'override:backup.cron', 'config.active_parameter_set', '[night]backup.cron']) {
        expect(passes(key, eventName), `${eventName} ${key}`).to.equal(true);
        expect(affectsBackupCron(key), key).to.equal(true);
      }
    }
    for (const key of ['ec2.schedule.min_instance_count', 'backup.cron.inhibit_delay_after_install', '#backup.cron']) {
      expect(passes(key), key).to.equal(false);
      expect(affectsBackupCron(key), key).to.equal(false);
    }
    // Lambda filters match a prefix, not a suffix: other parameter-set rows pass and are told apart here.
    expect(passes('[night]ec2.schedule.min_instance_count')).to.equal(true);
    expect(affectsBackupCron('[night]ec2.schedule.min_instance_count')).to.equal(false);
    expect(affectsBackupCron('[night]override:backup.cron')).to.equal(false);
  });

  it('let through every row whose change can change the effective value', () => {
    const key = fc.oneof(
      fc.string(),
      fc.constantFrom('backup.cron', 'override:backup.cron', 'config.active_parameter_set'),
      fc.string({ minLength: 1 }).map((name) => `[${name.replace(/]/g, '')}]backup.cron`),
    );
    fc.assert(
      fc.property(key, fc.string(), fc.string(), (changed, before, after) => {
        // Prepare: a table with every kind of row, the changed key taking two values
        const others = [
          { key: 'backup.cron', value: 'rate(1 day)' },
          { key: 'config.active_parameter_set', value: 'night' },
          { key: '[night]backup.cron', value: 'rate(2 days)' },
        ].filter((row) => row.key !== changed);
        const table = (value: string) => [...others, { key: changed, value }];

        // Act
        const differs =
          JSON.stringify(effectiveBackupCron(table(before))) !== JSON.stringify(effectiveBackupCron(table(after)));

        // Assess
        if (differs) {
          expect(affectsBackupCron(changed), changed).to.equal(true);
          expect(passes(changed), changed).to.equal(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
