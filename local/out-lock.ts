/**
 * One local run at a time per --out folder. A run loads the folder into its emulator and saves the
 * bucket back at its end, so two runs at once would each save a bucket that lacks the other's writes.
 * The lock is a file created only if absent (`wx`), naming its holder; a holder that has ended
 * without releasing it (SIGKILL, power loss) leaves a lock the next run takes over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { UserInputError } from '#shared/aws/errors';
import { onProcessExit } from '#local/process-exit';

export const LOCK_FILE_NAME = 'local-run.lock';

export interface LockHolder {
  pid: number;
  /** ISO 8601, UTC. */
  startedAt: string;
}

export interface OutFolderLock {
  holder: LockHolder;
  /** Removes the lock file if it is still this lock's; safe to call more than once. */
  release(): void;
}

/** How long a lock file may stay without a readable holder (being written) before it counts as broken. */
const UNREADABLE_FOR_MS = 2_000;

type ReadHolder = LockHolder | 'absent' | 'unreadable';

function readHolder(file: string): ReadHolder {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.startedAt === 'string' ? holder : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sameHolder = (read: ReadHolder, holder: LockHolder) =>
  typeof read === 'object' && read.pid === holder.pid && read.startedAt === holder.startedAt;

/** Creates the lock file with `holder` in it, or returns false if one exists. */
function tryCreate(file: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Locks `out` (created if need be) for this process until `release()` or the process's end,
 * whichever comes first. Throws a {@link UserInputError} when another running process holds it.
 */
export async function lockOutFolder(
  out: string,
  note: (message: string) => void = (message) => console.error(message),
): Promise<OutFolderLock> {
  mkdirSync(out, { recursive: true });
  const file = join(out, LOCK_FILE_NAME);
  const holder: LockHolder = { pid: process.pid, startedAt: new Date().toISOString() };
  let unreadableSince: number | undefined;
  while (!tryCreate(file, holder)) {
    const current = readHolder(file);
    if (current === 'absent') continue;
    if (current === 'unreadable') {
      unreadableSince ??= Date.now();
      if (Date.now() - unreadableSince > UNREADABLE_FOR_MS) {
        throw new UserInputError(
          `--out ${out}`,
          `its lock file ${file} does not name the run holding it`,
          `if no local run is using this folder, delete ${file}`,
        );
      }
      await setTimeout(50);
      continue;
    }
    if (isRunning(current.pid)) {
      throw new UserInputError(
        `--out ${out}`,
        `another local run (pid ${current.pid}, started ${current.startedAt}) is using this folder`,
        `wait for it to end, or give another --out; if pid ${current.pid} is not a local run, delete ${file}`,
      );
    }
    // Another run may be taking over the same ended holder: remove the file only while it still
    // names that holder, so that a lock the other run has just created stays.
    if (sameHolder(readHolder(file), current)) {
      note(
        `note: --out ${out}: taking over the lock of local run pid ${current.pid} (started ${current.startedAt}), which has ended`,
      );
      unlinkSync(file);
    }
  }
  const release = () => {
    forgetAtExit();
    if (sameHolder(readHolder(file), holder)) unlinkSync(file);
  };
  const forgetAtExit = onProcessExit(release);
  return { holder, release };
}
