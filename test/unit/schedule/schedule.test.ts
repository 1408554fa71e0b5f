import { expect } from 'chai';
import fc from 'fast-check';
import {
  nextStart,
  parseSchedule,
  previousStart,
  ScheduleError,
  withMemory,
  type ScheduleOptions,
} from '#shared/schedule/aws-schedule';

const at = (iso: string) => new Date(iso);
const iso = (date: Date | null) => date?.toISOString() ?? null;

function around(expression: string, instant: string, options?: ScheduleOptions) {
  return {
    previous: iso(previousStart(expression, at(instant), options)),
    next: iso(nextStart(expression, at(instant), options)),
  };
}

function problemOf(expression: string, options?: ScheduleOptions): string {
  try {
    parseSchedule(expression, options);
  } catch (error) {
    expect(error).to.be.instanceOf(ScheduleError);
    return (error as ScheduleError).message;
  }
  throw new Error(`${expression} was accepted`);
}

describe('SSM schedule evaluation', () => {
  describe('cron(), exact cases', () => {
    it('reads 6 AWS fields, day-of-week 1 = SUN … 7 = SAT, and names', () => {
      // 2024-01-01 is a Monday.
      expect(around('cron(0 12 ? * 2 *)', '2024-01-02T00:00:00Z')).to.deep.equal({
        previous: '2024-01-01T12:00:00.000Z',
        next: '2024-01-08T12:00:00.000Z',
      });
      expect(around('cron(0 12 ? * MON *)', '2024-01-02T00:00:00Z')).to.deep.equal(
        around('cron(0 12 ? * 2 *)', '2024-01-02T00:00:00Z'),
      );
      expect(iso(nextStart('cron(0 9 ? * 1 *)', at('2024-01-01T00:00:00Z')))).to.equal('2024-01-07T09:00:00.000Z');
      expect(iso(nextStart('cron(0 9 ? * 7 *)', at('2024-01-01T00:00:00Z')))).to.equal('2024-01-06T09:00:00.000Z');
      expect(iso(nextStart('cron(0 9 ? * FRI-MON *)', at('2024-01-02T00:00:00Z')))).to.equal(
        '2024-01-05T09:00:00.000Z',
      );
      expect(iso(nextStart('cron(0/20 8-9 1 jan ? *)', at('2024-01-01T08:50:00Z')))).to.equal(
        '2024-01-01T09:00:00.000Z',
      );
    });

    it('counts a start equal to the instant as the previous start, never as the next', () => {
      expect(around('cron(0 10 * * ? *)', '2024-01-01T10:00:00Z')).to.deep.equal({
        previous: '2024-01-01T10:00:00.000Z',
        next: '2024-01-02T10:00:00.000Z',
      });
    });

    it('follows Europe/Paris across DST: the same local hour in winter and summer', () => {
      const paris = { timeZone: 'Europe/Paris' };
      expect(iso(nextStart('cron(0 9 ? * MON *)', at('2024-01-02T00:00:00Z'), paris))).to.equal(
        '2024-01-08T08:00:00.000Z',
      );
      expect(iso(nextStart('cron(0 9 ? * MON *)', at('2024-07-02T00:00:00Z'), paris))).to.equal(
        '2024-07-08T07:00:00.000Z',
      );
    });

    it('skips a local time that the spring change removes (Europe/Paris, 2024-03-31 02:30)', () => {
      const paris = { timeZone: 'Europe/Paris' };
      expect(around('cron(30 2 * * ? *)', '2024-03-30T12:00:00Z', paris)).to.deep.equal({
        previous: '2024-03-30T01:30:00.000Z',
        next: '2024-04-01T00:30:00.000Z',
      });
      expect(iso(previousStart('cron(30 2 * * ? *)', at('2024-03-31T23:00:00Z'), paris))).to.equal(
        '2024-03-30T01:30:00.000Z',
      );
      // 03:00 local exists on that day: it is 01:00Z, right after the change.
      expect(iso(nextStart('cron(0 3 * * ? *)', at('2024-03-30T12:00:00Z'), paris))).to.equal(
        '2024-03-31T01:00:00.000Z',
      );
    });

    it('runs a local time that the autumn change repeats once, at its first occurrence', () => {
      const paris = { timeZone: 'Europe/Paris' };
      expect(iso(nextStart('cron(30 2 * * ? *)', at('2024-10-26T12:00:00Z'), paris))).to.equal(
        '2024-10-27T00:30:00.000Z',
      );
      expect(around('cron(30 2 * * ? *)', '2024-10-27T01:45:00Z', paris)).to.deep.equal({
        previous: '2024-10-27T00:30:00.000Z',
        next: '2024-10-28T01:30:00.000Z',
      });
      // Hourly: 02:00 CEST (00:00Z), then 03:00 CET (02:00Z); the repeated 02:00 does not run again.
      expect(iso(nextStart('cron(0 * * * ? *)', at('2024-10-27T00:00:00Z'), paris))).to.equal(
        '2024-10-27T02:00:00.000Z',
      );
    });

    it('handles L, W and # (last day, nearest weekday, n-th day of week)', () => {
      expect(iso(nextStart('cron(0 22 L * ? *)', at('2024-02-10T00:00:00Z')))).to.equal('2024-02-29T22:00:00.000Z');
      expect(iso(nextStart('cron(0 3 ? * 6L *)', at('2024-01-01T00:00:00Z')))).to.equal('2024-01-26T03:00:00.000Z');
      expect(iso(nextStart('cron(0 3 ? * FRIL *)', at('2024-01-01T00:00:00Z')))).to.equal('2024-01-26T03:00:00.000Z');
      expect(iso(nextStart('cron(0 3 ? * L *)', at('2024-01-01T00:00:00Z')))).to.equal('2024-01-06T03:00:00.000Z');
      // Third Tuesday, 23:30 in Paris (22:30Z in winter).
      expect(around('cron(30 23 ? * TUE#3 *)', '2024-01-01T00:00:00Z', { timeZone: 'Europe/Paris' })).to.deep.equal({
        previous: '2023-12-19T22:30:00.000Z',
        next: '2024-01-16T22:30:00.000Z',
      });
      expect(iso(nextStart('cron(0 0 ? * 5#5 *)', at('2024-01-01T00:00:00Z')))).to.equal('2024-02-29T00:00:00.000Z');
      // 2024-06-15 is a Saturday, 2024-06-01 a Saturday, 2024-06-30 a Sunday.
      expect(iso(nextStart('cron(0 8 15W * ? *)', at('2024-06-10T00:00:00Z')))).to.equal('2024-06-14T08:00:00.000Z');
      expect(iso(previousStart('cron(0 8 1W * ? *)', at('2024-06-10T00:00:00Z')))).to.equal('2024-06-03T08:00:00.000Z');
      expect(iso(nextStart('cron(0 8 LW * ? *)', at('2024-06-10T00:00:00Z')))).to.equal('2024-06-28T08:00:00.000Z');
    });

    it('honours the year field, ScheduleOffset and the 7-field form', () => {
      expect(around('cron(0 0 1 1 ? 2030)', '2024-06-10T00:00:00Z')).to.deep.equal({
        previous: null,
        next: '2030-01-01T00:00:00.000Z',
      });
      expect(iso(previousStart('cron(0 0 1 1 ? 2030-2032/2)', at('2035-01-01T00:00:00Z')))).to.equal(
        '2032-01-01T00:00:00.000Z',
      );
      // Third Tuesday (2024-01-16) plus 2 days.
      expect(iso(nextStart('cron(30 23 ? * TUE#3 *)', at('2024-01-01T00:00:00Z'), { offsetDays: 2 }))).to.equal(
        '2024-01-18T23:30:00.000Z',
      );
      expect(around('cron(0 30 23 ? * TUE#3 *)', '2024-01-01T00:00:00Z')).to.deep.equal(
        around('cron(30 23 ? * TUE#3 *)', '2024-01-01T00:00:00Z'),
      );
    });

    it('keeps starts within StartDate and EndDate', () => {
      const options = { startDate: at('2024-01-10T00:00:00Z'), endDate: at('2024-01-20T00:00:00Z') };
      expect(around('cron(0 12 * * ? *)', '2024-01-01T00:00:00Z', options)).to.deep.equal({
        previous: null,
        next: '2024-01-10T12:00:00.000Z',
      });
      expect(around('cron(0 12 * * ? *)', '2024-02-01T00:00:00Z', options)).to.deep.equal({
        previous: '2024-01-19T12:00:00.000Z',
        next: null,
      });
    });
  });

  describe('rate() and at()', () => {
    it('puts rate() starts on a grid through the anchor, from StartDate when given', () => {
      expect(around('rate(2 hours)', '2024-01-01T03:00:00Z')).to.deep.equal({
        previous: '2024-01-01T02:00:00.000Z',
        next: '2024-01-01T04:00:00.000Z',
      });
      expect(around('rate(2 hours)', '2024-01-01T03:00:00Z', { anchor: at('2030-01-01T00:30:00Z') })).to.deep.equal({
        previous: '2024-01-01T02:30:00.000Z',
        next: '2024-01-01T04:30:00.000Z',
      });
      expect(around('rate(1 day)', '2024-01-01T03:00:00Z', { startDate: at('2024-01-05T06:00:00Z') })).to.deep.equal({
        previous: null,
        next: '2024-01-05T06:00:00.000Z',
      });
      expect(iso(nextStart('rate(30 minutes)', at('2024-01-01T00:30:00Z')))).to.equal('2024-01-01T01:00:00.000Z');
    });

    it('reads at() in the time zone and runs it once', () => {
      const paris = { timeZone: 'Europe/Paris' };
      expect(around('at(2024-05-01T10:00:00)', '2024-01-01T00:00:00Z', paris)).to.deep.equal({
        previous: null,
        next: '2024-05-01T08:00:00.000Z',
      });
      expect(around('at(2024-05-01T10:00:00)', '2024-06-01T00:00:00Z')).to.deep.equal({
        previous: '2024-05-01T10:00:00.000Z',
        next: null,
      });
    });
  });

  describe('refusals', () => {
    const cases: [string, ScheduleOptions | undefined, RegExp][] = [
      ['cron(0 12 * * *)', undefined, /6 fields/],
      ['cron(0 12 1 * MON *)', undefined, /both restricted/],
      ['cron(0 12 L-2 * ? *)', undefined, /day-of-month "L-2" is not supported/],
      ['cron(H 12 * * ? *)', undefined, /minutes field "H"/],
      ['cron(0 12 ? * 1#1,5#2 *)', undefined, /L and # take one day only/],
      ['cron(0 12 ? * 8 *)', undefined, /"8" is not 1–7/],
      ['cron(0 12 * * ? 1969)', undefined, /1970–2199/],
      ['cron(0 12 * * ? *)', { timeZone: 'Mars/Olympus' }, /time zone "Mars\/Olympus"/],
      ['rate(0 hours)', undefined, /positive whole number/],
      ['rate(2 weeks)', undefined, /minutes, hours or days/],
      ['at(2024-02-30T10:00:00)', undefined, /does not exist/],
      ['every day', undefined, /not cron/],
    ];
    for (const [expression, options, problem] of cases) {
      it(`refuses ${expression}${options?.timeZone ? ` in ${options.timeZone}` : ''}`, () => {
        expect(problemOf(expression, options)).to.match(problem).and.match(/Fix: /);
      });
    }
  });

  describe('properties', () => {
    const zones = [
      'UTC',
      'Europe/Paris',
      'America/New_York',
      'America/Sao_Paulo',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'Pacific/Chatham',
      'Antarctica/Troll',
    ];
    const days = fc.oneof(
      fc.tuple(fc.constantFrom('*', '1', '15', 'L', '15W', '1W', 'LW', '29', '31', '1-7', '*/10'), fc.constant('?')),
      fc.tuple(
        fc.constant('?'),
        fc.constantFrom('*', 'MON', '1', '2-6', 'FRI-MON', '6L', 'TUE#3', '1#5', 'L', '1,7', '*/3'),
      ),
    );
    const expressions = fc
      .record({
        minute: fc.constantFrom('0', '15', '*/20', '5,35', '0/30', '10-12'),
        hour: fc.constantFrom('*', '0', '2', '3', '23', '1-5', '*/6', '2,14'),
        days,
        month: fc.constantFrom('*', 'JAN', '2', '3,10', '*/3', 'FEB-APR'),
        year: fc.constantFrom('*', '*', '*', '2020-2040', '*/2', '2030'),
      })
      .map(({ minute, hour, days, month, year }) => `cron(${minute} ${hour} ${days[0]} ${month} ${days[1]} ${year})`);
    const instants = fc.date({ min: at('2000-01-01T00:00:00Z'), max: at('2060-01-01T00:00:00Z'), noInvalidDate: true });

    it('previous start ≤ instant < next start, with nothing in between (random cron, zone, instant)', () => {
      fc.assert(
        fc.property(expressions, fc.constantFrom(...zones), instants, (expression, timeZone, instant) => {
          let schedule;
          try {
            schedule = parseSchedule(expression, { timeZone });
          } catch (error) {
            // A day that never exists, such as 31 FEB, is refused; nothing else is.
            expect((error as Error).message).to.match(/Invalid explicit day of month/);
            fc.pre(false);
            return;
          }
          const previous = schedule.previousStart(instant);
          const next = schedule.nextStart(instant);
          if (previous) {
            expect(previous.getTime()).to.be.at.most(instant.getTime());
            expect(iso(schedule.nextStart(previous))).to.equal(iso(next));
          }
          if (next) {
            expect(next.getTime()).to.be.greaterThan(instant.getTime());
            expect(iso(schedule.previousStart(next))).to.equal(iso(next));
            expect(iso(schedule.previousStart(new Date(next.getTime() - 1)))).to.equal(iso(previous));
          }
        }),
        { numRuns: 1500 },
      );
    }).timeout(120_000);

    it('withMemory() answers exactly as the schedule it wraps, whatever the order of the questions', () => {
      fc.assert(
        fc.property(
          expressions,
          fc.constantFrom(...zones),
          instants,
          fc.array(fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }), { minLength: 1, maxLength: 12 }),
          (expression, timeZone, origin, offsets) => {
            let plain;
            try {
              plain = parseSchedule(expression, { timeZone });
            } catch {
              fc.pre(false);
              return;
            }
            const remembering = withMemory(plain);
            for (const offset of offsets) {
              const instant = new Date(origin.getTime() + offset);
              expect(iso(remembering.previousStart(instant))).to.equal(iso(plain.previousStart(instant)));
              expect(iso(remembering.nextStart(instant))).to.equal(iso(plain.nextStart(instant)));
            }
          },
        ),
        { numRuns: 300 },
      );
    }).timeout(120_000);

    it('rate(): previous start ≤ instant < next start, one period apart', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 90 }),
          fc.constantFrom('minutes', 'hours', 'days'),
          instants,
          instants,
          (count, unit, anchor, instant) => {
            const schedule = parseSchedule(`rate(${count} ${unit})`, { anchor });
            const previous = schedule.previousStart(instant)!;
            const next = schedule.nextStart(instant)!;
            expect(previous.getTime()).to.be.at.most(instant.getTime());
            expect(next.getTime()).to.be.greaterThan(instant.getTime());
            const unitMs = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 }[unit];
            expect(next.getTime() - previous.getTime()).to.equal(count * unitMs);
            expect((previous.getTime() - anchor.getTime()) % (count * unitMs)).to.equal(0);
          },
        ),
        { numRuns: 2000 },
      );
    });

    // An independent oracle for weekly schedules: scan instants a quarter-hour apart (every UTC offset
    // is a multiple of 15 min) and keep those whose local time matches, each local time once.
    const weekdayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
    function localTime(timeZone: string, instant: number) {
      const parts = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        weekday: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      }).formatToParts(new Date(instant));
      const field = (type: string) => parts.find((part) => part.type === type)!.value;
      return {
        text: `${field('year')}-${field('month')}-${field('day')} ${field('hour')}:${field('minute')}`,
        weekday: field('weekday').toUpperCase(),
        hour: Number(field('hour')),
        minute: Number(field('minute')),
      };
    }
    function bruteForceNext(timeZone: string, minute: number, hour: number, weekday: string, after: number) {
      const quarter = 15 * 60_000;
      for (let instant = Math.floor(after / quarter) * quarter + quarter; ; instant += quarter) {
        const local = localTime(timeZone, instant);
        if (local.minute !== minute || local.hour !== hour || local.weekday !== weekday) continue;
        const repeated = [30, 60, 120].some(
          (shift) => localTime(timeZone, instant - shift * 60_000).text === local.text,
        );
        if (!repeated) return instant;
      }
    }

    it('agrees with a brute-force scan for weekly schedules around DST changes', () => {
      const nearChanges = fc.oneof(
        fc.date({ min: at('2024-03-20T00:00:00Z'), max: at('2024-04-10T00:00:00Z'), noInvalidDate: true }),
        fc.date({ min: at('2024-09-25T00:00:00Z'), max: at('2024-11-10T00:00:00Z'), noInvalidDate: true }),
        fc.date({ min: at('2023-12-20T00:00:00Z'), max: at('2024-01-10T00:00:00Z'), noInvalidDate: true }),
      );
      fc.assert(
        fc.property(
          fc.constantFrom(...zones),
          fc.constantFrom(0, 15, 30, 45),
          fc.constantFrom(0, 1, 2, 3, 12, 23),
          fc.constantFrom(...weekdayNames),
          nearChanges,
          (timeZone, minute, hour, weekday, instant) => {
            const expression = `cron(${minute} ${hour} ? * ${weekday} *)`;
            const expected = bruteForceNext(timeZone, minute, hour, weekday, instant.getTime());
            expect(iso(nextStart(expression, instant, { timeZone })), `${expression} in ${timeZone}`).to.equal(
              new Date(expected).toISOString(),
            );
          },
        ),
        { numRuns: 150 },
      );
    }).timeout(120_000);
  });
});
