/**
 * One AWS emulator for the whole test run, shared by every integration test through
 * `AWS_ENDPOINT_URL` (which the functions' clients read, as they do in a local run).
 */
import { EMULATOR_CREDENTIALS, startEmulator, type Emulator } from '#local/emulator';

let emulator: Emulator | undefined;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(300_000);
    emulator = await startEmulator();
    Object.assign(process.env, EMULATOR_CREDENTIALS, {
      AWS_ENDPOINT_URL: emulator.endpoint,
      AWS_REGION: 'eu-west-1',
      LOG_LEVEL: 'error',
    });
  },
  async afterAll() {
    await emulator?.stop();
  },
};
