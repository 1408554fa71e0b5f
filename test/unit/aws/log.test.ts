import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { PROJECT_ROOT } from '#local/python-env';

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Runs test/fixtures/log-lines.ts SCENARIO in a fresh process; answers its stdout and stderr lines, parsed. */
async function logLines(scenario: string, env: Record<string, string> = {}) {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import=tsx', join(PROJECT_ROOT, 'test', 'fixtures', 'log-lines.ts'), scenario],
    { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, ...env } },
  );
  const parsed = (text: string) =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const { timestamp, ...rest } = JSON.parse(line) as { timestamp: string };
        expect(timestamp).to.match(ISO_TIME);
        return rest;
      });
  return { stdout: parsed(stdout), stderr: parsed(stderr) };
}

const SERVICE = { service: 'clonesquad-backup-cmdb', sampling_rate: 0 };

describe('structured logs (Powertools Logger)', function () {
  this.timeout(30_000);

  it('writes one JSON object per line: info on stdout, warn and error on stderr, below LOG_LEVEL dropped', async () => {
    const lines = await logLines('levels');

    expect(lines).to.deep.equal({
      stdout: [{ level: 'INFO', message: 'shown at the level the process started with', ...SERVICE, part: 'schedule' }],
      stderr: [
        { level: 'WARN', message: 'a warning', ...SERVICE, table: 'CloneSquad-demo-Configuration' },
        { level: 'ERROR', message: 'an error', ...SERVICE, records: 0 },
      ],
    });
  });

  it('honours LOG_LEVEL in any case, and when it changes after the module is loaded', async () => {
    const lines = await logLines('levels', { LOG_LEVEL: 'Warn' });

    expect(lines).to.deep.equal({
      stdout: [],
      stderr: [
        { level: 'WARN', message: 'a warning', ...SERVICE, table: 'CloneSquad-demo-Configuration' },
        { level: 'ERROR', message: 'an error', ...SERVICE, records: 0 },
      ],
    });
  });

  it('withLambdaContext adds the request id and cold start (true only on the first invocation) to each line', async () => {
    // Lambda sets AWS_LAMBDA_INITIALIZATION_TYPE; without it, no invocation is a cold start.
    const lines = await logLines('invocations', { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' });

    const invocation = (n: number, coldStart: boolean) => ({
      level: 'INFO',
      message: `invocation ${n}`,
      service: 'clonesquad-backup-cmdb',
      cold_start: coldStart,
      function_arn: 'arn:aws:lambda:eu-west-1:123456789012:function:clonesquad-backup-cmdb-local-summarize',
      function_memory_size: '256',
      function_name: 'clonesquad-backup-cmdb-local-summarize',
      function_request_id: `request-${n}`,
      sampling_rate: 0,
      n,
    });
    expect(lines).to.deep.equal({ stdout: [invocation(1, true), invocation(2, false)], stderr: [] });
  });

  it('withLambdaContext leaves the lines as they are when the handler is called without a context', async () => {
    const lines = await logLines('no-context');

    expect(lines).to.deep.equal({
      stdout: [{ level: 'INFO', message: 'invocation 1', ...SERVICE, n: 1 }],
      stderr: [],
    });
  });
});
