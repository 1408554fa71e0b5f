import { expect } from 'chai';
import fc from 'fast-check';
import { JsonText, extendRecord, partitionColumnCollision, recordJson } from '#shared/metadata/records';

describe('record JSON (extended records written without a copy)', () => {
  it('is the JSON of { ...base, ...fields }, whatever the two objects', () => {
    const json = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(json, json, (base, fields) => {
        expect(recordJson(extendRecord(base, fields))).to.equal(JSON.stringify({ ...base, ...fields }));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps Dates, undefined members and overridden fields as a spread would', () => {
    const base = { A: 1, LaunchTime: new Date('2024-01-01T00:00:00Z'), Gone: undefined, Name: 'base' };
    for (const fields of [{}, { Name: 'ours' }, { Extra: null, Skipped: undefined }]) {
      expect(recordJson(extendRecord(base, fields))).to.equal(JSON.stringify({ ...base, ...fields }));
    }
    expect(recordJson(extendRecord({}, { A: 1 }))).to.equal('{"A":1}');
    expect(recordJson({ plain: true })).to.equal('{"plain":true}');
  });

  it('writes a JsonText field as the JSON it holds, as a spread of the value would', () => {
    const value = { InstanceType: 't3.micro', MemoryInfo: { SizeInMiB: 1024 }, Gone: undefined };
    const shared = new JsonText(value);
    for (const [base, fields] of [
      [{ A: 1 }, { _InstanceType: shared, B: 2 }],
      [{}, { _InstanceType: shared }],
      [{ A: 1, _InstanceType: 'overridden' }, { _InstanceType: shared }],
    ] as const) {
      expect(recordJson(extendRecord(base, fields))).to.equal(
        JSON.stringify({ ...base, ...fields, _InstanceType: value }),
      );
    }
    expect(shared.text).to.equal('{"InstanceType":"t3.micro","MemoryInfo":{"SizeInMiB":1024}}');
  });

  it('finds a partition column in the object or in the added fields', () => {
    expect(partitionColumnCollision(extendRecord({ A: 1 }, { B: 2 }))).to.equal(undefined);
    expect(partitionColumnCollision(extendRecord({ Region: 'x' }, { B: 2 }))).to.equal('Region');
    expect(partitionColumnCollision(extendRecord({ A: 1 }, { groupName: 'g' }))).to.equal('groupName');
    expect(partitionColumnCollision({ AccountId: '1' })).to.equal('AccountId');
  });
});
