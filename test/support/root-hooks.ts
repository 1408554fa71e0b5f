/**
 * One AWS emulator for the whole test run, shared by every integration test through
 * `AWS_ENDPOINT_URL` (which the functions' clients read, as they do in a local run). It starts only
 * when the run holds an emulator or end-to-end suite (`test/emulator/`, `test/e2e/`): unit suites
 * run without it, and an AWS call made by one by mistake fails at once on a closed port instead of
 * reaching a real endpoint.
 */
import { sep } from 'node:path';
import { EMULATOR_CREDENTIALS, startEmulator, type Emulator } from '#local/emulator';

let emulator: Emulator | undefined;

const NEEDS_EMULATOR = [`${sep}test${sep}emulator${sep}`, `${sep}test${sep}e2e${sep}`];
/** Port 9 (discard) is never served here: a connection to it is refused at once. */
const NO_ENDPOINT = 'http://127.0.0.1:9';

function specFiles(suite: Mocha.Suite): string[] {
  return suite.suites.flatMap((child) => [...(child.file ? [child.file] : []), ...specFiles(child)]);
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(300_000);
    const root = this.test?.parent;
    const files = root ? specFiles(root) : [];
    const environment = { AWS_REGION: 'eu-west-1', LOG_LEVEL: 'error' };
    if (!files.some((file) => NEEDS_EMULATOR.some((folder) => file.includes(folder)))) {
      Object.assign(process.env, EMULATOR_CREDENTIALS, environment, { AWS_ENDPOINT_URL: NO_ENDPOINT });
      return;
    }
    emulator = await startEmulator();
    Object.assign(process.env, EMULATOR_CREDENTIALS, environment, { AWS_ENDPOINT_URL: emulator.endpoint });
  },
  async afterAll() {
    await emulator?.stop();
  },
};
