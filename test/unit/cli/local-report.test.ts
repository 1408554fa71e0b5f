import { expect } from 'chai';
import type { ExecutionSummary } from '#shared/run/summary';
import type { WorkflowRun } from '#local/workflow';
import { cmdbQueryCommand, formatCmdbView, formatExecution, formatParts } from '#cli/local';

const SUMMARY: ExecutionSummary = {
  status: 'failed',
  groupName: 'demo',
  executionStartTime: '2024-06-01T10:00:00.123Z',
  counts: { ok: 2, failed: 1, skipped: 1 },
  parts: [
    { part: 'backup/configuration', status: 'ok', keys: ['k'], records: 16, bytes: 715 },
    {
      part: 'metadata/instances',
      status: 'failed',
      error: { name: 'AccessDenied', message: 'ec2:DescribeInstances\nis not allowed' },
    },
    { part: 'catalog', status: 'skipped', reason: 'no new partition' },
    {
      part: 'metadata/maintenance-windows',
      status: 'ok',
      records: 3,
      bytes: 615,
      reason: 'exported',
      warnings: ['window a ignored', 'window b ignored'],
    },
  ],
  message: 'demo: 2 ok, 1 failed, 1 skipped; metadata/instances: ec2:DescribeInstances is not allowed',
};

const run = (fields: Partial<WorkflowRun>): WorkflowRun => ({ status: 'SUCCEEDED', events: [], ...fields });

describe('what a local run prints', () => {
  it('one line per part, its note (error, else first warning, else reason) cut to what the width leaves', () => {
    expect(formatParts(SUMMARY, 80)).to.deep.equal([
      'PART                          STATUS   RECORDS  BYTES  NOTE',
      'backup/configuration          ok            16    715',
      'metadata/instances            failed                   AccessDenied: ec2:Descri…',
      'catalog                       skipped                  no new partition',
      'metadata/maintenance-windows  ok             3    615  2 warnings, first: windo…',
    ]);
  });

  it('then the status, with the summary message, or the error of an execution that failed before any part', () => {
    const partsFailed = run({ status: 'FAILED', summary: SUMMARY, error: { name: 'PartsFailed', message: '{…}' } });
    const invalidInput = run({
      status: 'FAILED',
      error: { name: 'InvalidInput', message: 'execution input field "tables": no such field' },
    });

    expect(formatExecution(partsFailed, 80).slice(5)).to.deep.equal([
      'Execution FAILED: demo: 2 ok, 1 failed, 1 skipped; metadata/instances: ec2:DescribeInstances is not allowed',
    ]);
    expect(formatExecution(invalidInput, 80)).to.deep.equal([
      'Execution FAILED: InvalidInput: execution input field "tables": no such field',
    ]);
  });

  it('the CMDB view cut to a screen, then how many rows are left and the command that prints them', () => {
    const cmdb = {
      columns: ['Hostname', 'Region'],
      rows: [
        ['web-1', 'eu-west-1'],
        ['web-2', 'eu-west-1'],
        [null, 'us-east-1'],
      ],
    };
    const command = 'npm run query -- "SELECT * FROM displayallhostnames"';

    expect(formatCmdbView(cmdb, command, 2)).to.deep.equal([
      'SELECT * FROM displayallhostnames:',
      'Hostname | Region',
      '---------+----------',
      'web-1    | eu-west-1',
      'web-2    | eu-west-1',
      `… 1 more row: ${command}`,
    ]);
    expect(formatCmdbView(cmdb, command, 3).slice(-2)).to.deep.equal(['NULL     | us-east-1', '(3 rows)']);
  });

  it('names --out and --s3-path in that command when they are not the defaults, quoted for a shell', () => {
    const options = { seed: 'seed.yaml', input: '{}', output: 'table' as const };

    expect(cmdbQueryCommand({ ...options, out: '.local', s3Path: 's3://clonesquad-cmdb-local/clonesquad' })).to.equal(
      'npm run query -- "SELECT * FROM displayallhostnames"',
    );
    expect(cmdbQueryCommand({ ...options, out: 'my out', s3Path: 's3://b-1/p' })).to.equal(
      'npm run query -- --out "my out" --s3-path s3://b-1/p "SELECT * FROM displayallhostnames"',
    );
    expect(cmdbQueryCommand({ ...options, out: "it's $HOME", s3Path: 's3://b-1/p' })).to.equal(
      `npm run query -- --out 'it'\\''s $HOME' --s3-path s3://b-1/p "SELECT * FROM displayallhostnames"`,
    );
  });
});
