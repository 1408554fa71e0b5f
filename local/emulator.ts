/**
 * The local AWS emulator: a moto server on a free loopback port, speaking the real wire protocols.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { onProcessExit } from '#local/process-exit';
import { ensurePythonEnv, venvBin } from '#local/python-env';

export interface Emulator {
  endpoint: string;
  /** The emulator's process. */
  pid: number;
  stop(): Promise<void>;
}

// Local runs use Node 20, where the SDK warns that its 2027 releases will need Node 22; the
// deployed functions run on nodejs22.x, so the warning says nothing about them.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Credentials the emulator accepts; never real ones. */
export const EMULATOR_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SESSION_TOKEN: 'testing',
};

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitUntilReady(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`The AWS emulator (moto) exited with code ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 150));
  }
  throw new Error(`The AWS emulator (moto) did not answer on ${endpoint} within 60 s:\n${output()}`);
}

/**
 * moto's server, exiting when its stdin reaches end of file. This process holds the only writing end
 * of that pipe, and the system closes it when this process ends, however it ends (SIGKILL included).
 */
const MOTO_ENDING_WITH_PARENT = `
import os, sys, threading
from moto.server import main

def exit_when_parent_ends():
    sys.stdin.buffer.read()
    os._exit(0)

threading.Thread(target=exit_when_parent_ends, daemon=True).start()
main(sys.argv[1:])
`;

export async function startEmulator(): Promise<Emulator> {
  ensurePythonEnv();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // Its own process group, so that ending the group ends anything moto starts, and a Ctrl-C meant
  // for this process reaches moto only through this process's own cleanup.
  const child = spawn(venvBin('python'), ['-c', MOTO_ENDING_WITH_PARENT, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...EMULATOR_CREDENTIALS },
    detached: true,
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  const forgetAtExit = onProcessExit(() => killGroup('SIGKILL'));
  child.once('exit', forgetAtExit);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  try {
    await waitUntilReady(endpoint, child, () => output);
  } catch (error) {
    killGroup('SIGKILL');
    throw error;
  }
  return {
    endpoint,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        killGroup('SIGTERM');
      }),
  };
}
