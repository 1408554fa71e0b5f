import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { UserInputError } from '#shared/aws/errors';
import { PROJECT_ROOT } from '#local/python-env';
import { awsClientSettings, resolveRegion } from '#cli/aws-options';

const CONFIG = `[default]
region = eu-west-3

[profile ops]
region = ap-southeast-2

[profile no-region]
output = json
`;
const CREDENTIALS = `[ops]
aws_access_key_id = AKIAOPS
aws_secret_access_key = ops-secret

[keys-only]
aws_access_key_id = AKIAKEYS
aws_secret_access_key = keys-secret
`;

/** Turns off the AWS SDK's warning that its releases of 2027 need Node 22: not what these tests look at. */
const SDK_QUIET = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** A home folder holding ~/.aws/config and ~/.aws/credentials, as `aws configure` writes them. */
function awsHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'aws-home-'));
  mkdirSync(join(home, '.aws'));
  writeFileSync(join(home, '.aws', 'config'), CONFIG);
  writeFileSync(join(home, '.aws', 'credentials'), CREDENTIALS);
  return home;
}

describe('--region and --profile, as the AWS CLI resolves them', () => {
  let home: string;
  /** The environment of a shell whose home is {@link home}, with the variables given. */
  let env: (variables?: Record<string, string>) => Record<string, string>;
  before(() => {
    home = awsHome();
    env = (variables = {}) => ({
      AWS_CONFIG_FILE: join(home, '.aws', 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
      ...variables,
    });
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('takes --region first, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile in effect', async () => {
    const both = { AWS_REGION: 'us-east-2', AWS_DEFAULT_REGION: 'us-west-1' };

    expect(await resolveRegion({ region: 'eu-north-1', profile: 'ops' }, env(both))).to.equal('eu-north-1');
    expect(await resolveRegion({ profile: 'ops' }, env(both))).to.equal('us-east-2');
    expect(await resolveRegion({ profile: 'ops' }, env({ AWS_DEFAULT_REGION: 'us-west-1' }))).to.equal('us-west-1');
    expect(await resolveRegion({ profile: 'ops' }, env())).to.equal('ap-southeast-2');
    expect(await resolveRegion({}, env({ AWS_PROFILE: 'ops' }))).to.equal('ap-southeast-2');
    expect(await resolveRegion({}, env())).to.equal('eu-west-3');
  });

  it('refuses to run without a region, naming where it looked and the fix', async () => {
    const error = await resolveRegion({ profile: 'no-region' }, env()).catch((caught: Error) => caught);

    expect(error).to.be.instanceOf(UserInputError);
    expect((error as Error).message).to.equal(
      `--region: it is not given, and neither AWS_REGION, AWS_DEFAULT_REGION nor --profile "no-region" in ` +
        `${join(home, '.aws', 'config')} names a region. Fix: pass --region, for example --region eu-west-1, or set ` +
        "the profile's region with aws configure set region eu-west-1 --profile no-region",
    );
  });

  it('finds a profile of the credentials file too, and refuses one neither file defines', async () => {
    const keysOnly = await resolveRegion({ profile: 'keys-only' }, env()).catch((caught: Error) => caught);
    const unknown = await resolveRegion({}, env({ AWS_PROFILE: 'nope' })).catch((caught: Error) => caught);

    expect((keysOnly as Error).message).to.match(/^--region: it is not given, and neither .* "keys-only" in /);
    expect(unknown).to.be.instanceOf(UserInputError);
    expect((unknown as Error).message).to.equal(
      `AWS_PROFILE "nope": no such profile in ${join(home, '.aws', 'config')} or ` +
        `${join(home, '.aws', 'credentials')}. Fix: check the name (aws configure list-profiles lists them), or ` +
        'create it with aws configure --profile nope',
    );
  });

  it('refuses a region that is not a region name, naming where it came from', async () => {
    const error = await resolveRegion({}, env({ AWS_DEFAULT_REGION: 'Europe' })).catch((caught: Error) => caught);

    expect((error as Error).message).to.equal(
      'AWS_DEFAULT_REGION "Europe": it is not an AWS region name. Fix: write it like eu-west-1',
    );
  });

  it("gives clients the profile's credentials over those of the environment, and keeps AWS_ENDPOINT_URL", async () => {
    const environment = env({
      AWS_ACCESS_KEY_ID: 'AKIAENV',
      AWS_SECRET_ACCESS_KEY: 'env-secret',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });

    const withProfile = await awsClientSettings({ profile: 'ops' }, environment);
    const withoutProfile = await awsClientSettings({ region: 'eu-west-1' }, environment);

    expect(withProfile.region).to.equal('ap-southeast-2');
    expect(withProfile.endpoint).to.equal('http://127.0.0.1:9');
    expect(await withProfile.credentials!()).to.deep.include({
      accessKeyId: 'AKIAOPS',
      secretAccessKey: 'ops-secret',
    });
    expect(withoutProfile.credentials, 'the SDK default chain').to.equal(undefined);
  });

  describe('through the command line, with HOME holding ~/.aws', function () {
    this.timeout(30_000);

    /** `clonesquad-backup restore` of a missing file, which stops right after the region is resolved. */
    async function restoreMissingFile(variables: Record<string, string>, args: string[] = []) {
      const command = ['restore', '--group', 'demo', '--table', 'configuration', '--from', '/nonexistent.yaml'];
      return promisify(execFile)(
        process.execPath,
        [join(PROJECT_ROOT, 'bin', 'clonesquad-backup'), ...command, ...args],
        {
          cwd: PROJECT_ROOT,
          env: {
            PATH: process.env.PATH,
            HOME: home,
            AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
            ...SDK_QUIET,
            ...variables,
          },
        },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          stdout: error.stdout,
          stderr: error.stderr,
        }),
      );
    }
    const noSuchFile =
      'error: --from /nonexistent.yaml: no such file exists. Fix: give s3://bucket/key, the path of a local file, ' +
      'latest, or archive STAMP (npm run backups -- list shows the stamps)\n';

    it('runs with the region of ~/.aws/config', async () => {
      expect(await restoreMissingFile({})).to.deep.equal({ code: 2, stdout: '', stderr: noSuchFile });
    });

    it('refuses to run with no region anywhere, exit 2', async () => {
      expect(await restoreMissingFile({ HOME: join(home, 'nowhere') })).to.deep.equal({
        code: 2,
        stdout: '',
        stderr:
          'error: --region: it is not given, and neither AWS_REGION, AWS_DEFAULT_REGION nor profile "default" in ' +
          '~/.aws/config names a region. Fix: pass --region, for example --region eu-west-1, or set the ' +
          "profile's region with aws configure set region eu-west-1 --profile default\n",
      });
    });

    it('refuses an unknown --profile, exit 2', async () => {
      expect(await restoreMissingFile({}, ['--profile', 'nope'])).to.deep.equal({
        code: 2,
        stdout: '',
        stderr:
          'error: --profile "nope": no such profile in ~/.aws/config or ~/.aws/credentials. Fix: check the name ' +
          '(aws configure list-profiles lists them), or create it with aws configure --profile nope\n',
      });
    });
  });
});
