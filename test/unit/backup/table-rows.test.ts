import { expect } from 'chai';
import fc from 'fast-check';
import { compareCodePoints, parameterSetKey, splitParameterSetKey } from '#shared/catalog/table-rows';

describe('table rows (docs/cmdb.md)', () => {
  describe('parameter-set keys [name]subkey', () => {
    it('splits a parameter-set key into set and subkey', () => {
      expect(splitParameterSetKey('[web]ec2.schedule.min_instance_count')).to.deep.equal({
        set: 'web',
        subkey: 'ec2.schedule.min_instance_count',
      });
      expect(splitParameterSetKey('[a b]c d')).to.deep.equal({ set: 'a b', subkey: 'c d' });
      expect(splitParameterSetKey('[東京]😀')).to.deep.equal({ set: '東京', subkey: '😀' });
    });

    it('ends the set name at the first "]"; the subkey may hold brackets and line breaks', () => {
      expect(splitParameterSetKey('[a]b]c')).to.deep.equal({ set: 'a', subkey: 'b]c' });
      expect(splitParameterSetKey('[a]]')).to.deep.equal({ set: 'a', subkey: ']' });
      expect(splitParameterSetKey('[[a]b')).to.deep.equal({ set: '[a', subkey: 'b' });
      expect(splitParameterSetKey('[a\nb]c\r\nd')).to.deep.equal({ set: 'a\nb', subkey: 'c\r\nd' });
    });

    it('leaves other keys alone', () => {
      for (const key of ['web', '', '[web]', '[]x', '[web', 'web]x', 'a[web]b', ' [web]x', '#[web]x', '(web)x']) {
        expect(splitParameterSetKey(key), JSON.stringify(key)).to.equal(undefined);
      }
    });

    it('builds the key back', () => {
      expect(parameterSetKey('web', 'app.disable')).to.equal('[web]app.disable');
    });

    it('parameterSetKey and splitParameterSetKey invert each other', () => {
      const anything = fc.string({ unit: 'binary' });
      fc.assert(
        fc.property(
          anything.filter((set) => set !== '' && !set.includes(']')),
          anything.filter((subkey) => subkey !== ''),
          (set, subkey) => {
            expect(splitParameterSetKey(parameterSetKey(set, subkey))).to.deep.equal({ set, subkey });
          },
        ),
        { numRuns: 2000 },
      );
      fc.assert(
        fc.property(
          fc.oneof(
            anything,
            anything.map((tail) => `[${tail}`),
          ),
          (key) => {
            const split = splitParameterSetKey(key);
            if (split) expect(parameterSetKey(split.set, split.subkey)).to.equal(key);
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe('compareCodePoints', () => {
    const codePoints = (text: string) => [...text].map((char) => char.codePointAt(0)!);
    function compareArrays(a: number[], b: number[]): number {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
      return a.length - b.length;
    }
    /** Code points near the edges where UTF-16 and code-point order part ways, and lone surrogates. */
    const edgy = fc.constantFrom(
      'a',
      'b',
      '\u00e9',
      '\ud7ff',
      '\ud800',
      '\udfff',
      '\ue000',
      '\uffff',
      '\u{10000}',
      '😀',
    );
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: edgy }),
      fc.string({ unit: fc.oneof(edgy, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }),
    );

    it('orders as comparing the arrays of code points does (Python str order)', () => {
      fc.assert(
        fc.property(text, text, (a, b) => {
          expect(Math.sign(compareCodePoints(a, b))).to.equal(Math.sign(compareArrays(codePoints(a), codePoints(b))));
        }),
        { numRuns: 5000 },
      );
    });

    it('is a total order: zero only for equal strings, antisymmetric', () => {
      fc.assert(
        fc.property(text, text, (a, b) => {
          expect(compareCodePoints(a, a)).to.equal(0);
          expect(compareCodePoints(a, b) === 0).to.equal(a === b);
          expect(Math.sign(compareCodePoints(a, b))).to.equal(-Math.sign(compareCodePoints(b, a)));
        }),
        { numRuns: 2000 },
      );
    });

    it('puts a prefix first', () => {
      expect(compareCodePoints('a', 'ab')).to.be.below(0);
      expect(compareCodePoints('ab', 'a')).to.be.above(0);
      expect(compareCodePoints('', 'a')).to.be.below(0);
    });

    it('differs from the default (UTF-16) sort for astral characters against U+E000–U+FFFF', () => {
      const astral = fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code));
      const high = fc.integer({ min: 0xe000, max: 0xffff }).map((code) => String.fromCodePoint(code));
      fc.assert(
        fc.property(astral, high, (a, h) => {
          expect(compareCodePoints(h, a)).to.be.below(0);
          expect([a, h].sort()).to.deep.equal([a, h]);
          expect([a, h].sort(compareCodePoints)).to.deep.equal([h, a]);
        }),
        { numRuns: 1000 },
      );
      expect(['😀', '\uff01', 'z'].sort(compareCodePoints)).to.deep.equal(['z', '\uff01', '😀']);
    });
  });
});
