/** Watching processes that a test starts, or that the processes it starts start. */
import { execFileSync } from 'node:child_process';

/** Whether `pid` runs (a zombie, left for init to reap, does not). */
export function isRunning(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).startsWith('Z');
  } catch {
    return false;
  }
}

/** Polls until `pid` has ended; false if it still runs after `ms`. */
export async function endsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  return !isRunning(pid);
}
