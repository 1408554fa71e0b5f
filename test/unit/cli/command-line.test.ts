import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { PROJECT_ROOT } from '#local/python-env';
import { run } from '#cli/main';

/** `clonesquad-backup ARGS` in a child process: its exit code, stdout and stderr. */
async function bin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin', 'clonesquad-backup'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

/** `clonesquad-backup ARGS` in this process: its exit code, and its stdout and stderr lines. */
async function inProcess(args: string[], env: Record<string, string> = {}) {
  const [stdout, stderr]: string[][] = [[], []];
  const code = await run(args, { print: (line) => stdout.push(line), stderr: (line) => stderr.push(line), env });
  return { code, stdout, stderr };
}

/** Every command, as typed after the program's name, and the options it cannot do without. */
const COMMANDS: [string[], string[]][] = [
  [[], []],
  [['local'], []],
  [['query'], []],
  [['restore'], ['--group', 'g', '--table', 'configuration', '--from', 'latest']],
  [['backups'], []],
  [
    ['backups', 'list'],
    ['--group', 'g'],
  ],
  [['policies'], []],
  [['package'], []],
  [['generate'], []],
  [['generate', 'ddl'], []],
  [['bench'], []],
  [['publish'], ['--regions', 'eu-west-1']],
];

describe('clonesquad-backup, the command line', function () {
  this.timeout(60_000);

  describe('every command answers --help with exit 0 and a wrong flag with exit 2 (the bin, spawned)', () => {
    for (const [command, required] of COMMANDS) {
      const name = ['clonesquad-backup', ...command].join(' ');

      it(`${name}`, async () => {
        const [help, wrong] = await Promise.all([
          bin([...command, '--help']),
          bin([...command, ...required, '--no-such-flag']),
        ]);

        expect(help.stdout.split('\n')[0]).to.match(new RegExp(`^Usage: ${name} \\[options\\]`));
        expect({ code: help.code, stderr: help.stderr }).to.deep.equal({ code: 0, stderr: '' });
        expect(wrong).to.deep.equal({
          code: 2,
          stdout: '',
          stderr: `error: unknown option '--no-such-flag'\n(${name} --help shows the usage)\n`,
        });
      });
    }
  });

  describe('exit codes', () => {
    it('2 for a missing option or argument, an unknown command or value, with the problem and the hint', async () => {
      expect(await inProcess(['restore', '--group', 'g', '--table', 'configuration'])).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: [
          "error: required option '--from <source>' not specified",
          '(clonesquad-backup restore --help shows the usage)',
        ],
      });
      expect(await inProcess(['generate', 'ddl'])).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: [
          "error: missing required argument 's3-path'",
          '(clonesquad-backup generate ddl --help shows the usage)',
        ],
      });
      expect(await inProcess(['restor'])).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: [
          "error: unknown command 'restor'\n(Did you mean restore?)",
          '(clonesquad-backup --help shows the usage)',
        ],
      });
      expect(await inProcess(['local', '--output', 'csv'])).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: [
          "error: option '--output <format>' argument 'csv' is invalid. Allowed choices are table, json.",
          '(clonesquad-backup local --help shows the usage)',
        ],
      });
    });

    it('2 for bad usage found once parsed: no SQL to run, an argument only --from archive takes', async () => {
      expect(await inProcess(['query'])).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: [
          'error: give a SQL statement, or a saved query with --saved NAME',
          '(clonesquad-backup query --help shows the usage)',
        ],
      });
      const restore = ['restore', '--group', 'g', '--table', 'scheduler', '--from', 'latest', 'extra'];
      expect(await inProcess(restore)).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: [
          'error: unexpected argument "extra" (only --from archive takes a STAMP after it)',
          '(clonesquad-backup restore --help shows the usage)',
        ],
      });
    });

    it('takes SQL that starts with a comment for SQL, and a word without spaces for an unknown option', async () => {
      const empty = await inProcess(['query', '--out', '/nonexistent-out', '-- all instances\nSELECT 1']);
      expect(empty.code, 'the SQL reached the engine, which finds no export there').to.equal(1);
      expect(empty.stderr[0]).to.match(/^error: --out \/nonexistent-out: it holds no metadata exported/);
      expect(await inProcess(['query', '--bogus', 'SELECT 1'])).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: ["error: unknown option '--bogus'", '(clonesquad-backup query --help shows the usage)'],
      });
    });

    it('2 for bad input (UserInputError), with its message', async () => {
      const jsonProblem = (() => {
        try {
          return JSON.parse('{');
        } catch (error) {
          return (error as Error).message;
        }
      })();
      expect(await inProcess(['local', '--input', '{'])).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: [`error: --input: it is not valid JSON (${jsonProblem}). Fix: pass a JSON object, for example '{}'`],
      });
      expect(
        await inProcess(['restore', '--group', 'g', '--table', 'scheduler', '--from', 'latest', '--mode', 'x']),
      ).to.deep.equal({
        code: 2,
        stdout: [],
        stderr: ['error: --mode "x": it is not a restore mode. Fix: use merge or restore'],
      });
    });

    it('2 for a backups list --limit or --since it cannot read, naming the flag and the fix, before any AWS call', async () => {
      const list = ['backups', 'list', '--group', 'g'];
      const limitFix =
        'Fix: pass a whole number above 0, e.g. --limit 10 (the newest 10 of each table), or leave it out for all';
      const sinceFix =
        'Fix: pass a UTC date or a date-time with its zone, e.g. --since 2024-06-01 or --since 2024-06-01T10:00:00Z';
      for (const [value, problem] of [
        ['0', 'it is not a whole number above 0'],
        ['-3', 'it is not a whole number above 0'],
        ['2.5', 'it is not a whole number above 0'],
        ['ten', 'it is not a whole number above 0'],
      ]) {
        expect(await inProcess([...list, '--limit', value]), value).to.deep.equal({
          code: 2,
          stdout: [],
          stderr: [`error: --limit "${value}": ${problem}. ${limitFix}`],
        });
      }
      for (const value of ['yesterday', '2024-06-01T10:00:00', '2024-13-01', '2024-02-30', '']) {
        expect(await inProcess([...list, '--since', value]), value).to.deep.equal({
          code: 2,
          stdout: [],
          stderr: [
            `error: --since "${value}": it is neither a date (YYYY-MM-DD, UTC) nor an ISO 8601 date-time with a zone. ${sinceFix}`,
          ],
        });
      }
    });

    it('1 when the operation fails (the endpoint cannot be reached), with its error', async () => {
      const result = await inProcess(['backups', 'list', '--group', 'g', '--s3-path', 's3://my-bucket/p'], {
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'x',
      });

      expect({ code: result.code, stdout: result.stdout }).to.deep.equal({ code: 1, stdout: [] });
      expect(result.stderr).to.deep.equal(['error: connect ECONNREFUSED 127.0.0.1:9']);
    });

    it('0 once done, the results on stdout', async () => {
      const result = await inProcess(['generate', 'ddl', 's3://my-bucket/clonesquad', '--database', 'cmdb']);

      expect({ code: result.code, stderr: result.stderr }).to.deep.equal({ code: 0, stderr: [] });
      expect(result.stdout[0].split('\n')[0]).to.equal('CREATE DATABASE IF NOT EXISTS `cmdb`;');
    });
  });
});
