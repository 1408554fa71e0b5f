/**
 * The lock that keeps two local runs off one --out folder: exclusive, released however its holder
 * ends, and taken over (with a note) from a holder that has ended without releasing it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LOCK_FILE_NAME, lockOutFolder, type LockHolder } from '#local/out-lock';
import { PROJECT_ROOT } from '#local/python-env';
import { UserInputError } from '#shared/aws/errors';

const HOLDER = join(PROJECT_ROOT, 'test', 'fixtures', 'lock-holder.ts');

function readHolder(out: string): LockHolder {
  return JSON.parse(readFileSync(join(out, LOCK_FILE_NAME), 'utf8'));
}

/** The pid of a process that has ended (and been reaped). */
function endedPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

/** A process holding the lock of `out`, once it holds it. */
async function startHolder(out: string, args: string[] = []) {
  const holder = spawn(process.execPath, ['--import=tsx', HOLDER, out, ...args], { cwd: PROJECT_ROOT });
  const [chunk] = (await once(holder.stdout, 'data')) as [Buffer];
  expect(chunk.toString()).to.equal('locked\n');
  return holder;
}

describe('the --out folder lock', function () {
  this.timeout(30_000);
  let parent: string;
  let out: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'out-lock-'));
    out = join(parent, 'not', 'created', 'yet');
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('creates the folder and a lock file naming this process and its start; release removes it', async () => {
    const before = Date.now();
    const lock = await lockOutFolder(out);

    const holder = readHolder(out);
    expect(holder.pid).to.equal(process.pid);
    expect(Date.parse(holder.startedAt)).to.be.within(before, Date.now());
    expect(lock.holder).to.deep.equal(holder);
    lock.release();
    expect(existsSync(join(out, LOCK_FILE_NAME))).to.equal(false);
    lock.release();
  });

  it('refuses a folder whose lock a running process holds, naming the folder, the holder and the fix', async () => {
    const lock = await lockOutFolder(out);
    try {
      const error = await lockOutFolder(out).catch((caught: Error) => caught);

      expect(error).to.be.instanceOf(UserInputError);
      expect((error as Error).message).to.equal(
        `--out ${out}: another local run (pid ${process.pid}, started ${lock.holder.startedAt}) is using this folder. ` +
          `Fix: wait for it to end, or give another --out; if pid ${process.pid} is not a local run, delete ${join(out, LOCK_FILE_NAME)}`,
      );
      expect(readHolder(out)).to.deep.equal(lock.holder);
    } finally {
      lock.release();
    }
  });

  it('takes over the lock of a process that has ended, with a note', async () => {
    const stale: LockHolder = { pid: endedPid(), startedAt: '2026-11-30T10:00:00.000Z' };
    (await lockOutFolder(out)).release();
    writeFileSync(join(out, LOCK_FILE_NAME), JSON.stringify(stale));
    const notes: string[] = [];

    const lock = await lockOutFolder(out, (note) => notes.push(note));

    expect(readHolder(out).pid).to.equal(process.pid);
    expect(notes).to.deep.equal([
      `note: --out ${out}: taking over the lock of local run pid ${stale.pid} (started ${stale.startedAt}), which has ended`,
    ]);
    lock.release();
  });

  it('refuses, after a moment, a lock file that names no holder', async () => {
    (await lockOutFolder(out)).release();
    writeFileSync(join(out, LOCK_FILE_NAME), '');

    const error = await lockOutFolder(out).catch((caught: Error) => caught);

    expect(error).to.be.instanceOf(UserInputError);
    expect((error as Error).message).to.equal(
      `--out ${out}: its lock file ${join(out, LOCK_FILE_NAME)} does not name the run holding it. ` +
        `Fix: if no local run is using this folder, delete ${join(out, LOCK_FILE_NAME)}`,
    );
  });

  it('leaves alone, on release, a lock that is no longer its own', async () => {
    const lock = await lockOutFolder(out);
    const other: LockHolder = { pid: endedPid(), startedAt: '2026-11-30T10:00:00.000Z' };
    writeFileSync(join(out, LOCK_FILE_NAME), JSON.stringify(other));

    lock.release();

    expect(readHolder(out)).to.deep.equal(other);
  });

  for (const [how, end] of [
    ['SIGINT', (holder) => holder.kill('SIGINT')],
    ['SIGTERM', (holder) => holder.kill('SIGTERM')],
    ['process.exit()', () => {}],
  ] as [string, (holder: ReturnType<typeof spawn>) => void][]) {
    it(`is released when its holder ends by ${how}`, async () => {
      const holder = await startHolder(out, how === 'process.exit()' ? ['--exit'] : []);

      end(holder);
      await once(holder, 'exit');

      expect(existsSync(join(out, LOCK_FILE_NAME))).to.equal(false);
    });
  }

  it('is taken over after its holder was killed by SIGKILL', async () => {
    const holder = await startHolder(out);
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    expect(readHolder(out).pid).to.equal(holder.pid);
    const notes: string[] = [];

    (await lockOutFolder(out, (note) => notes.push(note))).release();

    expect(notes).to.have.length(1);
    expect(notes[0]).to.match(new RegExp(`^note: --out .*: taking over the lock of local run pid ${holder.pid} `));
  });
});
