/**
 * Undoing what must not outlive this process (a child emulator, a folder lock), however it ends:
 * on a normal end, `process.exit()`, an uncaught error, or SIGINT/SIGTERM/SIGHUP, on which Node's
 * default is to die without running any `exit` listener. Nothing runs on SIGKILL: what must not
 * survive that has to watch for this process's end itself.
 */
import { constants } from 'node:os';

const cleanups = new Set<() => void>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // One failed cleanup must not keep the others from running.
    }
  }
}

function exitOnSignal(signal: NodeJS.Signals): void {
  runCleanups();
  process.exit(128 + constants.signals[signal]);
}

/**
 * Runs `cleanup` (synchronous: nothing asynchronous runs once the process exits) when the process
 * ends, unless the returned function is called first. The signal handlers are installed only while
 * a cleanup is pending, so a process without one keeps Node's default handling.
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (cleanups.size === 0) {
    process.on('exit', runCleanups);
    for (const signal of SIGNALS) process.on(signal, exitOnSignal);
  }
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) {
      process.off('exit', runCleanups);
      for (const signal of SIGNALS) process.off(signal, exitOnSignal);
    }
  };
}
