import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { REFERENCE_FOLDER, REFERENCE_PAGES, s3LayoutPage } from '#cli/reference-docs';
import { latestBackupKey, metadataKey } from '#shared/aws/s3-layout';
import { parseS3Path } from '#shared/aws/s3-path';

describe('docs/reference pages', () => {
  for (const [name, render] of Object.entries(REFERENCE_PAGES)) {
    it(`docs/reference/${name} is what the code generates`, () => {
      const committed = readFileSync(join(REFERENCE_FOLDER, name), 'utf8');
      expect(committed === render(), `docs/reference/${name} is out of date: run npm run generate`).to.equal(true);
    });

    it(`docs/reference/${name} keeps its prose lines within 120 characters`, () => {
      const long = render()
        .split('\n')
        .filter((line) => !line.startsWith('|') && line.length > 120);
      expect(long).to.deep.equal([]);
    });
  }

  it('docs/reference/ holds exactly the generated pages', () => {
    expect(readdirSync(REFERENCE_FOLDER).sort(), 'run npm run generate').to.deep.equal(
      Object.keys(REFERENCE_PAGES).sort(),
    );
  });

  it('the S3 layout page shows the keys the layout module builds for its example deployment', () => {
    const root = parseS3Path('s3://example-org-cmdb/clonesquad')!;
    const id = { accountId: '111122223333', region: 'eu-west-1', groupName: 'web' };
    const page = s3LayoutPage();
    expect(page).to.include(`\`${latestBackupKey(root, id, 'configuration')}\``);
    expect(page).to.include(`\`${metadataKey(root, id, 'maintenance-windows')}\``);
    expect(page).to.include(
      '`clonesquad/backups/accountid=111122223333/region=eu-west-1/groupname=web/archive/' +
        '20260102T030405678Z-111122223333-eu-west-1-scheduler-cs-web.yaml`',
    );
  });
});
