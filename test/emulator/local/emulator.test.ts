/**
 * The emulator (a moto server child process) ends with the process that started it, however that
 * process ends: a signal it handles, SIGKILL, which it cannot, or a crash.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { expect } from 'chai';
import { PROJECT_ROOT } from '#local/python-env';
import { endsWithin, isRunning } from '#test/support/processes';

const HOLDER = join(PROJECT_ROOT, 'test', 'fixtures', 'emulator-holder.ts');

/** The holder process and its emulator's pid, once the emulator answers. */
async function startHolder(args: string[] = []) {
  const holder = spawn(process.execPath, ['--import=tsx', HOLDER, ...args], { cwd: PROJECT_ROOT });
  let stdout = '';
  let stderr = '';
  holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const emulatorPid = await new Promise<number>((resolvePid, reject) => {
    holder.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolvePid((JSON.parse(stdout) as { pid: number }).pid);
    });
    holder.once('exit', (code) => reject(new Error(`the holder exited (${code}) first:\n${stderr}`)));
  });
  expect(isRunning(emulatorPid), 'the emulator runs').to.equal(true);
  return { holder, emulatorPid, stderr: () => stderr };
}

describe('the AWS emulator ends with the process that started it', function () {
  this.timeout(60_000);
  const started: number[] = [];
  after(() => {
    for (const pid of started.filter(isRunning)) process.kill(pid, 'SIGKILL');
  });

  // The exit status a shell shows for each: 128 + the signal's number, or death by SIGKILL itself.
  const ends = { SIGINT: [130, null], SIGTERM: [143, null], SIGHUP: [129, null], SIGKILL: [null, 'SIGKILL'] };
  for (const [signal, status] of Object.entries(ends)) {
    it(`on ${signal}`, async () => {
      const { holder, emulatorPid } = await startHolder();
      started.push(emulatorPid);

      holder.kill(signal as NodeJS.Signals);
      const ended = await once(holder, 'exit');

      expect(ended).to.deep.equal(status);
      expect(await endsWithin(emulatorPid, 5_000), `emulator pid ${emulatorPid} has ended`).to.equal(true);
    });
  }

  it('on a crash (an unhandled rejection)', async () => {
    const { holder, emulatorPid, stderr } = await startHolder(['--crash']);
    started.push(emulatorPid);

    holder.stdin.write('crash\n');
    const [code] = await once(holder, 'exit');

    expect(code).to.equal(1);
    expect(stderr()).to.include('Error: crash on purpose');
    expect(await endsWithin(emulatorPid, 5_000), `emulator pid ${emulatorPid} has ended`).to.equal(true);
  });
});
