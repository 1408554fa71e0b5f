/**
 * End to end: `npm run local`'s program in a child process, with its own emulator, twice on the
 * same --out folder, checked against the documented key layout (docs/reference/s3-layout.md) and read back by real PyYAML. The
 * checks read what the run records in `last-execution.json` and the bucket it saves, not how it
 * prints them.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LOCK_FILE_NAME } from '#local/out-lock';
import { PROJECT_ROOT, venvBin } from '#local/python-env';
import { DEFAULT_S3_PATH } from '#local/local-run';
import { loadSeed } from '#local/seed';
import { SqlEngine } from '#local/sql-engine';
import { recordProblems, TABLES } from '#shared/catalog/schema';
import { parseS3Path } from '#shared/aws/s3-path';
import {
  archiveBackupKey,
  archiveStamp,
  BACKUP_TABLES,
  latestBackupKey,
  METADATA_TABLES,
  metadataKey,
  newPartitionMarkerKey,
  metadataTableFolder,
  type MetadataTable,
} from '#shared/aws/s3-layout';
import type { ExecutionSummary } from '#shared/run/summary';
import {
  lastExecutions,
  LOCAL_CLI,
  LOCAL_CLI_ENV,
  mirroredKeys,
  onlyExecution,
  runLocalCli,
  SAMPLE_SEED,
  type ExecutionRecord,
} from '#test/support/local-cli';
import { endsWithin } from '#test/support/processes';

const SECOND_SEED = join(PROJECT_ROOT, 'test', 'fixtures', 'seed-second-group.yaml');

/** The parts of an execution's summary, in the order the workflow reports them. */
const PART_ORDER = [
  'backup/configuration',
  'metadata/configuration',
  'schedule',
  'backup/scheduler',
  'metadata/scheduler',
  'metadata/discovery',
  'metadata/instances',
  'metadata/volumes',
  'metadata/maintenance-windows',
  'archive',
  'catalog',
];

/** Every record of every metadata object in the mirror, by table. */
function mirroredRecords(out: string, bucket: string, table: MetadataTable): Record<string, unknown>[] {
  const folder = join(out, 's3', bucket, ...metadataTableFolder(parseS3Path(DEFAULT_S3_PATH)!, table).split('/'));
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .flatMap((entry) =>
      gunzipSync(readFileSync(join(entry.parentPath, entry.name)))
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    );
}

const ACCOUNT = '123456789012'; // moto's default account

/** `npm run local -- --out OUT --input JSON`: its exit code, stdout and the one execution of OUT/last-execution.json. */
function localCliWithInput(out: string, input: string): { code: number; execution: ExecutionRecord; stdout: string } {
  let code = 0;
  let stdout: string;
  try {
    stdout = execFileSync(process.execPath, [...LOCAL_CLI, '--out', out, '--input', input], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: LOCAL_CLI_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const failed = error as { status: number; stdout: string };
    code = failed.status;
    stdout = failed.stdout;
  }
  return { code, execution: onlyExecution(lastExecutions(out)), stdout };
}

/** `npm run local -- --out OUT [ARGS]` started in the background. */
function startLocalCli(out: string, args: string[] = []) {
  return spawn(process.execPath, [...LOCAL_CLI, '--out', out, ...args], { cwd: PROJECT_ROOT, env: LOCAL_CLI_ENV });
}

/** `npm run local -- --out OUT --output json` run to its end (its output read whole), without blocking this process. */
async function localCliAsync(out: string): Promise<{ pid: number; code: number; stdout: string; stderr: string }> {
  const run = startLocalCli(out, ['--output', 'json']);
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(run, 'close')) as [number];
  return { pid: run.pid!, code, stdout, stderr };
}

/** The archive keys the executions of `last-execution.json` report written. */
function reportedArchives(executions: ExecutionRecord[]): string[] {
  return executions
    .flatMap((execution) => execution.summary?.parts ?? [])
    .filter((part) => part.part.startsWith('backup/'))
    .flatMap((part) => part.keys ?? []);
}

/** The summary of the sample seed's one group. */
function runSampleCli(out: string): ExecutionSummary {
  const execution = onlyExecution(runLocalCli(out));
  expect(execution).to.deep.include({ region: 'eu-west-1', groupName: 'demo' });
  return execution.summary!;
}

function pyyamlSafeLoad(file: string): unknown {
  const script = 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], "rb"))))';
  return JSON.parse(execFileSync(venvBin('python'), ['-c', script, file], { encoding: 'utf8' }));
}

/** The seed's raw rows as the backup nests them: `[name]subkey` under `name`. */
function nestedLikeBackup(rows: Record<string, string>): Record<string, unknown> {
  const nested: Record<string, Record<string, string> | string> = {};
  for (const [key, value] of Object.entries(rows)) {
    const match = /^\[([^\]]+)\](.+)$/s.exec(key);
    if (match) nested[match[1]] = { ...((nested[match[1]] as Record<string, string>) ?? {}), [match[2]]: value };
    else nested[key] = value;
  }
  return nested;
}

describe('local run on the embedded default (npm run local)', function () {
  this.timeout(180_000);
  const destination = parseS3Path(DEFAULT_S3_PATH)!;
  const seed = loadSeed(SAMPLE_SEED).groups[0];
  const id = { accountId: ACCOUNT, region: seed.region, groupName: seed.groupName };
  let out: string;

  before(() => {
    out = mkdtempSync(join(tmpdir(), 'local-run-'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('writes exactly the archive and latest- keys of the S3 layout, then no archive on a second run of the same seed', () => {
    const first = runSampleCli(out);
    const stampOne = archiveStamp(first.executionStartTime);
    const expectedFirst = BACKUP_TABLES.flatMap((table) => [
      archiveBackupKey(destination, id, table, stampOne),
      latestBackupKey(destination, id, table),
    ]);
    expect(first.parts.map((part) => [part.part, part.status])).to.deep.equal([
      ...PART_ORDER.map((part) => [part, 'ok']),
    ]);
    // The new-partition markers each metadata table's first write leaves for the catalog's account.
    const metadataKeys = METADATA_TABLES.flatMap((table) => [
      metadataKey(destination, id, table),
      newPartitionMarkerKey(destination, id, table),
    ]);
    expect(mirroredKeys(out, destination.bucket)).to.deep.equal([...expectedFirst, ...metadataKeys].sort());
    expect(first.counts.failed).to.equal(0);

    expect(first.parts.find((part) => part.part === 'catalog')?.reason).to.match(/^started crawler/);

    const second = runSampleCli(out);
    // Steady state: every partition exists already, so the crawler is not started again.
    expect(second.parts.find((part) => part.part === 'catalog')).to.deep.include({ status: 'skipped' });
    expect(second.parts.find((part) => part.part === 'catalog')?.reason).to.match(/no new partition/);
    const stampTwo = archiveStamp(second.executionStartTime);
    expect(stampTwo > stampOne).to.equal(true);
    // The tables are seeded alike: unchanged since the first run's archives, so nothing is archived.
    expect(mirroredKeys(out, destination.bucket)).to.deep.equal([...expectedFirst, ...metadataKeys].sort());
    for (const table of BACKUP_TABLES) {
      expect(second.parts.find((part) => part.part === `backup/${table}`)).to.deep.include({
        status: 'ok',
        keys: [],
        reason: `unchanged since ${stampOne}`,
      });
      const latest = readFileSync(join(out, 's3', destination.bucket, latestBackupKey(destination, id, table)));
      const newest = readFileSync(
        join(out, 's3', destination.bucket, archiveBackupKey(destination, id, table, stampOne)),
      );
      expect(latest.equals(newest), `latest-${table} equals the newest archive`).to.equal(true);
    }
  });

  it('backs up values such as off, 0755, 10:30, ~ and "" as the same strings under PyYAML', () => {
    for (const table of BACKUP_TABLES) {
      const latest = join(out, 's3', destination.bucket, latestBackupKey(destination, id, table));
      expect(pyyamlSafeLoad(latest)).to.deep.equal(nestedLikeBackup(seed.tables[table]));
    }
    const configuration = seed.tables.configuration;
    expect(Object.values(configuration)).to.include.members(['off', '0755', '10:30', '~', '']);
  });

  it('writes only records that validate against their Glue table schema', () => {
    for (const table of METADATA_TABLES) {
      const records = mirroredRecords(out, destination.bucket, table);
      expect(records.length, table).to.be.above(0);
      for (const record of records) expect(recordProblems(TABLES[table], record), table).to.deep.equal([]);
    }
    expect(mirroredRecords(out, destination.bucket, 'instances')).to.have.length(4);
    expect(JSON.stringify(mirroredRecords(out, destination.bucket, 'discovery'))).to.not.include('not-for-export');
  });

  it('joins the rows of two groups in two regions in displayallhostnames', async () => {
    runLocalCli(out, SECOND_SEED);
    const engine = await SqlEngine.open({ folder: join(out, 's3', destination.bucket), location: destination });
    try {
      const result = await engine.run(
        readFileSync(join(PROJECT_ROOT, 'glue', 'views', 'displayallhostnames.sql'), 'utf8') +
          '; SELECT "Hostname", "InteractAPIGWUrl", "CloneSquadVersion", "Region", "GroupName", "SubfleetName"' +
          ' FROM default.displayallhostnames ORDER BY "Region", "Hostname"',
      );
      const demoUrl = 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/';
      const batchUrl = 'https://zyx987wvut.execute-api.us-west-2.amazonaws.com/v1/';
      expect(result.rows).to.deep.equal([
        ['demo-api-1', demoUrl, 'v0.27.1', 'eu-west-1', 'demo', 'api'],
        ['demo-api-2', demoUrl, 'v0.27.1', 'eu-west-1', 'demo', 'api'],
        ['demo-batch', demoUrl, 'v0.27.1', 'eu-west-1', 'demo', 'batch'],
        ['demo-web', demoUrl, 'v0.27.1', 'eu-west-1', 'demo', null],
        ['batch-main', batchUrl, 'v0.28.0', 'us-west-2', 'batch', null],
        ['batch-worker-1', batchUrl, 'v0.28.0', 'us-west-2', 'batch', 'spot'],
        ['batch-worker-2', batchUrl, 'v0.28.0', 'us-west-2', 'batch', 'spot'],
      ]);
    } finally {
      engine.close();
    }
  });
});

describe('local run with an execution input (npm run local -- --input)', function () {
  this.timeout(180_000);
  const destination = parseS3Path(DEFAULT_S3_PATH)!;
  const seed = loadSeed(SAMPLE_SEED).groups[0];
  const id = { accountId: ACCOUNT, region: seed.region, groupName: seed.groupName };
  let out: string;

  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'local-run-input-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('writes only the parts the input asks for; the others are skipped as not requested', () => {
    const { code, execution } = localCliWithInput(out, '{"parts": ["backup/scheduler", "metadata/discovery"]}');

    expect(code, JSON.stringify(execution.error)).to.equal(0);
    expect(execution).to.deep.include({ region: 'eu-west-1', groupName: 'demo', status: 'SUCCEEDED' });
    const summary = execution.summary!;
    const stamp = archiveStamp(summary.executionStartTime);
    expect(mirroredKeys(out, destination.bucket)).to.deep.equal(
      [
        archiveBackupKey(destination, id, 'scheduler', stamp),
        latestBackupKey(destination, id, 'scheduler'),
        metadataKey(destination, id, 'discovery'),
        newPartitionMarkerKey(destination, id, 'discovery'),
      ].sort(),
    );
    const notRequested = summary.parts.filter((part) => part.reason === 'not requested');
    expect(notRequested.map((part) => [part.part, part.status])).to.deep.equal(
      [
        'backup/configuration',
        'metadata/configuration',
        // The schedule follows the rows the configuration branch reads, which this run does not read.
        'schedule',
        'metadata/scheduler',
        'metadata/instances',
        'metadata/volumes',
        'metadata/maintenance-windows',
      ].map((part) => [part, 'skipped']),
    );
  });

  it('refuses an unknown field before any work, exit code 1, naming the field and the allowed values', () => {
    const { code, execution, stdout } = localCliWithInput(out, '{"parts": ["backups"], "tables": ["configuration"]}');

    expect(code).to.equal(1);
    // Refused before any group: the record is the run's own execution, in the seed's region.
    expect(execution).to.not.have.property('groupName');
    expect(execution).to.deep.include({ region: 'eu-west-1', status: 'FAILED' });
    expect(execution.error?.name).to.equal('InvalidInput');
    expect(execution.error?.message).to.match(
      /^execution input field "tables": no such field\. Fix: the fields are "groupName" \(a CloneSquad group\) and "parts" \(an array of "backups", "metadata", /,
    );
    expect(stdout.split('\n').slice(0, 2)).to.deep.equal([
      'Run (eu-west-1):',
      `Execution FAILED: InvalidInput: ${execution.error?.message}`,
    ]);
    expect(existsSync(join(out, 's3', destination.bucket)), 'nothing written').to.equal(false);
  });

  it('fails an invalid input with exit code 1 and its message on a --out folder that does not exist yet', () => {
    const freshOut = join(out, 'not', 'created', 'yet');

    const { code, execution, stdout } = localCliWithInput(freshOut, '{"parts": ["metdata"]}');

    expect(code).to.equal(1);
    expect(execution).to.deep.include({ region: 'eu-west-1', status: 'FAILED' });
    expect(execution.error?.name).to.equal('InvalidInput');
    expect(execution.error?.message).to.match(
      /^execution input\.parts\[0\]: "metdata" is not a part\. Fix: use one of /,
    );
    expect(stdout).to.include('is not a part. Fix: use one of');
    expect(existsSync(join(freshOut, 's3', destination.bucket)), 'nothing written').to.equal(false);
  });
});

describe('local runs on one --out folder', function () {
  this.timeout(180_000);
  const destination = parseS3Path(DEFAULT_S3_PATH)!;
  let out: string;

  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'local-run-lock-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('runs one of two started at once and refuses the other with exit code 2; no archive is lost', async () => {
    const runs = await Promise.all([localCliAsync(out), localCliAsync(out)]);

    // The refused run writes no record: last-execution.json is the successful run's.
    const saved = reportedArchives(lastExecutions(out));
    expect(saved, 'archives the successful run reported').to.have.length(BACKUP_TABLES.length);
    expect(mirroredKeys(out, destination.bucket)).to.include.members(saved);
    expect(runs.map((run) => run.code).sort()).to.deep.equal([0, 2]);
    const [done, refused] = runs[0].code === 0 ? runs : [runs[1], runs[0]];
    const lockFile = join(out, LOCK_FILE_NAME);
    expect(refused.stdout).to.equal('');
    expect(refused.stderr).to.match(
      new RegExp(
        `^error: --out ${out}: another local run \\(pid ${done.pid}, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\) is using this folder\\. ` +
          `Fix: wait for it to end, or give another --out; if pid ${done.pid} is not a local run, delete ${lockFile}\n$`,
      ),
    );
    expect(existsSync(lockFile), 'the lock is released').to.equal(false);
  });

  it('ends its emulator and unlocks the folder when interrupted (SIGINT)', async () => {
    const run = startLocalCli(out);
    const lockFile = join(out, LOCK_FILE_NAME);
    let emulatorPid: number | undefined;
    while (emulatorPid === undefined) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      if (run.exitCode !== null)
        throw new Error(`npm run local ended (${run.exitCode}) before it could be interrupted`);
      const children = spawnSync('pgrep', ['-P', String(run.pid), '-f', 'moto'], { encoding: 'utf8' }).stdout;
      if (existsSync(lockFile) && children.trim() !== '') emulatorPid = Number(children.trim().split('\n')[0]);
    }

    run.kill('SIGINT');
    const ended = await once(run, 'exit');

    expect(ended).to.deep.equal([130, null]);
    expect(existsSync(lockFile), 'the lock is released').to.equal(false);
    expect(await endsWithin(emulatorPid, 5_000), `emulator pid ${emulatorPid} has ended`).to.equal(true);
  });
});
