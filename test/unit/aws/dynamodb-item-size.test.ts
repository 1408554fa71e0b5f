import { expect } from 'chai';
import fc from 'fast-check';
import { DYNAMODB_MAX_ITEM_BYTES, dynamoDbItemBytes } from '#shared/aws/dynamodb-item-size';

describe('DynamoDB item size (shared/dynamodb-item-size.ts)', () => {
  it('is 400 KB', () => {
    expect(DYNAMODB_MAX_ITEM_BYTES).to.equal(409_600);
  });

  it('counts attribute names and string values in UTF-8 bytes', () => {
    expect(dynamoDbItemBytes({ Key: { S: 'abc' } })).to.equal(3 + 3);
    expect(dynamoDbItemBytes({ Key: { S: 'é' }, Valeur: { S: '😀' } })).to.equal(3 + 2 + 6 + 4);
    expect(dynamoDbItemBytes({ Key: { S: '' } })).to.equal(3);
  });

  it('counts a number by its significant digits, two a byte, plus one byte', () => {
    const number = (text: string) => dynamoDbItemBytes({ n: { N: text } }) - 1;
    expect(number('0')).to.equal(1);
    expect(number('7')).to.equal(2);
    expect(number('12')).to.equal(2);
    expect(number('123')).to.equal(3);
    // Leading and trailing zeros, the sign, the point and the exponent are not digits of it.
    expect(number('1000')).to.equal(2);
    expect(number('-0012.3400')).to.equal(3);
    expect(number('1.5E+30')).to.equal(2);
    expect(number('1712345678')).to.equal(6);
    expect(number('9'.repeat(38))).to.equal(20);
  });

  it('counts binary values in raw bytes, a boolean or null as one byte', () => {
    expect(dynamoDbItemBytes({ b: { B: new Uint8Array(10) } })).to.equal(1 + 10);
    expect(dynamoDbItemBytes({ t: { BOOL: true }, z: { NULL: true } })).to.equal(1 + 1 + 1 + 1);
  });

  it('counts a set as the sum of its elements', () => {
    expect(dynamoDbItemBytes({ s: { SS: ['ab', 'é'] } })).to.equal(1 + 2 + 2);
    expect(dynamoDbItemBytes({ s: { NS: ['1', '123'] } })).to.equal(1 + 2 + 3);
    expect(dynamoDbItemBytes({ s: { BS: [new Uint8Array(2), new Uint8Array(3)] } })).to.equal(1 + 5);
  });

  it('counts 3 bytes for a list or map and 1 per element, map keys as names', () => {
    expect(dynamoDbItemBytes({ l: { L: [] } })).to.equal(1 + 3);
    expect(dynamoDbItemBytes({ l: { L: [{ S: 'ab' }, { N: '1' }] } })).to.equal(1 + 3 + (1 + 2) + (1 + 2));
    expect(dynamoDbItemBytes({ m: { M: { ab: { S: 'cd' }, e: { M: {} } } } })).to.equal(
      1 + 3 + (1 + 2 + 2) + (1 + 1 + 3),
    );
  });

  it('for a table row of strings, is the UTF-8 length of its names and values', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (key, value) => {
        expect(dynamoDbItemBytes({ Key: { S: key }, Value: { S: value } })).to.equal(
          Buffer.byteLength(`Key${key}Value${value}`, 'utf8'),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
