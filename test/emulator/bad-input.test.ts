/**
 * Bad input: every input an operator supplies, given wrong, is refused or reported
 * with one exact message naming the input, the problem and the fix. A deployment parameter is
 * refused at package time and at run time with the identical text. README "Troubleshooting" lists
 * these messages.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { S3Client } from '@aws-sdk/client-s3';
import { checkParameterNames, PARAMETERS, resolveParameters, type RawParameters } from '#infra/deployment-config';
import { packageService, type PackageResult } from '#local/package';
import { applyGroupSeed, parseSeed } from '#local/seed';
import { defaultTableNames, ENVIRONMENT, requireDestination, settingsFromEnvironment } from '#shared/run/deployment';
import { clientSettings } from '#shared/aws/clients';
import { dynamoDbItemBytes } from '#shared/aws/dynamodb-item-size';
import { userMetadataFields } from '#shared/metadata/discovery';
import { checkRestorable, loadBackup } from '#shared/restore/restore';
import { parseS3Path } from '#shared/aws/s3-path';
import { quoteInput } from '#shared/aws/errors';
import type { PartResult } from '#shared/run/summary';
import { exportTable } from '#shared/backup/table-export';
import { loadBackupYaml } from '#shared/backup/yaml-codec';
import { createBucket, emulatorClients, uniqueName } from '#test/support/aws';
import { createTable, tableItem, testDeployment } from '#test/support/backup-fixtures';

/** The clients a seed needs besides DynamoDB, on the emulator. */
function awsClientsOf() {
  return {
    ec2: new EC2Client(clientSettings()),
    ssm: new SSMClient(clientSettings()),
    cloudformation: new CloudFormationClient(clientSettings()),
    organizations: new OrganizationsClient(clientSettings()),
  };
}

/** The message `action` throws; fails when it does not throw. */
function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the action to throw');
}

/** The message `resolveParameters` (package time) gives for one bad parameter of an otherwise valid set. */
function atPackageTime(parameters: RawParameters): string {
  return messageOf(() => resolveParameters({ groupName: 'web', ...parameters }));
}

/** The message the functions give at run time, reading the same value from their environment. */
function atRunTime(variables: Record<string, string>): string {
  return messageOf(() =>
    settingsFromEnvironment({
      [ENVIRONMENT.groupName]: 'web',
      [ENVIRONMENT.accountId]: '111122223333',
      [ENVIRONMENT.region]: 'eu-west-1',
      ...variables,
    }),
  );
}

/** input: problem. Fix: fix — on one line, so it reads the same in a summary, a log or a terminal. */
const MESSAGE_SHAPE = /^[^\n]+: [^\n]+\. Fix: [^\n]+$/;

function expectClear(message: string, expected: string): void {
  expect(message).to.equal(expected);
  expect(message).to.match(MESSAGE_SHAPE);
}

const GROUP_FIX = 'Fix: deploy with the GroupName of the CloneSquad deployment this service runs beside';
const BUCKET_FIX = 'Fix: name an existing S3 bucket, for example s3://my-bucket/clonesquad';
const KMS_FIX =
  'Fix: give the key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias, or leave it empty for the bucket default';
/** DynamoDB's item size limit. */
const MAX_ITEM_BYTES = 400 * 1024;
const RESTORE_FIX = 'Fix: restore from a backup file this service wrote, or a mapping of "Key: Value" strings';

describe('bad input: clear messages', () => {
  describe('deployment parameters, same message at package time and at run time', () => {
    const pairs: { title: string; parameter: RawParameters; variable: Record<string, string>; expected: string }[] = [
      {
        title: 'MetadataAndBackupS3Path given as an https:// URL',
        parameter: { metadataAndBackupS3Path: 'https://my-bucket.s3.amazonaws.com/clonesquad' },
        variable: { [ENVIRONMENT.destination]: 'https://my-bucket.s3.amazonaws.com/clonesquad' },
        expected:
          'MetadataAndBackupS3Path "https://my-bucket.s3.amazonaws.com/clonesquad": it is not an s3:// URL. ' +
          'Fix: give it as s3://bucket or s3://bucket/prefix, for example s3://my-bucket/clonesquad',
      },
      {
        title: 'MetadataAndBackupS3Path without the s3:// scheme',
        parameter: { metadataAndBackupS3Path: 'my-bucket/clonesquad' },
        variable: { [ENVIRONMENT.destination]: 'my-bucket/clonesquad' },
        expected:
          'MetadataAndBackupS3Path "my-bucket/clonesquad": it is not an s3:// URL. ' +
          'Fix: give it as s3://bucket or s3://bucket/prefix, for example s3://my-bucket/clonesquad',
      },
      {
        title: 'MetadataAndBackupS3Path without a bucket',
        parameter: { metadataAndBackupS3Path: 's3:///clonesquad' },
        variable: { [ENVIRONMENT.destination]: 's3:///clonesquad' },
        expected: `MetadataAndBackupS3Path "s3:///clonesquad": the bucket name "" is missing. ${BUCKET_FIX}`,
      },
      {
        title: 'MetadataAndBackupS3Path with an invalid bucket name',
        parameter: { metadataAndBackupS3Path: 's3://My_Bucket/clonesquad' },
        variable: { [ENVIRONMENT.destination]: 's3://My_Bucket/clonesquad' },
        expected:
          'MetadataAndBackupS3Path "s3://My_Bucket/clonesquad": the bucket name "My_Bucket" may hold only ' +
          'lower-case letters, digits, dots and hyphens, and must begin and end with a letter or digit. ' +
          BUCKET_FIX,
      },
      {
        title: 'MetadataAndBackupS3Path with a ".." segment',
        parameter: { metadataAndBackupS3Path: 's3://my-bucket/a/../b' },
        variable: { [ENVIRONMENT.destination]: 's3://my-bucket/a/../b' },
        expected:
          'MetadataAndBackupS3Path "s3://my-bucket/a/../b": the prefix contains a "." or ".." segment. ' +
          'Fix: write the prefix without relative segments',
      },
      {
        title: 'MetadataAndBackupS3Path with a control character (NUL) in the prefix',
        parameter: { metadataAndBackupS3Path: 's3://my-bucket/clone\u0000squad' },
        variable: { [ENVIRONMENT.destination]: 's3://my-bucket/clone\u0000squad' },
        expected:
          'MetadataAndBackupS3Path "s3://my-bucket/clone\\u0000squad": the prefix holds the control character ' +
          'U+0000, which S3 advises against in keys (its XML listings cannot return most of them). Fix: remove it from ' +
          'the prefix',
      },
      {
        title: 'MetadataAndBackupS3Path with a control character (DEL) in the prefix',
        parameter: { metadataAndBackupS3Path: 's3://my-bucket/a/b\u007f' },
        variable: { [ENVIRONMENT.destination]: 's3://my-bucket/a/b\u007f' },
        expected:
          'MetadataAndBackupS3Path "s3://my-bucket/a/b\\u007f": the prefix holds the control character U+007F, ' +
          'which S3 advises against in keys (its XML listings cannot return most of them). Fix: remove it from the prefix',
      },
      {
        title: 'GroupName with "/"',
        parameter: { groupName: 'web/prod' },
        variable: { [ENVIRONMENT.groupName]: 'web/prod' },
        expected:
          'GroupName "web/prod": the name may hold only letters, digits, "_", "." and "-", and must begin with a ' +
          `letter or digit. ${GROUP_FIX}`,
      },
      {
        title: 'GroupName with ".."',
        parameter: { groupName: 'web..prod' },
        variable: { [ENVIRONMENT.groupName]: 'web..prod' },
        expected: `GroupName "web..prod": the name must not contain "..". ${GROUP_FIX}`,
      },
      {
        title: 'GroupName with a space',
        parameter: { groupName: 'web prod' },
        variable: { [ENVIRONMENT.groupName]: 'web prod' },
        expected:
          'GroupName "web prod": the name may hold only letters, digits, "_", "." and "-", and must begin with a ' +
          `letter or digit. ${GROUP_FIX}`,
      },
      {
        title: 'GroupName over 64 characters',
        parameter: { groupName: 'g'.repeat(65) },
        variable: { [ENVIRONMENT.groupName]: 'g'.repeat(65) },
        expected: `GroupName "${'g'.repeat(65)}": the name is 65 characters long, more than 64. ${GROUP_FIX}`,
      },
      {
        title: 'TimeZone that is not an IANA zone',
        parameter: { timeZone: 'Europe/Pariss' },
        variable: { [ENVIRONMENT.timeZone]: 'Europe/Pariss' },
        expected: 'TimeZone "Europe/Pariss": it is not an IANA time zone. Fix: give a zone such as UTC or Europe/Paris',
      },
      {
        title: 'KmsKeyArn given as a key alias',
        parameter: { kmsKeyArn: 'alias/clonesquad' },
        variable: { [ENVIRONMENT.kmsKeyArn]: 'alias/clonesquad' },
        expected: `KmsKeyArn "alias/clonesquad": it is not the ARN of a KMS key. ${KMS_FIX}`,
      },
      {
        title: 'KmsKeyArn given as an alias ARN',
        parameter: { kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:alias/clonesquad' },
        variable: { [ENVIRONMENT.kmsKeyArn]: 'arn:aws:kms:eu-west-1:111122223333:alias/clonesquad' },
        expected:
          'KmsKeyArn "arn:aws:kms:eu-west-1:111122223333:alias/clonesquad": it is not the ARN of a KMS key. ' + KMS_FIX,
      },
    ];
    for (const { title, parameter, variable, expected } of pairs) {
      it(title, () => {
        const packageTime = atPackageTime(parameter);
        expectClear(packageTime, expected);
        expect(atRunTime(variable), 'run time').to.equal(packageTime);
      });
    }

    it('MetadataAndBackupS3Path: the run-time parser is the one the package uses', () => {
      expect(messageOf(() => parseS3Path('s3://ab'))).to.equal(atPackageTime({ metadataAndBackupS3Path: 's3://ab' }));
    });
  });

  describe('deployment parameters, at package time', () => {
    it('a parameter of a single-group deployment without GroupName (an all-groups deployment)', () => {
      expectClear(
        messageOf(() => resolveParameters({ cloneSquadStackName: 'MyCloneSquad-web', schedulerTable: 'Sched' })),
        'CloneSquadStackName, SchedulerTable: only a single-group deployment takes it: with GroupName empty, the ' +
          "deployment serves every CloneSquad group of its account and region and reads each group's stack and " +
          'tables from CloudFormation. Fix: set GroupName to serve one group, or leave these parameters out',
      );
      expect(resolveParameters({}).groupName).to.equal(undefined);
    });

    it('an unknown (mistyped) parameter name', () => {
      expectClear(
        messageOf(() => checkParameterNames(['groupName', 'metadataAndBackupS3path'])),
        'deployment parameter "metadataAndBackupS3path": no such parameter. ' +
          `Fix: use one of ${Object.keys(PARAMETERS).join(', ')} (names are case-sensitive), as --param="name=value"`,
      );
    });

    it('UserSuppliedJSONMetadata that is not JSON (and the discovery warning when it reaches run time)', () => {
      expectClear(
        atPackageTime({ userSuppliedJSONMetadata: '{team: web}' }),
        "UserSuppliedJSONMetadata: it is not valid JSON (Expected property name or '}' in JSON at position 1). " +
          'Fix: give a JSON object, for example {"team":"web"}, or leave it empty',
      );
      // An existing CloneSquad stack's own UserSuppliedJSONMetadata is only read at run time.
      expect(userMetadataFields('{team: web}').warning).to.equal(
        "UserSuppliedJSONMetadata is not valid JSON (Expected property name or '}' in JSON at position 1): only its " +
          'raw text is written, without X- fields. Fix: redeploy with a JSON object, for example {"Owner": "team-a"}',
      );
    });

    it('UserSuppliedJSONMetadata that is JSON but not an object (and the discovery warning)', () => {
      expectClear(
        atPackageTime({ userSuppliedJSONMetadata: '["web"]' }),
        'UserSuppliedJSONMetadata: it is JSON but an array, not an object. ' +
          'Fix: give a JSON object, for example {"team":"web"}, or leave it empty',
      );
      expect(userMetadataFields('"web"').warning).to.equal(
        'UserSuppliedJSONMetadata is JSON but a string, not an object: only its raw text is written, without X- ' +
          'fields. Fix: redeploy with a JSON object, for example {"Owner": "team-a"}',
      );
    });

    it('a CloneSquadStackName CloudFormation refuses', () => {
      expectClear(
        atPackageTime({ cloneSquadStackName: 'CloneSquad_web' }),
        'CloneSquadStackName "CloneSquad_web": it is not a valid CloudFormation stack name. ' +
          'Fix: give the name of the CloneSquad stack (letters, digits and "-", starting with a letter)',
      );
    });

    for (const groupName of ['web.prod', 'web_prod']) {
      it(`a GroupName (${groupName}) whose derived CloneSquadStackName CloudFormation refuses, naming GroupName`, () => {
        expectClear(
          atPackageTime({ groupName }),
          `GroupName "${groupName}": the CloneSquadStackName derived from it, "CloneSquad-${groupName}", is not a ` +
            'valid CloudFormation stack name (letters, digits and "-", starting with a letter). Fix: set ' +
            "CloneSquadStackName to the name of the group's CloneSquad stack, or use a GroupName of letters, digits " +
            'and "-", the names CloneSquad documents ([A-Za-z0-9][-A-Za-z0-9]+, 2 to 40 characters)',
        );
        // Given explicitly, the stack name is checked as such, and the group name is fine.
        expect(resolveParameters({ groupName, cloneSquadStackName: 'CloneSquad-web-prod' }).groupName).to.equal(
          groupName,
        );
      });
    }

    describe('a MetadataAndBackupS3Path prefix that makes keys longer than the 1,024 bytes S3 allows', () => {
      // The longest key of a deployment of group "web": a 12-digit account, the longest region name.
      const longestKey = (prefix: string) =>
        `${prefix}/metadata/maintenance-windows/accountid=123456789012/region=us-isof-south-1/groupname=web/` +
        '123456789012-us-isof-south-1-maintenance-windows-cs-web.json.gz';
      const room = 1024 - Buffer.byteLength(longestKey(''), 'utf8');

      /** A prefix of `bytes` bytes of UTF-8, mostly two-byte characters. */
      const prefixOf = (bytes: number) => `${'é'.repeat(Math.floor(bytes / 2))}${bytes % 2 ? 'x' : ''}`;

      it('fits exactly, counted in UTF-8 bytes', () => {
        const prefix = prefixOf(room);
        expect(Buffer.byteLength(longestKey(prefix), 'utf8')).to.equal(1024);
        expect(
          resolveParameters({ groupName: 'web', metadataAndBackupS3Path: `s3://my-bucket/${prefix}` }).destination,
        ).to.deep.equal({ bucket: 'my-bucket', prefix });
      });

      it('a byte or two too many is refused, saying by how much to shorten the prefix', () => {
        for (const [over, by] of [
          [1, '1 byte'],
          [2, '2 bytes'],
        ] as const) {
          const prefix = prefixOf(room + over);
          expectClear(
            atPackageTime({ metadataAndBackupS3Path: `s3://my-bucket/${prefix}` }),
            `MetadataAndBackupS3Path ${quoteInput(`s3://my-bucket/${prefix}`)}: the longest key this deployment writes would be ` +
              `${1024 + over} bytes long in UTF-8 (with a 12-digit account id and the longest region name), more ` +
              `than the 1024 S3 allows. Fix: shorten the prefix by at least ${by}`,
          );
        }
      });
    });

    it('a GlueCrawlerName the catalog stack cannot have created: a space, "*", a control character, 256 characters', () => {
      const fix =
        "Fix: give the name of the crawler (the catalog stack's CrawlerName output), or leave it empty to start none";
      const rule = 'it is not a crawler name of the catalog stack (1 to 255 letters, digits, "_", "." or "-")';
      for (const [name, shown] of [
        ['bad name*', '"bad name*"'],
        ['clonesquad\u0000cmdb', '"clonesquad\\u0000cmdb"'],
        ['clonesquad\ncmdb', '"clonesquad\\ncmdb"'],
        ['c'.repeat(256), quoteInput('c'.repeat(256))],
      ]) {
        expectClear(atPackageTime({ glueCrawlerName: name }), `GlueCrawlerName ${shown}: ${rule}. ${fix}`);
      }
      expect(resolveParameters({ groupName: 'web', glueCrawlerName: 'c'.repeat(255) }).glueCrawlerName).to.equal(
        'c'.repeat(255),
      );
      expect(resolveParameters({ groupName: 'web', glueCrawlerName: 'org_cmdb.v2-crawler' }).glueCrawlerName).to.equal(
        'org_cmdb.v2-crawler',
      );
    });

    it('a ConfigurationTable name DynamoDB refuses', () => {
      expectClear(
        atPackageTime({ configurationTable: 'Config Table' }),
        'ConfigurationTable "Config Table": it is not a valid DynamoDB table name (3 to 255 letters, digits, ' +
          '"_", "-" or "."). Fix: give the name of the CloneSquad table, or leave it empty for the default',
      );
    });

    describe('through osls package, as an operator sees them', function () {
      this.timeout(120_000);
      const refusals: [string, RawParameters | null, PackageResult?][] = [
        ['--param=groupname=web', null],
        ['--param=timeZone=Mars/Olympus', { timeZone: 'Mars/Olympus' }],
        ['--param=kmsKeyArn=alias/clonesquad', { kmsKeyArn: 'alias/clonesquad' }],
        ['--param=userSuppliedJSONMetadata=[1]', { userSuppliedJSONMetadata: '[1]' }],
        ['--param=groupName=web.prod', { groupName: 'web.prod' }],
      ];

      before(async () => {
        // Refused while variables resolve, before any build: they can run side by side.
        const results = await Promise.all(refusals.map(([argument]) => packageService([argument])));
        results.forEach((result, index) => (refusals[index][2] = result));
      });

      for (const refusal of refusals) {
        it(`refuses ${refusal[0]} with the message of deploy/deployment-config.ts`, () => {
          const [, parameters, result] = refusal;
          const expected = parameters ? atPackageTime(parameters) : messageOf(() => checkParameterNames(['groupname']));
          expect(result!.status).to.not.equal(0);
          expect(result!.output).to.include(`UserInputError: ${expected}\n`);
        });
      }
    });
  });

  describe('at run time, against the emulator', () => {
    let dynamodb: DynamoDBClient;
    let s3: S3Client;
    let bucket: string;
    const run = { executionStartTime: '2024-06-01T10:00:00.000Z' };

    before(async () => {
      ({ dynamodb, s3 } = emulatorClients());
      bucket = await createBucket(s3);
    });

    function errorsOf(parts: PartResult[]): { part: string; status: string; message?: string }[] {
      return parts.map(({ part, status, error }) => ({ part, status, message: error?.message }));
    }

    it('MetadataAndBackupS3Path naming a bucket that does not exist: both parts of the table fail', async () => {
      const missing = uniqueName('no-such-bucket');
      const deployment = testDeployment({ bucket: missing });
      await createTable(dynamodb, [tableItem('a', '1')], deployment.tables.configuration);
      const parts = await exportTable({ dynamodb, s3 }, deployment, { table: 'configuration', ...run });
      const message =
        `MetadataAndBackupS3Path (bucket "${missing}"): the bucket does not exist. ` +
        'Fix: create the bucket or redeploy with MetadataAndBackupS3Path naming an existing one';
      expect(errorsOf(parts)).to.deep.equal([
        { part: 'backup/configuration', status: 'failed', message },
        { part: 'metadata/configuration', status: 'failed', message },
      ]);
      expect(message).to.match(MESSAGE_SHAPE);
    });

    for (const [table, parameter] of [
      ['configuration', 'ConfigurationTable'],
      ['scheduler', 'SchedulerTable'],
    ] as const) {
      it(`a missing ${table} table: both its parts fail, naming ${parameter}`, async () => {
        const deployment = testDeployment({ bucket });
        const parts = await exportTable({ dynamodb, s3 }, deployment, { table, ...run });
        const message =
          `${parameter} "${deployment.tables[table]}": no DynamoDB table of that name exists in this account and ` +
          `region. Fix: check that the CloneSquad deployment exists here, or redeploy with ${parameter} set to its ` +
          'table name';
        expect(errorsOf(parts)).to.deep.equal([
          { part: `backup/${table}`, status: 'failed', message },
          { part: `metadata/${table}`, status: 'failed', message },
        ]);
        expect(message).to.match(MESSAGE_SHAPE);
      });
    }

    it('a row whose Value is not a string: left out, with a warning in the summary naming the key', async () => {
      const deployment = testDeployment({ bucket });
      await createTable(
        dynamodb,
        [tableItem('kept', 'yes'), { Key: { S: 'ec2.schedule.min_instance_count' }, Value: { N: '2' } }],
        deployment.tables.configuration,
      );
      const [backup] = await exportTable({ dynamodb, s3 }, deployment, { table: 'configuration', ...run });
      expect(backup).to.deep.include({ status: 'ok', records: 1 });
      expect(backup.warnings).to.deep.equal([
        'skipped key "ec2.schedule.min_instance_count": its Value is a number (N), not a string; CloneSquad only reads ' +
          'string values. Fix: write the value again as a string (DynamoDB type S)',
      ]);
    });

    it('MetadataAndBackupS3Path empty (feature off): every part says how to turn it on', async () => {
      const deployment = { ...testDeployment({ bucket }), destination: null };
      await createTable(dynamodb, [], deployment.tables.scheduler);
      const message =
        'MetadataAndBackupS3Path: it is empty, so backups and metadata export are turned off. ' +
        'Fix: redeploy with MetadataAndBackupS3Path=s3://bucket[/prefix] to turn them on';
      expectClear(
        messageOf(() => requireDestination(deployment)),
        message,
      );
      const parts = await exportTable({ dynamodb, s3 }, deployment, { table: 'scheduler', ...run });
      expect(errorsOf(parts).map((part) => part.message)).to.deep.equal([message, message]);
    });
  });

  describe('restore documents (checked before anything is written)', () => {
    const source = 's3://my-bucket/clonesquad/backups/latest-configuration.yaml';

    it('a value that cannot fit in a DynamoDB item (400 KB)', () => {
      const rows = [
        { key: 'a', value: 'fits' },
        { key: 'app.note', value: 'x'.repeat(MAX_ITEM_BYTES) },
      ];
      expectClear(
        messageOf(() => checkRestorable(rows, source)),
        `${source}, key "app.note": the row would be 409616 bytes, more than the 400 KB a DynamoDB item may hold. ` +
          'Fix: shorten the value',
      );
    });

    it('a value that fits exactly is accepted, counted in UTF-8 bytes', () => {
      const value = 'é'.repeat((MAX_ITEM_BYTES - 'KeyabValue'.length) / 2);
      expect(() => checkRestorable([{ key: 'ab', value }], source)).to.not.throw();
      expect(() => checkRestorable([{ key: 'ab', value: `${value}x` }], source)).to.throw(/row would be 409601 bytes/);
    });

    it('a key over the 2048 bytes DynamoDB allows (shown clipped)', () => {
      expectClear(
        messageOf(() => checkRestorable([{ key: 'k'.repeat(2049), value: '1' }], source)),
        `${source}, key "${'k'.repeat(80)}"… (2049 characters): the key is 2049 bytes long in UTF-8, more than the ` +
          '2048 DynamoDB allows. Fix: shorten the key',
      );
    });

    it('an empty key', () => {
      expectClear(
        messageOf(() => checkRestorable([{ key: '', value: '1' }], source)),
        `${source}, key "": a table Key cannot be empty. Fix: remove that entry or give it a name`,
      );
    });

    describe('through the restore loader (npm run restore -- --from FILE)', () => {
      let folder: string;
      before(() => (folder = mkdtempSync(join(tmpdir(), 'bad-restore-'))));
      after(() => rmSync(folder, { recursive: true, force: true }));

      async function loadFile(name: string, text: string): Promise<string> {
        const path = join(folder, name);
        writeFileSync(path, text);
        const { s3 } = emulatorClients();
        return loadBackup(s3, { kind: 'file', path }).then(
          () => 'NO ERROR',
          (error: Error) => error.message,
        );
      }

      it('a file that is a sequence, not a mapping', async () => {
        const path = join(folder, 'list.yaml');
        expectClear(
          await loadFile('list.yaml', '- ec2.schedule.min_instance_count\n'),
          `${path}: its top level is not a mapping of keys to values. ${RESTORE_FIX}`,
        );
      });

      it('a file with a value over 400 KB', async () => {
        const path = join(folder, 'big.yaml');
        expectClear(
          await loadFile('big.yaml', `app.note: ${'x'.repeat(MAX_ITEM_BYTES)}\n`),
          `${path}, key "app.note": the row would be 409616 bytes, more than the 400 KB a DynamoDB item may hold. ` +
            'Fix: shorten the value',
        );
      });
    });

    it('a document that is a sequence, not a mapping', () => {
      expectClear(
        messageOf(() => loadBackupYaml('- a\n- b\n', source)),
        `${source}: its top level is not a mapping of keys to values. ${RESTORE_FIX}`,
      );
    });

    it('a document that is a lone scalar', () => {
      expectClear(
        messageOf(() => loadBackupYaml('just some text\n', source)),
        `${source}: its top level is not a mapping of keys to values. ${RESTORE_FIX}`,
      );
    });

    it('a document that is not YAML (one line, with its position)', () => {
      expectClear(
        messageOf(() => loadBackupYaml('a: "unterminated\n', source)),
        `${source}: it is not valid YAML (Missing closing "quote at line 2, column 1). ${RESTORE_FIX}`,
      );
    });

    it('a value YAML reads as a number', () => {
      expectClear(
        messageOf(() => loadBackupYaml('ec2.schedule.min_instance_count: 2\n', source)),
        `${source}, key "ec2.schedule.min_instance_count": its value 2 is not a string (YAML read it as number). ` +
          'Fix: quote it, for example "yes", "0755" or "10:30", so that it stays a string',
      );
    });
  });

  describe('seed files (npm run local --seed)', () => {
    const seed = (text: string) => messageOf(() => parseSeed(text, 'my-seed.yaml'));

    it('not a mapping', () => {
      expectClear(
        seed('- demo\n'),
        'seed file my-seed.yaml: it is not a mapping. Fix: write it as in local/sample-seed.yaml',
      );
    });

    it('not YAML', () => {
      expectClear(
        seed('groupName: "demo\n'),
        'seed file my-seed.yaml: it is not valid YAML (Missing closing "quote at line 2, column 1). ' +
          'Fix: fix the YAML syntax',
      );
    });

    it('an unknown section', () => {
      expectClear(
        seed('groupName: demo\nconfig: {}\n'),
        'seed file my-seed.yaml: "config" is not a known section. ' +
          'Fix: use only groupName, region, configuration, scheduler, instances, maintenanceWindows, stack, ' +
          'missingTables, organization',
      );
    });

    it('a table value that is not a string', () => {
      expectClear(
        seed('groupName: demo\nconfiguration:\n  ec2.schedule.min_instance_count: 2\n'),
        'seed file my-seed.yaml, section configuration, key "ec2.schedule.min_instance_count": its value 2 is not ' +
          'a string. Fix: quote it, for example "2" or "yes"',
      );
    });

    it('a table value over 400 KB, refused before the emulator is touched', () => {
      expectClear(
        seed(`groupName: demo\nscheduler:\n  big: "${'x'.repeat(MAX_ITEM_BYTES)}"\n`),
        'seed file my-seed.yaml, section scheduler, key "big": the row would be 409611 bytes, more than the 400 KB a ' +
          'DynamoDB item may hold. Fix: shorten the value',
      );
    });

    it('a GroupName the service refuses, with the deployment message', () => {
      expect(seed('groupName: web/prod\n')).to.equal(atPackageTime({ groupName: 'web/prod' }));
    });

    describe("a table row over the local emulator's item size limit, lower than DynamoDB's", () => {
      /** The row `big` of `bytes` bytes as DynamoDB counts them (names and values in UTF-8). */
      const bigRow = (bytes: number) => tableItem('big', 'x'.repeat(bytes - 'KeybigValue'.length));
      const seedOf = (bytes: number, groupName = 'demo') =>
        `groupName: ${groupName}\nscheduler:\n  big: "${bigRow(bytes).Value.S!}"\n  small: "1"\n`;
      let dynamodb: DynamoDBClient;
      before(() => ({ dynamodb } = emulatorClients()));

      it('the emulator (moto) takes 405,000 bytes and refuses 405,001 naming no key, below the 409,600 of DynamoDB', async () => {
        expect(dynamoDbItemBytes(bigRow(405_000))).to.equal(405_000);
        const table = await createTable(dynamodb, [bigRow(405_000)]);
        const over = await dynamodb.send(new PutItemCommand({ TableName: table, Item: bigRow(405_001) })).then(
          () => 'accepted',
          (error: Error) => error.message,
        );
        expect(over).to.equal('Item size has exceeded the maximum allowed size');
      });

      it('a seed row of 405,000 bytes is accepted and written to the emulator', async () => {
        const [group] = parseSeed(seedOf(405_000, uniqueName('big')), 'my-seed.yaml').groups;
        const tableNames = defaultTableNames(group.groupName);
        const { ec2, ssm, cloudformation, organizations } = awsClientsOf();
        await applyGroupSeed({ dynamodb, ec2, ssm, cloudformation, organizations }, group);
        const { Item } = await dynamodb.send(
          new GetItemCommand({ TableName: tableNames.scheduler, Key: { Key: { S: 'big' } }, ConsistentRead: true }),
        );
        expect(Item?.Value.S?.length).to.equal(405_000 - 'KeybigValue'.length);
      });

      it('a seed row of 405,001 bytes is refused before the emulator is touched, naming its key', () => {
        expectClear(
          seed(seedOf(405_001)),
          'seed file my-seed.yaml, section scheduler, key "big": the row would be 405001 bytes, more than the ' +
            '405000 the local emulator (moto) accepts in an item (DynamoDB itself takes 409600). Fix: shorten the value',
        );
      });
    });
  });
});
