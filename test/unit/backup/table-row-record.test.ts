import { expect } from 'chai';
import { tableRowRecord } from '#shared/backup/table-export';

describe('clonesquad_configuration / clonesquad_scheduler lines', () => {
  it('carry the export time as the original writes it (UTC, microseconds, +00:00) and the TTL as digits', () => {
    expect(
      tableRowRecord({ key: 'app.disable', value: '0', expirationTime: 1714560000 }, '2024-05-01T10:30:00.123Z'),
    ).to.deep.equal({
      Key: 'app.disable',
      Value: '0',
      ExpirationTime: '1714560000',
      MetadataRecordLastUpdatedAt: '2024-05-01 10:30:00.123000+00:00',
    });
  });

  it('leave ExpirationTime out for a row without TTL, and keep the fraction at a whole second', () => {
    expect(tableRowRecord({ key: '[night]backup.cron', value: 'disabled' }, '2024-05-01T10:30:00Z')).to.deep.equal({
      Key: '[night]backup.cron',
      Value: 'disabled',
      MetadataRecordLastUpdatedAt: '2024-05-01 10:30:00.000000+00:00',
    });
  });

  it('sort as text in time order, as the original text does', () => {
    const times = ['2024-05-01T09:59:59.999Z', '2024-05-01T10:00:00Z', '2024-12-31T23:00:00.5Z'];
    const texts = times.map((time) =>
      String(tableRowRecord({ key: 'k', value: 'v' }, time).MetadataRecordLastUpdatedAt),
    );
    expect([...texts].sort()).to.deep.equal(texts);
  });
});
