/**
 * `npm run local`'s program run as a child process (its own emulator, not the tests'), and what it
 * leaves in its --out folder: the executions of `last-execution.json` and the saved bucket. Tests
 * read these rather than what it prints, whose layout is for people.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { expect } from 'chai';
import { PROJECT_ROOT } from '#local/python-env';
import type { ExecutionSummary } from '#shared/run/summary';

export const SAMPLE_SEED = join(PROJECT_ROOT, 'local', 'sample-seed.yaml');

/** `clonesquad-backup local` (what `npm run local` runs), for `node`. */
export const LOCAL_CLI = [
  '--disable-warning=NodeVersionSupportWarning',
  join(PROJECT_ROOT, 'bin', 'clonesquad-backup'),
  'local',
];
/** The environment of a local run in a child process: its own emulator, not the tests'. */
export const LOCAL_CLI_ENV = { ...process.env, AWS_ENDPOINT_URL: '', LOG_LEVEL: 'warn' };

/** One execution as `last-execution.json` records it: a group's, or the run's own when it started none. */
export interface ExecutionRecord {
  region: string;
  groupName?: string;
  status: 'SUCCEEDED' | 'FAILED';
  error?: { name: string; message: string };
  summary?: ExecutionSummary;
}

export function lastExecutions(out: string): ExecutionRecord[] {
  return JSON.parse(readFileSync(join(out, 'last-execution.json'), 'utf8')) as ExecutionRecord[];
}

/** The one execution of a run, which must have had exactly one. */
export function onlyExecution(executions: ExecutionRecord[]): ExecutionRecord {
  expect(executions, JSON.stringify(executions, null, 2).slice(0, 2_000)).to.have.length(1);
  return executions[0];
}

/** `npm run local -- --out OUT --seed SEED`, which must succeed: every execution it recorded. */
export function runLocalCli(out: string, seed = SAMPLE_SEED): ExecutionRecord[] {
  execFileSync(process.execPath, [...LOCAL_CLI, '--out', out, '--seed', seed], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: LOCAL_CLI_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const executions = lastExecutions(out);
  for (const execution of executions) {
    expect(execution.status, `${execution.groupName}: ${JSON.stringify(execution.error)}`).to.equal('SUCCEEDED');
  }
  return executions;
}

/** Every key of the bucket the run saved to `out`, sorted. */
export function mirroredKeys(out: string, bucket: string): string[] {
  const folder = join(out, 's3', bucket);
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}
