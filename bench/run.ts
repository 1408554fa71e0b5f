/**
 * `bench [--no-fleet] [--readme]`: measures in one run, each figure beside its reference
 * and target (PASS/FAIL), and keeps the tables in .cache/bench/last-run.md (`--readme` also puts them
 * in the README's Performance section):
 *
 * 1. export throughput of our code alone (AWS answered in-process) vs bare JSON.stringify + gzip / YAML;
 * 2. peak memory of the largest exports, each in a fresh process;
 * 3. AWS calls per export vs the fewest possible;
 * 4. cold start per function: bundle, clients inside, init vs the same function with the SDK external;
 * 5. workflow cost per execution and per month of an hourly schedule (local runs on the emulator);
 * 6. end-to-end local runs: the sample group, and 2,500 instances (`--no-fleet` skips the latter).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { PROJECT_ROOT } from '#local/python-env';
import { measureColdStarts, serverlessConfig } from '#bench/cold-start';
import { bundleChild, measurePeak, measureThroughput, type Comparison, type MemoryFigure } from '#bench/child-process';
import { CRAWLER_DPUS, EXECUTIONS_PER_MONTH, PRICES, PRICES_DATE } from '#bench/prices';
import {
  dollars,
  formatMarkdown,
  formatText,
  kb,
  mib,
  ms,
  ratio,
  verdict,
  type Row,
  type Section,
} from '#bench/report';
import type { ScenarioResult } from '#bench/scenarios';
import {
  FLEET_RESERVATION_SIZE,
  SAMPLE_SEED,
  executionCost,
  localRun,
  monthly,
  writeFleetSeed,
  type LocalRun,
} from '#bench/workflow-cost';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.LOG_LEVEL = 'error';

const WORK = join(PROJECT_ROOT, '.cache', 'bench');
const THROUGHPUT_TARGET = 1.5;
const MEMORY_TARGET_MIB = 256;
/** Peak RSS may grow this much from 10k to 200k instances: nothing is kept per instance. */
const GROWTH_TARGET_MIB = 32;
/** A heap limit well under the target, to show what the export needs rather than what V8 lets grow. */
const CAPPED_HEAP = ['--max-old-space-size=128'];
const INIT_TARGET = 0.6;
const TRANSITIONS_TARGET = 15;
const FLEET = 2500;
const COLD_START_RUNS = 7;

const thousands = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

function print(section: Section): Section {
  console.log(formatText(section));
  return section;
}

function callsText(calls: Record<string, number>): string {
  return Object.entries(calls)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

function sameCalls(a: Record<string, number>, b: Record<string, number>): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].every((name) => (a[name] ?? 0) === (b[name] ?? 0));
}

async function throughputAndCalls(child: string): Promise<[Section, Section]> {
  const rows: Row[] = [];
  const callRows: Row[] = [];
  const add = (label: string, result: Comparison, reference: string) => {
    const times = result.ours.cpuMs / result.bare.cpuMs;
    rows.push({
      figure: label,
      value: `${ms(result.ours.cpuMs)} CPU, ${ms(result.ours.ms)} wall (${ratio(times)})`,
      reference: `${ms(result.bare.cpuMs)} CPU, ${ms(result.bare.ms)} wall: ${reference}`,
      target: `≤ ${ratio(THROUGHPUT_TARGET)}`,
      verdict: verdict(times <= THROUGHPUT_TARGET),
    });
  };
  const addCalls = (label: string, result: ScenarioResult) =>
    callRows.push({
      figure: label,
      value: callsText(result.calls),
      reference: `minimum: ${callsText(result.minimumCalls)}`,
      target: 'equal',
      verdict: verdict(sameCalls(result.calls, result.minimumCalls)),
    });
  for (const [size, runs] of [
    [1000, 15],
    [10_000, 5],
    [50_000, 2],
  ]) {
    const result = await measureThroughput(child, 'instances', size, runs);
    const label = `${thousands(size)} instances + ${thousands(2 * size)} volumes`;
    add(`${label} → gzip JSON Lines`, result, 'JSON.stringify + gzip');
    addCalls(label, result.ours);
  }
  for (const [size, runs] of [
    [1000, 15],
    [10_000, 7],
  ]) {
    const result = await measureThroughput(child, 'rows', size, runs);
    add(`${thousands(size)} configuration rows → YAML backup (${kb(result.ours.bytes)})`, result, 'yaml.stringify');
    addCalls(`${thousands(size)} configuration rows`, result.ours);
  }
  return [
    {
      title: '1. Export throughput (AWS answered in-process; a fresh process per size, best of 2–15 interleaved runs)',
      rows,
      notes: [
        'Instances are realistic DescribeInstances objects (~3.4 KB of JSON, 2 EBS volumes each) with the entry of',
        'their type from DescribeInstanceTypes (~2.7 KB, on both sides); rows mix settings,',
        'parameter sets, comments and values YAML must quote. Ours = exportInstancesAndVolumes / backupTable with',
        'mocked EC2, DynamoDB and S3 (bodies consumed); both sides include generating the same objects. The ratio is',
        'of CPU time (all threads: gzip runs on the libuv pool), as in section 4; wall time beside it.',
      ],
    },
    {
      title: '3. AWS calls per export (counted by the mocks)',
      rows: callRows,
      notes: [
        'Minimum: DescribeInstances pages of 1,000, DescribeVolumes of 500 ids, 1 MB Scan pages, one listing per',
        'metadata partition (to delete stale objects), one PutObject per object up to the 8 MiB upload part size.',
      ],
    },
  ];
}

async function memory(child: string): Promise<Section> {
  const peak = (scenario: MemoryFigure['scenario'], size: number, capped = false) =>
    measurePeak(child, scenario, size, capped ? CAPPED_HEAP : []);
  const baseline = await peak('baseline', 0);
  const rows: Row[] = [
    {
      figure: 'code loaded, clients built, no export',
      value: mib(baseline.peakMiB),
      reference: '',
      target: '',
      verdict: 'info',
    },
  ];
  const figures: Record<string, [MemoryFigure, MemoryFigure]> = {};
  for (const [scenario, size, label] of [
    ['instances', 10_000, '10k instances + 20k volumes'],
    ['instances', 200_000, '200k instances + 400k volumes'],
    ['rows', 10_000, '10k configuration rows (YAML backup)'],
  ] as const) {
    const pair: [MemoryFigure, MemoryFigure] = [await peak(scenario, size), await peak(scenario, size, true)];
    figures[`${scenario}${size}`] = pair;
    rows.push({
      figure: `peak RSS, ${label}`,
      value: mib(pair[0].peakMiB),
      reference: `${mib(pair[1].peakMiB)} with the heap capped at 128 MiB`,
      target: `< ${MEMORY_TARGET_MIB} MiB`,
      verdict: verdict(pair[0].peakMiB < MEMORY_TARGET_MIB),
    });
  }
  const [small, large] = [figures.instances10000, figures.instances200000];
  const growth = large[0].peakMiB - small[0].peakMiB;
  rows.push({
    figure: 'growth 10k → 200k instances',
    value: `+${mib(growth)}`,
    reference: `+${mib(large[1].peakMiB - small[1].peakMiB)} with the heap capped`,
    target: `≤ ${GROWTH_TARGET_MIB} MiB`,
    verdict: verdict(growth <= GROWTH_TARGET_MIB),
  });
  const memorySize = serverlessConfig().provider.memorySize;
  return {
    title: '2. Memory (peak RSS of a fresh node process per export)',
    rows,
    notes: [
      `The functions have ${memorySize} MB (serverless.yml provider.memorySize). Default V8 heap sizing on this 24 GiB`,
      'machine lets garbage pile up before collecting; capped, the same export runs in a flat footprint. Each page',
      'of instances is written with its volumes before the next is read: only the instance types are kept.',
    ],
  };
}

async function coldStart(): Promise<{ section: Section; readyMs: Record<string, number> }> {
  const results = await measureColdStarts(join(WORK, 'bundles'), COLD_START_RUNS);
  const rows: Row[] = results.map((result) => {
    const clients = result.bundled.clients.map((client) => client.replace('client-', '')).join(', ') || 'none';
    const onlyItsOwn = result.bundled.clients.join() === result.bundled.handlerClients.join();
    const share = result.bundledInitMs / result.externalInitMs;
    const hasSdk = result.bundled.clients.length > 0;
    return {
      figure: `${result.name}: ${kb(result.bundled.bytes)} (zip ${kb(result.bundled.zippedBytes)}), clients: ${clients}`,
      value: `${ms(result.bundledInitMs)} CPU, ${ms(result.bundledInitWallMs)} wall${hasSdk ? ` (${Math.round(share * 100)} %)` : ''}`,
      reference: `${ms(result.externalInitMs)} CPU, ${ms(result.externalInitWallMs)} wall, SDK external`,
      target: hasSdk ? `only its clients; ≤ ${INIT_TARGET * 100} %` : 'only its clients (no SDK)',
      verdict: verdict(onlyItsOwn && (!hasSdk || share <= INIT_TARGET)),
    };
  });
  return {
    section: {
      title: `4. Cold start (bundled as serverless.yml says; median of ${COLD_START_RUNS} fresh node processes)`,
      rows,
      notes: [
        'Init = require of the bundle: compile, evaluate, build the clients at module scope. CPU time of the process',
        'is the figure compared (this machine is shared; a Lambda sandbox has its CPU to itself); wall time beside it.',
        '"only its clients": the @aws-sdk/client-* packages with code in the bundle (esbuild metafile) are those the',
        'handler imports.',
      ],
    },
    readyMs: Object.fromEntries(results.map((result) => [result.name, result.bundledReadyMs])),
  };
}

function workflowSections(
  first: LocalRun,
  steady: LocalRun,
  fleet: LocalRun | undefined,
  readyMs: Record<string, number>,
): [Section, Section] {
  const config = serverlessConfig();
  const memoryMb = Object.fromEntries(
    Object.entries(config.functions).map(([name, fn]) => [name, fn.memorySize ?? config.provider.memorySize]),
  );
  const costOptions = { initMs: readyMs, memoryMb, architecture: config.provider.architecture };
  const firstCost = executionCost(first, costOptions);
  const steadyCost = executionCost(steady, costOptions);
  const breakdown = (cost: typeof steadyCost) =>
    `SFN ${dollars(cost.dollars.stepFunctions * EXECUTIONS_PER_MONTH)} + Lambda ${dollars(
      cost.dollars.lambda * EXECUTIONS_PER_MONTH,
    )} + S3 ${dollars(cost.dollars.s3 * EXECUTIONS_PER_MONTH)} + Glue ${dollars(cost.dollars.glue * EXECUTIONS_PER_MONTH)}`;
  const crawlEveryHour = executionCost({ ...steady, crawlerStarts: 1 }, costOptions);
  const cost: Section = {
    title: '5. Workflow cost (local runs of the sample group: a first run, then the steady state)',
    rows: [
      {
        figure: 'state transitions per execution, steady state',
        value: String(steady.transitions),
        reference: `${first.transitions} in a first run (crawler started)`,
        target: `≤ ${TRANSITIONS_TARGET}`,
        verdict: verdict(steady.transitions <= TRANSITIONS_TARGET && first.transitions <= TRANSITIONS_TARGET),
      },
      {
        figure: 'Lambda invocations per execution',
        value: String(steady.lambdaInvocations),
        reference: `${Object.keys(steady.lambdaStates).length} Lambda Task states, ${steady.retries} retries`,
        target: '',
        verdict: 'info',
      },
      {
        figure: 'crawler starts per execution, steady state',
        value: String(steady.crawlerStarts),
        reference: `${first.crawlerStarts} in the first run (new partitions)`,
        target: '0',
        verdict: verdict(steady.crawlerStarts === 0),
      },
      {
        figure: 'S3 requests per execution',
        value: `${steadyCost.s3PutRequests} PUT/COPY/LIST, ${steadyCost.s3GetRequests} GET`,
        reference: callsText(
          Object.fromEntries(Object.entries(steady.calls).filter(([call]) => call.startsWith('S3.'))),
        ),
        target: '',
        verdict: 'info',
      },
      {
        figure: 'Lambda GB-s per execution',
        value: steadyCost.lambdaGbSeconds.toFixed(2),
        reference: `${config.provider.architecture}, ${config.provider.memorySize} MB, init included`,
        target: '',
        verdict: 'info',
      },
      {
        figure: 'monthly cost, hourly schedule (730 executions)',
        value: dollars(monthly(steadyCost)),
        reference: breakdown(steadyCost),
        target: '',
        verdict: 'info',
      },
      {
        figure: 'monthly cost if the crawler ran every execution',
        value: dollars(monthly(crawlEveryHour)),
        reference: `a first run alone costs ${dollars(firstCost.dollars.total)}`,
        target: '',
        verdict: 'info',
      },
    ],
    notes: [
      `Prices (us-east-1 list prices as of ${PRICES_DATE}, no free tier): Step Functions Standard $0.025 per 1,000`,
      `transitions; Lambda $${PRICES.lambdaGbSecond.arm64} per GB-s on arm64 ($${PRICES.lambdaGbSecond.x86_64} x86) + $0.20 per 1M requests;`,
      `S3 $0.005 per 1,000 PUT/COPY/POST/LIST, $0.0004 per 1,000 GET; Glue crawler $0.44 per DPU-hour, 10-minute`,
      `minimum per run, ${CRAWLER_DPUS} DPUs assumed. Lambda time = each Task's time in the local run (moto answering)`,
      '+ its measured init (hourly runs start cold, and INIT is billed); DynamoDB reads (a few RCUs) are left out.',
    ],
  };
  const e2eRow = (label: string, run: LocalRun, note: string): Row => ({
    figure: label,
    value: ms(run.processMs),
    reference: `execution ${ms(run.executionMs)}; ${note}`,
    target: '',
    verdict: run.status === 'SUCCEEDED' ? 'info' : 'FAIL',
  });
  const e2e: Section = {
    title: '6. End to end (a local run: node start, emulator start, seeding, workflow, mirror saved)',
    rows: [
      e2eRow('sample group (local/sample-seed.yaml), first run', first, `${first.summaryMessage}`),
      e2eRow('sample group, steady state (same mirror)', steady, `${steady.summaryMessage}`),
      ...(fleet
        ? [
            e2eRow(
              `${FLEET.toLocaleString('en')} instances (generated seed, reservations of ${FLEET_RESERVATION_SIZE})`,
              fleet,
              `${fleet.summaryMessage}; moto dominates: ~5 ms per instance to seed and per DescribeInstances read`,
            ),
          ]
        : []),
    ],
    notes: [
      'The emulator is moto (one Python process): its time dominates every figure here; the export itself, on',
      'in-process AWS, is section 1. The 2,500-instance run goes on beside sections 1 to 5 (moto uses one core).',
      'The instances export reads the whole fleet from moto; discovery and maintenance windows read only its tags.',
    ],
  };
  return [cost, e2e];
}

const README = join(PROJECT_ROOT, 'README.md');
const README_MARKS = ['<!-- bench:begin -->', '<!-- bench:end -->'];

/** Puts the tables of this run between the README's bench marks (`--readme`). */
async function updateReadme(markdown: string): Promise<void> {
  const text = await readFile(README, 'utf8');
  const [begin, end] = README_MARKS.map((mark) => text.indexOf(mark));
  if (begin < 0 || end < begin) throw new Error(`README.md: no ${README_MARKS.join(' … ')} section to update`);
  const updated = `${text.slice(0, begin + README_MARKS[0].length)}\n\n${markdown}\n${text.slice(end)}`;
  // Formatted as `npm run format` would (the check in `npm test` covers the README).
  const options = await prettier.resolveConfig(README);
  await writeFile(README, await prettier.format(updated, { ...options, filepath: README }));
}

export interface BenchOptions {
  /** The 2,500-instance local run (`--no-fleet` skips it). */
  fleet: boolean;
  /** Also put the tables in the README's Performance section. */
  readme?: boolean;
}

/** Runs every measure and prints its tables; answers 1 when a figure misses its target. */
export async function runBench(options: BenchOptions): Promise<number> {
  const started = performance.now();
  await mkdir(WORK, { recursive: true });
  console.log(`npm run bench: Node ${process.version}, ${new Date().toISOString()}`);
  // The fleet's local run is mostly moto seeding and answering (one Python process, one core): it
  // goes on beside the other sections, which measure CPU time, memory or ratios of interleaved runs.
  const fleetOut = join(WORK, 'local-fleet');
  await rm(fleetOut, { recursive: true, force: true });
  const fleetRun = options.fleet
    ? writeFleetSeed(FLEET, join(WORK, 'fleet-seed.yaml')).then((seed) => localRun(seed, fleetOut))
    : undefined;
  fleetRun?.catch(() => undefined);

  const child = await bundleChild(WORK);
  const [throughput, calls] = await throughputAndCalls(child);
  print(throughput);
  print(calls);
  const memorySection = print(await memory(child));
  const { section: coldSection, readyMs } = await coldStart();
  print(coldSection);
  const sampleOut = join(WORK, 'local-sample');
  await rm(sampleOut, { recursive: true, force: true });
  const first = await localRun(SAMPLE_SEED, sampleOut);
  const steady = await localRun(SAMPLE_SEED, sampleOut);
  const [cost, e2e] = workflowSections(first, steady, await fleetRun, readyMs);
  print(cost);
  print(e2e);

  const sections = [throughput, memorySection, calls, coldSection, cost, e2e];
  const all = sections.flatMap((section) => section.rows);
  const failed = all.filter((row) => row.verdict === 'FAIL');
  const verdicts = `${all.filter((row) => row.verdict === 'PASS').length} passed, ${failed.length} failed`;
  const markdown = [
    `Last run: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${verdicts}, ${ms(performance.now() - started)}.`,
    '',
    ...sections.map(formatMarkdown),
  ].join('\n');
  await writeFile(join(WORK, 'last-run.md'), `${markdown}\n`);
  if (options.readme) await updateReadme(markdown);
  console.log(`\n${verdicts} in ${ms(performance.now() - started)}; tables in ${join(WORK, 'last-run.md')}`);
  return failed.length === 0 ? 0 : 1;
}
