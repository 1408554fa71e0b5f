import { expect } from 'chai';
import { cutText, describeError, quoteInput, UserInputError } from '#shared/aws/errors';

describe('error messages quote inputs cut short', () => {
  describe('quoteInput', () => {
    it('JSON-quotes a short string whole, escaping controls and invisible or bidirectional characters', () => {
      expect(quoteInput('cron(0 2 * * ? *)')).to.equal('"cron(0 2 * * ? *)"');
      expect(quoteInput('a"b\\c\nd')).to.equal('"a\\"b\\\\c\\nd"');
      expect(quoteInput('a\u202eb\u0085\u0000')).to.equal('"a\\u202eb\\u0085\\u0000"');
    });

    it('cuts a long string at the given number of characters, never within one, and gives its length', () => {
      expect(quoteInput('x'.repeat(300_000))).to.equal(`"${'x'.repeat(80)}"… (300000 characters)`);
      expect(quoteInput('😀'.repeat(100), 3)).to.equal('"😀😀😀"… (100 characters)');
      expect(quoteInput('abc', 3)).to.equal('"abc"');
    });

    it('shows anything else as JSON, cut the same way', () => {
      expect(quoteInput(42)).to.equal('42');
      expect(quoteInput(undefined)).to.equal('undefined');
      expect(quoteInput({ parts: 'x' })).to.equal('{"parts":"x"}');
      expect(
        quoteInput(
          Array.from({ length: 100 }, () => 1),
          5,
        ),
      ).to.equal('[1,1,… (201 characters)');
    });
  });

  describe('cutText', () => {
    it('keeps a text that fits, and cuts one that does not to the limit, ending in "…"', () => {
      expect(cutText('abc', 3)).to.equal('abc');
      expect(cutText('abcd', 3)).to.equal('ab…');
      expect(cutText('a😀bc', 3)).to.equal('a…');
      expect(cutText('abcd', 0)).to.equal('…');
    });
  });

  describe('UserInputError and describeError', () => {
    it('bound the input and the problem, and keep the fix whole', () => {
      const error = new UserInputError(`backup.cron "${'x'.repeat(50_000)}"`, 'y'.repeat(50_000), 'delete the key');

      expect(error.message).to.equal(`backup.cron "${'x'.repeat(286)}…: ${'y'.repeat(999)}…. Fix: delete the key`);
      expect(error.input).to.equal(`backup.cron "${'x'.repeat(286)}…`);
    });

    it('describeError cuts the name and the message of anything thrown', () => {
      const thrown = new Error('m'.repeat(5_000));
      thrown.name = 'N'.repeat(500);

      expect(describeError(thrown)).to.deep.equal({ name: `${'N'.repeat(199)}…`, message: `${'m'.repeat(1_999)}…` });
      expect(describeError('plain')).to.deep.equal({ name: 'Error', message: 'plain' });
    });
  });
});
