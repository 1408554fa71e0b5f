import { expect } from 'chai';
import fc from 'fast-check';
import {
  archiveBackupKey,
  archiveStamp,
  BACKUP_TABLES,
  latestBackupKey,
  metadataKey,
  parseArchiveStamp,
  parseBackupKey,
  partitionPath,
} from '#shared/aws/s3-layout';

const id = { accountId: '111122223333', region: 'eu-west-3', groupName: 'web' };

describe('S3 key layout (docs/reference/s3-layout.md)', () => {
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

  describe('parseBackupKey, the inverse of latestBackupKey and archiveBackupKey', () => {
    it('reads what a latest- and an archive key name', () => {
      const root = { bucket: 'b', prefix: 'org/cs' };

      expect(parseBackupKey(latestBackupKey(root, id, 'configuration'))).to.deep.equal({
        prefix: 'org/cs',
        identity: id,
        table: 'configuration',
      });
      expect(parseBackupKey(archiveBackupKey(root, id, 'scheduler', '20240102T030405006Z'))).to.deep.equal({
        prefix: 'org/cs',
        identity: id,
        table: 'scheduler',
        stamp: '20240102T030405006Z',
      });
    });

    it('answers undefined for keys no builder makes', () => {
      const folder = 'org/backups/accountid=111122223333/region=eu-west-3/groupname=web';
      for (const key of [
        '',
        'x.yaml',
        `${folder}/latest-111122223333-eu-west-3-configuration-cs-db.yaml`,
        `${folder}/latest-111122223333-eu-west-3-metadata-cs-web.yaml`,
        `${folder}/latest-111122223333-eu-west-3-configuration-cs-web.yml`,
        `${folder}/archive/2024-111122223333-eu-west-3-configuration-cs-web.yaml`,
        `${folder}/archive/latest-111122223333-eu-west-3-configuration-cs-web.yaml`,
        `${folder}/x/latest-111122223333-eu-west-3-configuration-cs-web.yaml`,
        `/backups/accountid=1/region=r/groupname=g/latest-1-r-configuration-cs-g.yaml`,
        `backups/accountid=1/region=r/groupname=g/archive/x/20240102T030405006Z-1-r-configuration-cs-g.yaml`,
      ]) {
        expect(parseBackupKey(key), key).to.equal(undefined);
      }
    });

    /** Any text without "/": the builders cannot keep a "/" inside a value apart from the layout's own. */
    const segment = fc.oneof(
      fc.constantFrom('', 'web', 'eu-west-1', '123456789012', 'backups', 'archive', 'latest-', '-cs-', 'accountid='),
      fc.string({ unit: 'binary', maxLength: 12 }).filter((text) => !text.includes('/')),
    );
    const prefix = fc.oneof(
      fc.constant(''),
      fc
        .array(fc.oneof(segment, fc.constantFrom('backups', 'accountid=1')), { minLength: 1, maxLength: 4 })
        .map((parts) => parts.join('/')),
    );
    const identity = fc.record({ accountId: segment, region: segment, groupName: segment });
    const table = fc.constantFrom(...BACKUP_TABLES);
    const stamp = fc
      .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
      .map(archiveStamp);

    it('gives back what the builders were given, for any partition (property)', () => {
      fc.assert(
        fc.property(prefix, identity, table, stamp, (root, id, kind, at) => {
          const location = { bucket: 'bucket', prefix: root };
          expect(parseBackupKey(latestBackupKey(location, id, kind))).to.deep.equal({
            prefix: root,
            identity: id,
            table: kind,
          });
          expect(parseBackupKey(archiveBackupKey(location, id, kind, at))).to.deep.equal({
            prefix: root,
            identity: id,
            table: kind,
            stamp: at,
          });
        }),
        { numRuns: 5000 },
      );
    });

    it('only reads keys that the builders give back from what it read (property)', () => {
      const key = fc.oneof(
        fc
          .tuple(prefix, identity, table, stamp)
          .map(([root, id, kind, at]) => archiveBackupKey({ bucket: 'b', prefix: root }, id, kind, at)),
        fc.array(segment, { maxLength: 8 }).map((parts) => parts.join('/')),
        fc
          .tuple(prefix, identity, table, segment)
          .map(([root, id, kind, other]) =>
            latestBackupKey({ bucket: 'b', prefix: root }, id, kind).replace('-cs-', other),
          ),
      );
      fc.assert(
        fc.property(key, (text) => {
          const parsed = parseBackupKey(text);
          if (!parsed) return;
          const root = { bucket: 'b', prefix: parsed.prefix };
          const rebuilt =
            parsed.stamp === undefined
              ? latestBackupKey(root, parsed.identity, parsed.table)
              : archiveBackupKey(root, parsed.identity, parsed.table, parsed.stamp);
          expect(rebuilt).to.equal(text);
        }),
        { numRuns: 5000 },
      );
    });
  });
});
