/**
 * `local`: one run of the real workflow on a local emulator (local/local-run.ts), shown as a table
 * of its parts and the CMDB view of the exported fleet, or as one JSON document (`--output json`).
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cutText, UserInputError } from '#shared/aws/errors';
import { parseS3Path } from '#shared/aws/s3-path';
import type { ExecutionSummary, PartResult } from '#shared/run/summary';
import { DEFAULT_OUT, DEFAULT_S3_PATH } from '#local/defaults';
import { runLocal, type LocalRunResult } from '#local/local-run';
import type { WorkflowRun } from '#local/workflow';
import { SqlEngine, type QueryResult } from '#local/sql-engine';
import type { CliIo } from '#cli/io';
import { alignedRows, resultObjects, rowCount } from '#cli/query';
import { alignColumns } from '#cli/text-table';

/** What a local run ends with: the CMDB view of the exported fleet, as Athena would show it. */
export const CMDB_QUERY = 'SELECT * FROM displayallhostnames';
/** Rows of the CMDB view a local run shows: about a screen. */
export const CMDB_ROWS_SHOWN = 20;
/** Characters of a line when stdout is not a terminal. */
const DEFAULT_WIDTH = 120;
const MIN_NOTE_WIDTH = 20;

export interface LocalOptions {
  out: string;
  seed: string;
  s3Path: string;
  input: string;
  output: 'table' | 'json';
}

/** What the table says of a part besides its counts: its error, else its first warning, else its reason. */
function noteOf(part: PartResult): string {
  const warnings = part.warnings ?? [];
  const note = part.error
    ? `${part.error.name}: ${part.error.message}`
    : warnings.length > 0
      ? `${warnings.length === 1 ? 'warning' : `${warnings.length} warnings, first`}: ${warnings[0]}`
      : (part.reason ?? '');
  return note.replace(/\s+/g, ' ');
}

/** One line per part (PART, STATUS, RECORDS, BYTES, NOTE), the note cut to what `width` leaves. */
export function formatParts(summary: ExecutionSummary, width = DEFAULT_WIDTH): string[] {
  const rows = [
    ['PART', 'STATUS', 'RECORDS', 'BYTES'],
    ...summary.parts.map((part) => [part.part, part.status, String(part.records ?? ''), String(part.bytes ?? '')]),
  ];
  const used = alignColumns(rows, [2, 3]).reduce((longest, line) => Math.max(longest, line.length), 0) + 2;
  const noteWidth = Math.max(MIN_NOTE_WIDTH, width - used);
  const notes = ['NOTE', ...summary.parts.map((part) => cutText(noteOf(part), noteWidth))];
  return alignColumns(
    rows.map((row, index) => [...row, notes[index]]),
    [2, 3],
  );
}

/**
 * What `<out>/last-execution.json` holds: the status, the error, the summary. A PartsFailed
 * error's cause is the summary itself (for the backup API): its one-line message says enough.
 */
export function executionRecord(run: WorkflowRun) {
  const summary = run.summary as ExecutionSummary | undefined;
  const error = run.error?.name === 'PartsFailed' && summary ? { ...run.error, message: summary.message } : run.error;
  return { status: run.status, ...(error ? { error } : {}), summary };
}

/** The parts table, then one line: the execution's status and its summary's message or its error. */
export function formatExecution(run: WorkflowRun, width = DEFAULT_WIDTH): string[] {
  const { status, error, summary } = executionRecord(run);
  const outcome = error && error.name !== 'PartsFailed' ? `${error.name}: ${error.message}` : summary?.message;
  return [...(summary ? formatParts(summary, width) : []), `Execution ${status}${outcome ? `: ${outcome}` : ''}`];
}

/**
 * The CMDB view cut to a screen: its first `shown` rows, then the row count or how many more there
 * are and the command that prints them all (`queryCommand`).
 */
export function formatCmdbView(result: QueryResult, queryCommand: string, shown = CMDB_ROWS_SHOWN): string[] {
  const more = result.rows.length - shown;
  return [
    `${CMDB_QUERY}:`,
    ...alignedRows({ columns: result.columns, rows: result.rows.slice(0, shown) }),
    more > 0 ? `… ${more} more row${more === 1 ? '' : 's'}: ${queryCommand}` : rowCount(result.rows.length),
  ];
}

/** The `query` command that prints the whole CMDB view of this run's bucket copy. */
export function cmdbQueryCommand(options: LocalOptions): string {
  const where = [
    ...(options.out === DEFAULT_OUT ? [] : ['--out', options.out]),
    ...(options.s3Path === DEFAULT_S3_PATH ? [] : ['--s3-path', options.s3Path]),
  ];
  return ['npm run query --', ...[...where, CMDB_QUERY].map(shellWord)].join(' ');
}

/** A word as a POSIX shell reads it back: bare when it can be, else double-quoted, else single-quoted. */
function shellWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return /["$`\\!]/.test(word) ? `'${word.replace(/'/g, `'\\''`)}'` : `"${word}"`;
}

function parseInput(input: string): unknown {
  try {
    return JSON.parse(input);
  } catch (error) {
    throw new UserInputError(
      '--input',
      `it is not valid JSON (${(error as Error).message})`,
      "pass a JSON object, for example '{}'",
    );
  }
}

/** One execution of a local run: each group's, or the run's own when it started none. */
export interface LocalExecution {
  region: string;
  groupName?: string;
  run: WorkflowRun;
}

/**
 * What a run shows per execution: each group's, or the run's own when it started none (a one-group
 * input, or an input refused before any group).
 */
export function executionsOf(result: Pick<LocalRunResult, 'regions'>): LocalExecution[] {
  return result.regions.flatMap((region) =>
    region.groups.length > 0
      ? region.groups.map(({ groupName, run }) => ({ region: region.region, groupName, run }))
      : [{ region: region.region, run: region.run }],
  );
}

/** One execution's entry of `<out>/last-execution.json` and of `--output json`. */
function executionEntry(execution: LocalExecution) {
  return {
    region: execution.region,
    ...(execution.groupName ? { groupName: execution.groupName } : {}),
    ...executionRecord(execution.run),
  };
}

/** Each execution under a line naming its group and region, then how many failed. */
export function formatExecutions(executions: LocalExecution[], width = DEFAULT_WIDTH): string[] {
  const failed = executions.filter((execution) => execution.run.status !== 'SUCCEEDED').length;
  return [
    ...executions.flatMap((execution) => [
      `${execution.groupName ? `Group ${execution.groupName}` : 'Run'} (${execution.region}):`,
      ...formatExecution(execution.run, width),
      '',
    ]),
    `${executions.length} execution${executions.length === 1 ? '' : 's'}, ${failed} failed.`,
  ];
}

export async function localCommand(options: LocalOptions, io: CliIo): Promise<number> {
  const input = parseInput(options.input);
  const location = parseS3Path(options.s3Path);
  if (!location) throw new UserInputError('--s3-path', 'it is empty', 'give s3://bucket or s3://bucket/prefix');
  const out = resolve(options.out);
  const show = async (result: LocalRunResult) => {
    const executions = executionsOf(result);
    const records = executions.map(executionEntry);
    const recordFile = join(out, 'last-execution.json');
    await writeFile(recordFile, `${JSON.stringify(records, null, 2)}\n`);
    io.stderr(`saved ${result.keys.length} objects in ${result.mirror}; the executions' records in ${recordFile}`);
    const engine = await SqlEngine.open({ folder: result.mirror, location });
    let cmdb: QueryResult;
    try {
      cmdb = await engine.run(CMDB_QUERY);
    } finally {
      engine.close();
    }
    if (options.output === 'json') {
      io.print(JSON.stringify({ executions: records, mirror: result.mirror, cmdb: resultObjects(cmdb) }, null, 2));
      return;
    }
    for (const line of formatExecutions(executions, io.columns)) io.print(line);
    io.print('');
    for (const line of formatCmdbView(cmdb, cmdbQueryCommand(options))) io.print(line);
  };
  const result = await runLocal({
    out,
    seedFile: resolve(options.seed),
    s3Path: options.s3Path,
    input,
    afterSave: show,
    onProgress: io.stderr,
  });
  return executionsOf(result).every((execution) => execution.run.status === 'SUCCEEDED') ? 0 : 1;
}
