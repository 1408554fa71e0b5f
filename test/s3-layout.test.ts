import { expect } from 'chai';
import {
  archiveBackupKey,
  archiveStamp,
  latestBackupKey,
  metadataKey,
  parseArchiveStamp,
  partitionPath,
} from '#shared/s3-layout';

const id = { accountId: '111122223333', region: 'eu-west-3', groupName: 'web' };

describe('S3 key layout (SPEC §4)', () => {
  it('builds the partition path', () => {
    expect(partitionPath(id)).to.equal('accountid=111122223333/region=eu-west-3/groupname=web');
  });

  it('places latest and archive backups under P/backups/{part}', () => {
    const root = { bucket: 'b', prefix: 'org/cs' };
    expect(latestBackupKey(root, id, 'configuration')).to.equal(
      'org/cs/backups/accountid=111122223333/region=eu-west-3/groupname=web/latest-111122223333-eu-west-3-configuration-cs-web.yaml',
    );
    expect(archiveBackupKey(root, id, 'scheduler', '20240102T030405006Z')).to.equal(
      'org/cs/backups/accountid=111122223333/region=eu-west-3/groupname=web/archive/20240102T030405006Z-111122223333-eu-west-3-scheduler-cs-web.yaml',
    );
  });

  it('has no leading slash at the bucket root', () => {
    const root = { bucket: 'b', prefix: '' };
    expect(latestBackupKey(root, id, 'scheduler')).to.match(/^backups\/accountid=/);
    expect(metadataKey(root, id, 'maintenance-windows')).to.equal(
      'metadata/maintenance-windows/accountid=111122223333/region=eu-west-3/groupname=web/111122223333-eu-west-3-maintenance-windows-cs-web.json.gz',
    );
  });

  it('formats the archive stamp as UTC YYYYMMDDTHHMMSSmmmZ and reads it back', () => {
    const stamp = archiveStamp('2024-01-02T03:04:05.006+02:00');
    expect(stamp).to.equal('20240102T010405006Z');
    expect(stamp).to.match(/^[0-9]{8}T[0-9]{9}Z$/);
    expect(parseArchiveStamp(stamp)?.toISOString()).to.equal('2024-01-02T01:04:05.006Z');
  });

  it('refuses an invalid instant', () => {
    expect(() => archiveStamp('yesterday')).to.throw(RangeError, /not a valid date-time/);
  });
});
