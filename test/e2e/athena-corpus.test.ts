/**
 * Athena SQL as written for Athena, run by the local engine on what a local run of the sample group
 * exports: every statement of the corpus (test/fixtures/athena-corpus/) gives the rows worked out
 * for it from the seed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Json } from '@duckdb/node-api';
import { expect } from 'chai';
import { parse } from 'yaml';
import { lastExecutions, onlyExecution, runLocalCli, SAMPLE_SEED } from '#test/support/local-cli';
import { DEFAULT_S3_PATH } from '#local/local-run';
import { PROJECT_ROOT } from '#local/python-env';
import { SqlEngine } from '#local/sql-engine';
import { metadataTableFolder } from '#shared/aws/s3-layout';
import { parseS3Path } from '#shared/aws/s3-path';
import { naiveUtc } from '#shared/metadata/records';
import { expectedRows, loadAthenaCorpus, type CorpusFacts } from '#test/support/athena-corpus';

const destination = parseS3Path(DEFAULT_S3_PATH)!;

/** The exported records of the maintenance-windows table, read without the engine. */
function maintenanceRecords(bucketFolder: string): Record<string, Json>[] {
  const folder = join(bucketFolder, ...metadataTableFolder(destination, 'maintenance-windows').split('/'));
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .flatMap((entry) =>
      gunzipSync(readFileSync(join(entry.parentPath, entry.name)))
        .toString('utf8')
        .split('\n'),
    )
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, Json>);
}

/**
 * CloneSquad's install time that the seed's Discovery function environment holds, in Python's text
 * (`2024-04-02 09:00:00.123456+00:00`); timestamps keep milliseconds.
 */
function seedInstallTime(): Date {
  const seed = parse(readFileSync(SAMPLE_SEED, 'utf8')) as {
    stack: { discoveryFunction: { environment: { InstallTime: string } } };
  };
  const installTime = new Date(seed.stack.discoveryFunction.environment.InstallTime.replace(' ', 'T'));
  if (Number.isNaN(installTime.getTime())) throw new Error('the sample seed holds no readable InstallTime');
  return installTime;
}

const wholeSeconds = (from: Date, to: Date) => Math.floor((to.getTime() - from.getTime()) / 1000);

/**
 * What the expected rows need of this run: its start (as the exports write it), how it stands to
 * the seed's install time, and whether it fell in batch's Sunday window.
 */
function runFacts(out: string, bucketFolder: string): CorpusFacts {
  const { summary } = onlyExecution(lastExecutions(out));
  if (!summary) throw new Error('the local run recorded no summary');
  const exportedAt = naiveUtc(summary.executionStartTime);
  const batch = maintenanceRecords(bucketFolder).find((record) => record.Fleet === 'batch')!;
  const details = batch.NextMaintenanceWindowDetails as Record<string, Json>;
  return {
    exportedAt,
    exportedAtSeconds: exportedAt.slice(0, 19),
    // The original's text of the export time: six fraction digits and the offset; the run's start has milliseconds.
    exportedAtText: `${exportedAt}000+00:00`,
    installedWithinAMinuteOfExport: wholeSeconds(seedInstallTime(), new Date(summary.executionStartTime)) < 60,
    batchInMaintenance: batch.IsMaintenanceTime === true,
    batchMaintenanceEnd: String(details.EndTime),
  };
}

/** What the expected rows need of the moment a statement runs (its `current_timestamp`). */
function clockFacts(queriedAt: Date): CorpusFacts {
  return { hoursSinceInstall: Math.floor(wholeSeconds(seedInstallTime(), queriedAt) / 3600) };
}

describe('the Athena SQL corpus on the sample group exported by npm run local', function () {
  this.timeout(180_000);
  const corpus = loadAthenaCorpus();
  let out: string;
  let engine: SqlEngine;
  let facts: CorpusFacts;

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'athena-corpus-'));
    runLocalCli(out);
    const bucketFolder = join(out, 's3', destination.bucket);
    facts = runFacts(out, bucketFolder);
    engine = await SqlEngine.open({ folder: bucketFolder, location: destination });
  });
  after(() => {
    engine?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('holds at least 40 entries, among them every saved query', () => {
    expect(corpus.length).to.be.at.least(40);
    const saved = readdirSync(join(PROJECT_ROOT, 'glue', 'queries')).map((file) => `glue/queries/${file}`);
    expect(corpus.map((entry) => entry.sqlFile)).to.include.members(saved);
  });

  it('creates every shipped view', () => {
    expect(engine.viewProblems).to.deep.equal([]);
  });

  for (const entry of corpus) {
    it(entry.name, async () => {
      const queriedAt = new Date();
      const result = await engine.run(entry.sql);
      const expected = { columns: entry.columns, rows: expectedRows(entry, { ...facts, ...clockFacts(queriedAt) }) };
      if (entry.ordered) {
        expect(result).to.deep.equal(expected);
      } else {
        const sorted = (rows: Json[][]) => rows.map((row) => JSON.stringify(row)).sort();
        expect({ columns: result.columns, rows: sorted(result.rows) }).to.deep.equal({
          columns: expected.columns,
          rows: sorted(expected.rows),
        });
      }
    });
  }
});
