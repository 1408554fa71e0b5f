import { expect } from 'chai';
import fc from 'fast-check';
import { UserInputError } from '#shared/aws/errors';
import {
  boundedPart,
  errorFromCatch,
  failedPart,
  flattenParts,
  MAX_PART_BYTES,
  MAX_SUMMARY_BYTES,
  partsFailedCause,
  partsOrFailure,
  normalizePart,
  skippedPart,
  summarize,
  type ExecutionSummary,
  type PartResult,
  type RawPartResult,
} from '#shared/run/summary';
import { hostileText, longString } from '#test/support/hostile-strings';

const START = '2024-06-01T10:00:00.000Z';

/** The `{Error, Cause}` a Step Functions Catch hands over when a Lambda function throws `error`. */
function lambdaCatch(error: Error) {
  return {
    Error: error.name,
    Cause: JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: ['at handler (x.js:1:1)'] }),
  };
}

describe('execution summary (shared/run/summary.ts)', () => {
  describe('summarize', () => {
    it('counts the parts by status and is ok when none failed', () => {
      // Prepare
      const parts: RawPartResult[] = [
        { part: 'backup/configuration', status: 'ok', keys: ['k1'], records: 3 },
        { part: 'backup/scheduler', status: 'ok', keys: ['k2'], records: 0 },
        skippedPart('catalog', 'no new partition'),
      ];

      // Act
      const summary = summarize('web', START, parts);

      // Assess
      expect(summary).to.deep.equal({
        status: 'ok',
        groupName: 'web',
        executionStartTime: START,
        counts: { ok: 2, failed: 0, skipped: 1 },
        parts,
        message: 'web: 2 ok, 0 failed, 1 skipped',
      });
    });

    it('fails when any part failed, and its message names every failed part with its error', () => {
      // Prepare
      const parts: RawPartResult[] = [
        { part: 'backup/configuration', status: 'ok' },
        {
          part: 'backup/scheduler',
          status: 'failed',
          caught: lambdaCatch(new UserInputError('SchedulerTable "t"', 'no such table', 'redeploy')),
        },
        failedPart('metadata/instances', new Error('throttled')),
        { part: 'catalog', status: 'failed' },
      ];

      // Act
      const summary = summarize('web', START, parts);

      // Assess
      expect(summary.status).to.equal('failed');
      expect(summary.counts).to.deep.equal({ ok: 1, failed: 3, skipped: 0 });
      expect(summary.message).to.equal(
        'web: 1 ok, 3 failed, 0 skipped; ' +
          'backup/scheduler: SchedulerTable "t": no such table. Fix: redeploy; ' +
          'metadata/instances: throttled; ' +
          'catalog: failed',
      );
    });

    it('summarizes no parts as ok', () => {
      expect(summarize('web', START, [])).to.deep.include({
        status: 'ok',
        counts: { ok: 0, failed: 0, skipped: 0 },
        message: 'web: 0 ok, 0 failed, 0 skipped',
      });
    });
  });

  describe('bounds, whatever the parts hold (huge or hostile results)', () => {
    /** Step Functions keeps this many characters of a failure's cause. */
    const MAX_CAUSE_CHARS = 32_768;
    /** Shrinking inputs of hundreds of kilobytes would take hours: the first counterexample is reported. */
    const RUNS = { endOnFailure: true };

    /** Texts of every size up to what DynamoDB or an execution input allow, and ones JSON escapes 6-fold. */
    const anyText = fc.oneof(
      { weight: 6, arbitrary: hostileText },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 300_000 }).map(longString) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((length) => '\u0001'.repeat(length)) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3_000 }) },
    );
    /** Texts of lists (keys, warnings): many of them, each up to a few thousand characters. */
    const listText = fc.oneof(
      { weight: 4, arbitrary: hostileText },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 3_000 }).map(longString) },
    );
    const lambdaCause = fc
      .record({ errorType: anyText, errorMessage: anyText, trace: fc.array(listText, { maxLength: 3 }) })
      .map((cause) => JSON.stringify(cause));
    const caught = fc.oneof(
      fc.record({ Error: anyText, Cause: fc.oneof(anyText, lambdaCause) }),
      fc.record({ Error: anyText, Cause: fc.record({ errorMessage: anyText }) }),
      fc.record({ Error: anyText }),
      anyText,
    );
    const partOf = (text: fc.Arbitrary<string>, items: fc.Arbitrary<string>, many: number) =>
      fc.record(
        {
          part: text,
          status: fc.constantFrom('ok' as const, 'failed' as const, 'skipped' as const),
          keys: fc.array(items, { maxLength: many }),
          records: fc.nat(),
          bytes: fc.nat(),
          sha256: text,
          reason: text,
          error: fc.record({ name: text, message: text }),
          warnings: fc.array(items, { maxLength: many }),
          caught,
        },
        { requiredKeys: ['part', 'status'] },
      );
    const parts: fc.Arbitrary<RawPartResult[]> = fc.oneof(
      { weight: 4, arbitrary: fc.array(partOf(anyText, listText, 300), { maxLength: 15 }) },
      // Thousands of parts: even their names cannot all fit.
      { weight: 1, arbitrary: fc.array(partOf(hostileText, hostileText, 3), { minLength: 1_000, maxLength: 3_000 }) },
    );

    const failedParts = (raw: RawPartResult[]) =>
      raw.filter((part) => part.status === 'failed' || part.caught !== undefined).length;

    it('summarize: JSON within 32,000 bytes (a cause keeps 32,768 characters), counts of every part', () => {
      fc.assert(
        fc.property(anyText, parts, (groupName, raw) => {
          const summary = summarize(groupName, START, raw);

          const json = JSON.stringify(summary);
          expect(Buffer.byteLength(json, 'utf8')).to.be.at.most(MAX_SUMMARY_BYTES);
          expect(json.length).to.be.at.most(MAX_CAUSE_CHARS);
          expect(JSON.parse(json) as ExecutionSummary).to.deep.equal(summary);
          const failed = failedParts(raw);
          expect(summary.counts.ok + summary.counts.failed + summary.counts.skipped).to.equal(raw.length);
          expect(summary.counts.failed).to.equal(failed);
          expect(summary.status).to.equal(failed > 0 ? 'failed' : 'ok');
          const leftOut = raw.length - summary.parts.length;
          if (leftOut > 0) {
            expect(summary.message).to.match(new RegExp(`; ${leftOut} parts left out of this summary \\(`));
            const shownFailed = summary.parts.filter((part) => part.status === 'failed').length;
            const shownOther = summary.parts.length - shownFailed;
            expect(shownOther === 0 || shownFailed === failed, 'failed parts are shown first').to.equal(true);
          } else {
            expect(summary.parts.map((part) => part.status)).to.deep.equal(
              raw.map((part) => normalizePart(part).status),
            );
          }
        }),
        { ...RUNS, numRuns: 100 },
      );
    });

    it('boundedPart: JSON within 16 KiB, and bounding a bounded part changes nothing', () => {
      fc.assert(
        fc.property(partOf(anyText, listText, 300), ({ caught: _caught, ...part }) => {
          const bounded = boundedPart(part);

          expect(Buffer.byteLength(JSON.stringify(bounded), 'utf8')).to.be.at.most(MAX_PART_BYTES);
          expect(boundedPart(bounded)).to.deep.equal(bounded);
          expect(bounded.status).to.equal(part.status);
        }),
        { ...RUNS, numRuns: 200 },
      );
    });

    it('boundedPart keeps the fields the next steps need, and every text that fits', () => {
      const part = {
        part: 'backup/configuration',
        status: 'ok' as const,
        keys: ['archive-key'],
        records: 2,
        warnings: Array.from({ length: 12 }, (_, index) => `row ${index}`),
        archive: { key: 'archive-key', etag: '"e"', stamp: '20240601T100000123Z' },
        latestKey: 'latest-key',
        newPartition: false,
      };

      expect(boundedPart(part)).to.deep.equal({
        ...part,
        warnings: [...part.warnings.slice(0, 10), "2 more warnings; the function's log lists each"],
      });
    });

    it('a summary of thousands of failed parts shows the first that fit and says how many are left out', () => {
      const raw = Array.from({ length: 5_000 }, (_, index) => failedPart(`metadata/t${index}`, new Error('boom')));

      const summary = summarize('web', START, raw);

      expect(summary.counts).to.deep.equal({ ok: 0, failed: 5_000, skipped: 0 });
      expect(summary.parts[0]).to.deep.equal({
        part: 'metadata/t0',
        status: 'failed',
        error: { name: 'Error', message: 'boom' },
      });
      const shown = summary.parts.length;
      expect(summary.parts.map((part) => part.part)).to.deep.equal(raw.slice(0, shown).map((part) => part.part));
      expect(summary.message).to.match(
        new RegExp(
          `^web: 0 ok, 5000 failed, 0 skipped; metadata/t0: boom; .*; ${5_000 - shown} parts left out of this summary \\(each function's log has its results\\)$`,
        ),
      );
      // The bound is on the failure's cause, where the summary's JSON is escaped once more.
      expect(Buffer.byteLength(partsFailedCause(summary))).to.be.within(MAX_SUMMARY_BYTES - 200, MAX_SUMMARY_BYTES);
    });
  });

  describe('partsOrFailure', () => {
    it("answers the work's parts, or each part failed with the error thrown inside the function", async () => {
      const parts = ['metadata/instances', 'metadata/volumes'];
      const ok = [
        { part: 'metadata/instances', status: 'ok' as const, records: 2 },
        { part: 'metadata/volumes', status: 'ok' as const, records: 3 },
      ];
      expect(await partsOrFailure(parts, async () => ok)).to.equal(ok);
      const denied = Object.assign(new Error('User is not authorized to perform: ec2:DescribeInstances'), {
        name: 'UnauthorizedOperation',
      });
      const previous = process.env.LOG_LEVEL;
      process.env.LOG_LEVEL = 'silent';
      try {
        expect(
          await partsOrFailure(parts, async () => {
            throw denied;
          }),
        ).to.deep.equal(
          parts.map((part) => ({
            part,
            status: 'failed',
            error: {
              name: 'UnauthorizedOperation',
              message: 'User is not authorized to perform: ec2:DescribeInstances',
            },
          })),
        );
      } finally {
        if (previous === undefined) delete process.env.LOG_LEVEL;
        else process.env.LOG_LEVEL = previous;
      }
    });
  });

  describe('normalizePart', () => {
    it('turns a caught Lambda error (JSON Cause) into a failed part with its type and message', () => {
      // Prepare
      const raw: RawPartResult = {
        part: 'backup/scheduler',
        status: 'failed',
        caught: lambdaCatch(new UserInputError('SchedulerTable "t"', 'no such table', 'redeploy')),
      };

      // Act
      const part = normalizePart(raw);

      // Assess
      expect(part).to.deep.equal({
        part: 'backup/scheduler',
        status: 'failed',
        error: { name: 'UserInputError', message: 'SchedulerTable "t": no such table. Fix: redeploy' },
      });
    });

    it('keeps a plain-text Cause, such as a States.Timeout one, as the message', () => {
      // Prepare
      const caught = { Error: 'States.Timeout', Cause: 'The task timed out after 900 seconds.' };

      // Act
      const part = normalizePart({ part: 'metadata/volumes', status: 'ok', caught });

      // Assess
      expect(part).to.deep.equal({
        part: 'metadata/volumes',
        status: 'failed',
        error: { name: 'States.Timeout', message: 'The task timed out after 900 seconds.' },
      });
    });

    it('uses the error name as the message when the Catch has no Cause', () => {
      expect(errorFromCatch({ Error: 'States.Timeout' })).to.deep.equal({
        name: 'States.Timeout',
        message: 'States.Timeout',
      });
      expect(errorFromCatch({ Error: 'States.Timeout', Cause: '' }).message).to.equal('States.Timeout');
    });

    it('keeps a JSON Cause without errorMessage, or not an object, as it is', () => {
      expect(errorFromCatch({ Error: 'Custom', Cause: '{"reason":"x"}' })).to.deep.equal({
        name: 'Custom',
        message: '{"reason":"x"}',
      });
      expect(errorFromCatch({ Error: 'Custom', Cause: 'null' }).message).to.equal('null');
      expect(errorFromCatch({ Error: 'Custom', Cause: '42' }).message).to.equal('42');
    });

    it('reads a Cause given as an object (as a local runner may hand it) and a non-object caught value', () => {
      expect(errorFromCatch({ Error: 'Lambda', Cause: { errorMessage: 'boom' } })).to.deep.equal({
        name: 'Lambda',
        message: 'boom',
      });
      expect(errorFromCatch('plain text')).to.deep.equal({ name: 'Error', message: 'plain text' });
      expect(errorFromCatch({})).to.deep.equal({ name: 'Error', message: 'Error' });
    });

    it('keeps only the summary fields of a part, dropping what the archive step needed', () => {
      // Prepare
      const raw = {
        part: 'backup/configuration',
        status: 'ok',
        keys: ['archive-key'],
        records: 2,
        bytes: 10,
        sha256: 'ab',
        warnings: ['w'],
        table: 'configuration',
        archive: { key: 'archive-key', etag: '"e"' },
        latestKey: 'latest-key',
      } as RawPartResult;

      // Act
      const part = normalizePart(raw);

      // Assess
      expect(part).to.deep.equal({
        part: 'backup/configuration',
        status: 'ok',
        keys: ['archive-key'],
        records: 2,
        bytes: 10,
        sha256: 'ab',
        warnings: ['w'],
      });
    });
  });

  describe('flattenParts', () => {
    it('flattens the arrays branches answer, keeping the order', () => {
      // Prepare
      const a: PartResult = { part: 'a', status: 'ok' };
      const b: PartResult = { part: 'b', status: 'ok' };
      const c: PartResult = { part: 'c', status: 'skipped' };
      const d: PartResult = { part: 'd', status: 'ok' };

      // Act
      const parts = flattenParts([a, [b, c], [[d]]]);

      // Assess
      expect(parts).to.deep.equal([a, b, c, d]);
    });

    it("expands a branch failure into one failed part per name, each carrying the branch's caught error", () => {
      // Prepare
      const caught = lambdaCatch(new Error('scan failed'));
      const branchFailure = { failedParts: ['backup/configuration', 'metadata/configuration'], caught };

      // Act
      const parts = flattenParts([{ part: 'a', status: 'ok' }, branchFailure]);

      // Assess
      expect(parts).to.deep.equal([
        { part: 'a', status: 'ok' },
        { part: 'backup/configuration', status: 'failed', caught },
        { part: 'metadata/configuration', status: 'failed', caught },
      ]);
      expect(summarize('web', START, parts).message).to.equal(
        'web: 1 ok, 2 failed, 0 skipped; backup/configuration: scan failed; metadata/configuration: scan failed',
      );
    });

    for (const [what, item] of [
      ['null', null],
      ['a string', 'x'],
      ['an object without a part', {}],
      ['an unknown status', { part: 'a', status: 'weird' }],
      ['an empty name', { part: '', status: 'ok' }],
      ['a failure naming no part', { failedParts: [], caught: {} }],
      ['a failure naming a number', { failedParts: [1], caught: {} }],
    ] as const) {
      it(`refuses ${what}, naming the item and the shapes it takes`, () => {
        expect(() => flattenParts([{ part: 'a', status: 'ok' }, item])).to.throw(
          TypeError,
          `part result 1 is ${JSON.stringify(item)}: expected { part, status: ok | failed | skipped } or ` +
            '{ failedParts: [names], caught }. The workflow definition hands these over; check the states before this one.',
        );
      });
    }
  });
});
