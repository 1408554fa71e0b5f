/**
 * One export in a fresh process, for its peak memory: `node memory-child.js instances|rows SIZE`
 * (bundled by bench/memory.ts, so no TypeScript loader weighs on the figure). Prints JSON: the peak
 * RSS before the export (code loaded, clients built) and after it, in MiB.
 */
import { backupRows, exportInstances } from './scenarios.ts';

const MIB = 1024 * 1024;

async function main(): Promise<void> {
  const [scenario, size] = [process.argv[2], Number(process.argv[3])];
  const baselineMiB = (process.resourceUsage().maxRSS * 1024) / MIB;
  if (scenario === 'instances') await exportInstances(size);
  else if (scenario === 'rows') await backupRows(size);
  else if (scenario !== 'baseline') throw new Error(`unknown scenario ${scenario}`);
  const peakMiB = (process.resourceUsage().maxRSS * 1024) / MIB;
  process.stdout.write(JSON.stringify({ scenario, size, baselineMiB, peakMiB }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
