/**
 * The benchmark's own arithmetic: what a counted execution costs, the minimum requests the sample
 * seed allows, the heap a Lambda gets, and where the tables go in the performance page.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadSeed } from '#local/seed';
import { minimumCalls } from '#bench/api-minimum';
import { lambdaHeapOptions } from '#bench/child-process';
import { DOCS_MARKER, writeDocs } from '#bench/docs-page';
import { SAMPLE_SEED, monthlyPerGroup, s3Requests, scopeCost } from '#bench/workflow-cost';
import type { ExecutionFigures, ScopeFigures } from '#bench/local-child';

const INPUTS = {
  initCpuMs: { backupTable: 100, planRun: 50, reconcileGroups: 80, startScheduledRun: 40 },
  memoryMb: { backupTable: 512, planRun: 256, reconcileGroups: 256, startScheduledRun: 128 },
  architecture: 'arm64',
};

function execution(scope: ScopeFigures, transitions: number): ExecutionFigures {
  return { ...scope, status: 'SUCCEEDED', transitions, enteredStates: {}, retries: 0, failedParts: [] };
}

describe('bench: cost model', () => {
  const group: ScopeFigures = {
    cpuMs: 1024,
    wallMs: 5000,
    invocations: [
      {
        state: 'BackupConfiguration',
        functionName: 'backupTable',
        wallMs: 700,
        requests: { 'S3.PutObject': 2, 'DynamoDB.Scan': 1, 'S3.HeadObject': 1 },
      },
    ],
    requests: { 'S3.PutObject': 2, 'DynamoDB.Scan': 1, 'S3.HeadObject': 1, 'S3.DeleteObject': 1 },
  };

  it('prices S3 requests by class, DELETE free', () => {
    expect(s3Requests(group.requests)).to.deep.equal({ put: 2, get: 1, unpriced: [] });
  });

  it('bills init and CPU at the CPU share of the memory, and 50 ms per request at the memory size', () => {
    const cost = scopeCost(group, 10, INPUTS);
    // init 0.1 s and CPU 1.024 s, each × 1769/1024 GB-s; 4 requests × 0.05 s × 0.5 GB.
    const gbSeconds = (0.1 * 1769) / 1024 + (1.024 * 1769) / 1024 + 4 * 0.05 * 0.5;
    expect(cost.lambdaGbSeconds).to.be.closeTo(gbSeconds, 1e-12);
    expect(cost.dollars.stepFunctions).to.be.closeTo(10 * 0.000025, 1e-15);
    expect(cost.dollars.s3).to.be.closeTo(2 * 0.000005 + 0.0000004, 1e-15);
    expect(cost.dollars.lambda).to.be.closeTo(0.0000002 + gbSeconds * 0.0000133334, 1e-15);
  });

  it('starts each scheduled execution with one Scheduler and one Lambda invocation; shares the reconciliation', () => {
    const reconcile: ScopeFigures = {
      cpuMs: 0,
      wallMs: 0,
      invocations: [{ state: 'ReconcileGroups', functionName: 'reconcileGroups', wallMs: 10, requests: {} }],
      requests: {},
    };
    const figures = { group: execution(group, 9), reconcile };
    const one = monthlyPerGroup(figures, INPUTS, 1);
    const fifty = monthlyPerGroup(figures, INPUTS, 50);
    const reconcileMonthly = scopeCost(reconcile, 0, INPUTS).dollars.total * 2920;
    expect(one.perGroup - fifty.perGroup).to.be.closeTo(reconcileMonthly * (1 - 1 / 50), 1e-12);
    // init 40 ms at the CPU share, one StartExecution waited for at 128 MB, one request, one Scheduler invocation.
    const startGbSeconds = (0.04 * 1769) / 1024 + 0.05 * (128 / 1024);
    const start = 0.0000002 + startGbSeconds * 0.0000133334;
    expect(one.scheduledStart.lambdaGbSeconds).to.be.closeTo(startGbSeconds, 1e-12);
    expect(one.byService.scheduler).to.be.closeTo(730 / 1_000_000, 1e-12);
    const groupMonthly = scopeCost(group, 9, INPUTS).dollars.total * 730;
    expect(one.perGroup).to.be.closeTo(groupMonthly + start * 730 + 730 / 1_000_000 + reconcileMonthly, 1e-12);
  });
});

describe('bench: minimum requests of the sample group', () => {
  it('computes them from the seed', () => {
    const seed = loadSeed(SAMPLE_SEED);
    const minima = Object.fromEntries(
      minimumCalls(seed.groups[0], { objectsWritten: 8, organization: true, firstRun: false }).map((minimum) => [
        minimum.calls[0],
        [minimum.minimum, minimum.slack],
      ]),
    );
    expect(minima).to.deep.equal({
      'DynamoDB.Scan': [2, 0],
      'EC2.DescribeInstances': [1, 0],
      'EC2.DescribeInstanceTypes': [1, 0],
      'EC2.DescribeVolumes': [1, 0],
      'EC2.DescribeTags': [2, 2],
      'EC2.DescribeInstanceStatus': [2, 0],
      'CloudFormation.DescribeStacks': [1, 1],
      'CloudFormation.ListStackResources': [1, 1],
      'CloudFormation.GetTemplate': [1, 0],
      'CloudFormation.GetTemplateSummary': [0, 1],
      'Lambda.GetFunctionConfiguration': [1, 0],
      'Organizations.DescribeAccount': [1, 0],
      'SSM.DescribeMaintenanceWindows': [1, 0],
      'SSM.ListTagsForResource': [3, 0],
      'Scheduler.GetSchedule': [1, 0],
      'Glue.StartCrawler': [0, 0],
      'S3.PutObject': [8, 0],
      'S3.GetObject': [2, 6],
      'S3.ListObjectsV2': [0, 6],
    });
  });
});

describe("bench: the heap of Lambda's Node.js runtime", () => {
  it('gives a tenth of the memory to the young generation, half a semi-space, the rest to the old one', () => {
    expect(lambdaHeapOptions(512)).to.deep.equal(['--max-semi-space-size=25', '--max-old-space-size=461']);
    expect(lambdaHeapOptions(128)).to.deep.equal(['--max-semi-space-size=6', '--max-old-space-size=116']);
    expect(lambdaHeapOptions(10_240)).to.deep.equal(['--max-semi-space-size=512', '--max-old-space-size=9216']);
  });
});

describe('bench: the performance page', () => {
  it('creates the page with its introduction, then replaces only what is below the marker', async () => {
    const page = join(await mkdtemp(join(tmpdir(), 'bench-docs-')), 'performance.md');
    await writeDocs('first tables', page);
    const created = await readFile(page, 'utf8');
    expect(created.startsWith('# Performance\n')).to.equal(true);
    expect(created.endsWith(`${DOCS_MARKER}\n\nfirst tables\n`)).to.equal(true);
    await writeFile(page, created.replace('# Performance', '# Performance (edited)'));
    await writeDocs('second tables', page);
    const updated = await readFile(page, 'utf8');
    expect(updated.startsWith('# Performance (edited)\n')).to.equal(true);
    expect(updated.endsWith(`${DOCS_MARKER}\n\nsecond tables\n`)).to.equal(true);
  });

  it('refuses a page without the marker', async () => {
    const page = join(await mkdtemp(join(tmpdir(), 'bench-docs-')), 'performance.md');
    await writeFile(page, '# Performance\n');
    let error: unknown;
    await writeDocs('tables', page).catch((caught: unknown) => (error = caught));
    expect((error as Error).message).to.equal(`${page}: no line ${DOCS_MARKER} to write the tables below`);
  });
});
