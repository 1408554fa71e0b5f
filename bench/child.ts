/**
 * One measurement in a fresh process (bundled by bench/child-process.ts, so no TypeScript loader
 * and no heap left over from another measurement weighs on it). Prints JSON.
 *
 *   node child.js peak baseline|instances|rows SIZE     peak RSS before and after one export, MiB
 *   node child.js compare instances|rows SIZE RUNS      best CPU and wall ms, ours and bare reference
 */
import { backupRows, bareInstances, bareYaml, exportInstances, type ScenarioResult } from '#bench/scenarios';

const MIB = 1024 * 1024;
const peakRss = () => (process.resourceUsage().maxRSS * 1024) / MIB;

async function peak(scenario: string, size: number) {
  const baselineMiB = peakRss();
  if (scenario === 'instances') await exportInstances(size);
  else if (scenario === 'rows') await backupRows(size);
  else if (scenario !== 'baseline') throw new Error(`unknown scenario ${scenario}`);
  return { scenario, size, baselineMiB, peakMiB: peakRss() };
}

/**
 * Best of `runs` for each side, by CPU time (this machine is shared: wall time is what other
 * processes leave), interleaved so that load on the machine weighs on both alike.
 */
async function compare(scenario: string, size: number, runs: number) {
  const [ours, bare] =
    scenario === 'instances'
      ? [() => exportInstances(size), () => bareInstances(size)]
      : [() => backupRows(size), async () => bareYaml(size)];
  await ours();
  await bare();
  let best: ScenarioResult | undefined;
  let bareBest = { ms: Infinity, cpuMs: Infinity };
  for (let index = 0; index < runs; index += 1) {
    const a = await ours();
    const b = await bare();
    if (!best || a.cpuMs < best.cpuMs) best = a;
    if (b.cpuMs < bareBest.cpuMs) bareBest = { ms: b.ms, cpuMs: b.cpuMs };
  }
  return { scenario, size, ours: best!, bare: bareBest };
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
