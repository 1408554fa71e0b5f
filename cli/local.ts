/**
 * `npm run local -- [--out DIR] [--seed FILE] [--s3-path s3://bucket/prefix] [--input JSON]`
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserInputError } from '#shared/aws/errors';
import { parseS3Path, type S3Location } from '#shared/aws/s3-path';
import { runCli } from '#cli/backup-cli';
import { DEFAULT_S3_PATH, runLocal, type LocalRunResult } from '#local/local-run';
import type { ExecutionSummary } from '#shared/run/summary';
import { PROJECT_ROOT } from '#local/python-env';
import { formatResult } from '#cli/query';
import { SqlEngine } from '#local/sql-engine';

/** What a local run ends with: the CMDB view of the exported fleet, as Athena would show it. */
const SHOWCASE_QUERY = 'SELECT * FROM displayallhostnames';

const USAGE = `Usage: npm run local -- [--out DIR] [--seed FILE] [--s3-path s3://bucket/prefix] [--input JSON]
  --out DIR        local bucket store (DIR/s3/<bucket>/<key>) and DIR/last-execution.json (default .local)
  --seed FILE      the CloneSquad group to create (default local/sample-seed.yaml)
  --s3-path PATH   MetadataAndBackupS3Path of the run (default ${DEFAULT_S3_PATH})
  --input JSON     the execution input (default {})`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: '.local' },
      seed: { type: 'string', default: join(PROJECT_ROOT, 'local', 'sample-seed.yaml') },
      's3-path': { type: 'string', default: DEFAULT_S3_PATH },
      input: { type: 'string', default: '{}' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let input: unknown;
  try {
    input = JSON.parse(values.input);
  } catch (error) {
    throw new UserInputError(
      '--input',
      `it is not valid JSON (${(error as Error).message})`,
      "pass a JSON object, for example '{}'",
    );
  }
  const out = resolve(values.out);
  const result = await runLocal({
    out,
    seedFile: resolve(values.seed),
    s3Path: values['s3-path'],
    input,
    afterSave: (done) => showResult(done, out, parseS3Path(values['s3-path'])!),
  });
  return executionsOf(result).every((execution) => execution.status === 'SUCCEEDED') ? 0 : 1;
}

/**
 * What a run shows per execution: each group's, or the run's own when it started none (a one-group
 * input, or an input refused before any group).
 */
function executionsOf(result: LocalRunResult) {
  return result.regions.flatMap((region) => {
    const runs = region.groups.length > 0 ? region.groups : [{ groupName: undefined, run: region.run }];
    return runs.map(({ groupName, run }) => {
      // A PartsFailed cause is the summary itself: its one-line message says enough beside it.
      const error =
        run.error?.name === 'PartsFailed'
          ? { ...run.error, message: (run.summary as ExecutionSummary).message }
          : run.error;
      return {
        region: region.region,
        ...(groupName ? { groupName } : {}),
        status: run.status,
        ...(error ? { error } : {}),
        summary: run.summary,
      };
    });
  });
}

/** The execution on stdout and in `<out>/last-execution.json`, the bucket's keys, and the showcase query. */
async function showResult(result: LocalRunResult, out: string, location: S3Location): Promise<void> {
  const shown = executionsOf(result);
  console.log(JSON.stringify(shown, null, 2));
  await writeFile(join(out, 'last-execution.json'), `${JSON.stringify(shown, null, 2)}\n`);
  const failed = shown.filter((execution) => execution.status !== 'SUCCEEDED').length;
  console.log(`\n${shown.length} execution(s), ${failed} failed. Objects in the local bucket (${result.mirror}):`);
  for (const key of result.keys) console.log(`  ${key}`);
  const engine = await SqlEngine.open({ folder: result.mirror, location });
  try {
    console.log(`\n${SHOWCASE_QUERY}`);
    console.log(formatResult(await engine.run(SHOWCASE_QUERY), 'table'));
  } finally {
    engine.close();
  }
}

runCli(main, USAGE);
