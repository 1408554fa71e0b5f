import { expect } from 'chai';
import { UserInputError } from '#shared/errors';
import {
  errorFromCatch,
  failedPart,
  flattenParts,
  normalizePart,
  skippedPart,
  summarize,
  type PartResult,
  type RawPartResult,
} from '#shared/summary';

const START = '2024-06-01T10:00:00.000Z';

/** The `{Error, Cause}` a Step Functions Catch hands over when a Lambda function throws `error`. */
function lambdaCatch(error: Error) {
  return {
    Error: error.name,
    Cause: JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: ['at handler (x.js:1:1)'] }),
  };
}

describe('execution summary (SPEC §9)', () => {
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
  });
});
