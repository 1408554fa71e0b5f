/**
 * One measurement in a fresh process (bundled by bench/child-process.ts, so no TypeScript loader
 * and no heap left over from another measurement weighs on it). Prints JSON.
 *
 *   node child.js peak baseline|instances|configuration SIZE   peak RSS of one export, MiB
 *   node child.js compare instances|rows SIZE RUNS             CPU and wall ms of each run, ours and bare reference
 */
import {
  backupRows,
  bareInstances,
  bareYaml,
  configurationLambda,
  exportInstances,
  generateFleet,
} from '#bench/scenarios';

const MIB = 1024 * 1024;
const peakRss = () => (process.resourceUsage().maxRSS * 1024) / MIB;

async function peak(scenario: string, size: number) {
  const baselineMiB = peakRss();
  let result;
  if (scenario === 'instances') result = await exportInstances(size);
  else if (scenario === 'configuration') result = await configurationLambda(size);
  else if (scenario !== 'baseline') throw new Error(`unknown scenario ${scenario}`);
  return { scenario, size, baselineMiB, peakMiB: peakRss(), calls: result?.calls, bytes: result?.bytes };
}

/**
 * `runs` interleaved runs of each side (load on this shared machine weighs on both alike), after one
 * warm-up each. Each run's data is generated before its clock starts, on both sides.
 */
async function compare(scenario: string, size: number, runs: number) {
  const [ours, bare] =
    scenario === 'instances'
      ? [
          async () => {
            const fleet = generateFleet(size);
            return exportInstances(size, fleet);
          },
          () => bareInstances(size),
        ]
      : [() => backupRows(size), async () => bareYaml(size)];
  await ours();
  await bare();
  const oursRuns = [];
  const bareRuns = [];
  for (let index = 0; index < runs; index += 1) {
    const a = await ours();
    oursRuns.push({ ms: a.ms, cpuMs: a.cpuMs, bytes: a.bytes, calls: a.calls, minimumCalls: a.minimumCalls });
    const b = await bare();
    bareRuns.push({ ms: b.ms, cpuMs: b.cpuMs, bytes: b.bytes });
  }
  return { scenario, size, ours: oursRuns, bare: bareRuns };
}

async function main(): Promise<void> {
  const [mode, scenario, size, runs] = process.argv.slice(2);
  const result =
    mode === 'peak' ? await peak(scenario, Number(size)) : await compare(scenario, Number(size), Number(runs));
  process.stdout.write(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
