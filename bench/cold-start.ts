/**
 * Cold start per function: each handler bundled with the esbuild options of serverless.yml (the SDK
 * inside), and again with the whole AWS SDK left external (resolved from node_modules, as with the
 * runtime's copy); then several fresh `node` processes each time the `require` of the bundle, which
 * loads the code and builds the function's clients at module scope.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '#local/python-env';
import { FUNCTION_DESCRIPTIONS } from '#infra/functions';
import type { FunctionName } from '#infra/deployment-config';

const run = promisify(execFile);

interface ServerlessConfig {
  custom: { esbuild: Record<string, unknown> & { exclude?: string[] } };
  provider: { memorySize: number; architecture: string; runtime: string };
}

export function serverlessConfig(): ServerlessConfig {
  return parse(readFileSync(join(PROJECT_ROOT, 'serverless.yml'), 'utf8')) as ServerlessConfig;
}

export interface FunctionBundle {
  name: string;
  entry: string;
  file: string;
  bytes: number;
  /** Size of the bundle deflated, as in the deployment zip. */
  zippedBytes: number;
  /** `@aws-sdk/client-*` packages inside the bundle. */
  clients: string[];
  /** `@aws-sdk/client-*` packages the handler imports (the clients it builds). */
  handlerClients: string[];
}

export interface ColdStart {
  name: string;
  bundled: FunctionBundle;
  externalBytes: number;
  /**
   * Median CPU ms to \`require\` the bundle (compile, module evaluation, client construction). CPU
   * rather than wall time: this machine is shared, and a Lambda sandbox has its CPU to itself.
   */
  bundledInitMs: number;
  externalInitMs: number;
  /** The same, wall-clock ms. */
  bundledInitWallMs: number;
  externalInitWallMs: number;
  /** Median ms from process start until the handler module is evaluated. */
  bundledReadyMs: number;
  externalReadyMs: number;
}

function esbuildOptions(config: ServerlessConfig): BuildOptions {
  const { exclude = [], ...options } = config.custom.esbuild;
  return {
    ...(options as BuildOptions),
    external: exclude,
    absWorkingDir: PROJECT_ROOT,
    metafile: true,
    logLevel: 'silent',
  };
}

/** The `@aws-sdk/client-*` packages of which some code is in the output (not tree-shaken away). */
function sdkClients(metafile: Metafile): string[] {
  const clients = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(input);
      if (match && bytesInOutput > 0) clients.add(match[1]);
    }
  }
  return [...clients].sort();
}

async function bundle(
  config: ServerlessConfig,
  name: string,
  outdir: string,
  externalSdk: boolean,
): Promise<{ file: string; metafile: Metafile }> {
  const handler = FUNCTION_DESCRIPTIONS[name as FunctionName].handler;
  const entry = `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
  const options = esbuildOptions(config);
  const file = join(outdir, externalSdk ? 'external-sdk' : 'bundled', `${name}.js`);
  const result = await build({
    ...options,
    entryPoints: [entry],
    outfile: file,
    external: [...(options.external ?? []), ...(externalSdk ? ['@aws-sdk/*'] : [])],
  });
  return { file, metafile: result.metafile! };
}

/** CPU ms of the \`require\` (all threads of the process), its wall ms, and wall ms since process start. */
interface Sample {
  initMs: number;
  initWallMs: number;
  readyMs: number;
}

async function timeRequire(file: string): Promise<Sample> {
  const script = [
    'const c=process.cpuUsage(),t=process.hrtime.bigint();',
    `require(${JSON.stringify(file)});`,
    'const w=Number(process.hrtime.bigint()-t)/1e6,u=process.cpuUsage(c);',
    'process.stdout.write(JSON.stringify({initMs:(u.user+u.system)/1e3,initWallMs:w,readyMs:performance.now()}))',
  ].join('');
  const { stdout } = await run(process.execPath, ['-e', script], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return JSON.parse(stdout) as Sample;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Builds every function both ways under `outdir` (inside the project, so node_modules resolves) and times them. */
export async function measureColdStarts(outdir: string, runs: number): Promise<ColdStart[]> {
  const config = serverlessConfig();
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const results: ColdStart[] = [];
  for (const name of Object.keys(FUNCTION_DESCRIPTIONS)) {
    const bundled = await bundle(config, name, outdir, false);
    const external = await bundle(config, name, outdir, true);
    const handler = FUNCTION_DESCRIPTIONS[name as FunctionName].handler;
    const source = await readFile(join(PROJECT_ROOT, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`), 'utf8');
    const handlerClients = [...source.matchAll(/^import [^;]*from '@aws-sdk\/(client-[a-z0-9-]+)';/gm)]
      .filter((match) => !match[0].startsWith('import type'))
      .map((match) => match[1]);
    const code = await readFile(bundled.file);
    const samples = { bundled: [] as Sample[], external: [] as Sample[] };
    // Alternate the variants so that load on the machine weighs on both alike.
    for (let index = 0; index < runs; index += 1) {
      samples.bundled.push(await timeRequire(bundled.file));
      samples.external.push(await timeRequire(external.file));
    }
    results.push({
      name,
      bundled: {
        name,
        entry: Object.keys(bundled.metafile.outputs).map((output) => relative(PROJECT_ROOT, output))[0],
        file: bundled.file,
        bytes: code.length,
        zippedBytes: deflateRawSync(code, { level: 9 }).length,
        clients: sdkClients(bundled.metafile),
        handlerClients: [...new Set(handlerClients)].sort(),
      },
      externalBytes: (await stat(external.file)).size,
      bundledInitMs: median(samples.bundled.map((sample) => sample.initMs)),
      externalInitMs: median(samples.external.map((sample) => sample.initMs)),
      bundledInitWallMs: median(samples.bundled.map((sample) => sample.initWallMs)),
      externalInitWallMs: median(samples.external.map((sample) => sample.initWallMs)),
      bundledReadyMs: median(samples.bundled.map((sample) => sample.readyMs)),
      externalReadyMs: median(samples.external.map((sample) => sample.readyMs)),
    });
  }
  return results;
}
