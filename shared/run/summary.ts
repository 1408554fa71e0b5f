/**
 * What each part of an execution reports, and the execution summary built from them (docs/operations.md).
 * Only these small records travel through the state machine: whatever a part found, its result is
 * bounded ({@link boundedPart}) and so is the summary ({@link summarize}), so no input can push a
 * state past Step Functions' 256 KiB or the summary past a failure cause's 32,768 characters.
 */
import { cutText, describeError } from '#shared/aws/errors';
import { log } from '#shared/aws/log';

export type PartStatus = 'ok' | 'failed' | 'skipped';

export interface PartResult {
  /** `backup/configuration`, `metadata/instances`, `archive`, `catalog`, … */
  part: string;
  status: PartStatus;
  /** S3 keys written by this part. */
  keys?: string[];
  records?: number;
  bytes?: number;
  sha256?: string;
  /** Why the part was skipped, or what an ok part found or left as it was. */
  reason?: string;
  error?: { name: string; message: string };
  warnings?: string[];
}

export function failedPart(part: string, error: unknown): PartResult {
  return { part, status: 'failed', error: describeError(error) };
}

/**
 * The parts `work` answers, or every one of `parts` failed with the error it threw. A failure inside
 * the function is a part result, not a Lambda error, which would cost the workflow a transition
 * through the branch's Catch; the branch's Catch is left to crashes and timeouts.
 */
export async function partsOrFailure(parts: string[], work: () => Promise<PartResult[]>): Promise<PartResult[]> {
  try {
    return await work();
  } catch (error) {
    log('error', `${parts.join(', ')} failed`, { error: describeError(error) });
    return parts.map((part) => failedPart(part, error));
  }
}

export function skippedPart(part: string, reason: string): PartResult {
  return boundedPart({ part, status: 'skipped', reason });
}

/** Longest part name; S3 keys are never longer than {@link MAX_KEY_CHARS}. */
const MAX_PART_NAME_CHARS = 200;
const MAX_KEY_CHARS = 1_024;
const SHA256_HEX_CHARS = 64;
/** Warnings a part result carries at most (the function's log has every one), and their length. */
const MAX_PART_WARNINGS = 10;
const MAX_WARNING_CHARS = 300;

/** How much of a part's texts a result shows; tried from the first until it fits. */
interface Fitting {
  /** Characters of a reason, an error name or message, a warning. */
  text: number;
  warnings: number;
  keys: number;
  /** Characters of the summary's message. */
  message: number;
}

const FITTINGS: Fitting[] = [
  { text: 2_000, warnings: MAX_PART_WARNINGS, keys: 100, message: 8_000 },
  { text: 500, warnings: 3, keys: 20, message: 2_000 },
  { text: 200, warnings: 0, keys: 5, message: 1_000 },
  { text: 60, warnings: 0, keys: 0, message: 300 },
];

/**
 * UTF-8 bytes of a part result's JSON at most, once bounded: the eleven parts of an execution stay
 * far below Step Functions' 256 KiB per state, whatever their texts hold (JSON escapes a control
 * character in 6 bytes, so characters alone do not bound it).
 */
export const MAX_PART_BYTES = 16 * 1024;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * The first `shown` warnings, each cut to `chars`, then one line saying how many more there are.
 * A list at most one longer than `shown` is kept whole, so bounding a bounded list changes nothing.
 */
export function boundedWarnings(warnings: string[], shown = MAX_PART_WARNINGS, chars = MAX_WARNING_CHARS): string[] {
  const cut = (warning: string) => cutText(warning, chars);
  if (warnings.length <= shown + 1) return warnings.map(cut);
  const more = warnings.length - shown;
  return [...warnings.slice(0, shown).map(cut), `${more} more warnings; the function's log lists each`];
}

/** The part with its texts and keys cut as `fitting` says; its other fields as they are. */
function fitPart<T extends PartResult>(part: T, fitting: Fitting): T {
  const { keys, sha256, reason, error, warnings, ...rest } = part;
  const text = (value: string) => cutText(value, fitting.text);
  const shownKeys = (keys ?? []).slice(0, fitting.keys).map((key) => cutText(key, MAX_KEY_CHARS));
  return {
    ...rest,
    part: cutText(part.part, MAX_PART_NAME_CHARS),
    ...(keys !== undefined ? { keys: shownKeys } : {}),
    ...(sha256 !== undefined ? { sha256: cutText(sha256, SHA256_HEX_CHARS) } : {}),
    ...(reason !== undefined ? { reason: text(reason) } : {}),
    ...(error !== undefined ? { error: { name: text(error.name), message: text(error.message) } } : {}),
    ...(warnings !== undefined
      ? { warnings: boundedWarnings(warnings, fitting.warnings, Math.min(MAX_WARNING_CHARS, fitting.text)) }
      : {}),
  } as T;
}

/**
 * The part result as it may travel through the state machine: within {@link MAX_PART_BYTES}, its
 * texts cut ever shorter until it fits; every other field (counts, what the archive step needs) as
 * it is. Every workflow function answers its results through it.
 */
export function boundedPart<T extends PartResult>(part: T): T {
  let fitted = part;
  for (const fitting of FITTINGS) {
    fitted = fitPart(part, fitting);
    if (jsonBytes(fitted) <= MAX_PART_BYTES) break;
  }
  return fitted;
}

/** {@link boundedPart} of a function's answer: one part result or several. */
export function boundedParts<T extends PartResult | PartResult[]>(result: T): T {
  return (Array.isArray(result) ? result.map(boundedPart) : boundedPart(result)) as T;
}

/**
 * A Step Functions `Catch` hands over `{Error, Cause}`; for a Lambda error the Cause is the JSON of
 * `{errorType, errorMessage, …}`. This turns either shape into the summary's error.
 */
export function errorFromCatch(caught: unknown): { name: string; message: string } {
  if (typeof caught !== 'object' || caught === null) return describeError(caught);
  const { Error: error, Cause: cause } = caught as { Error?: string; Cause?: unknown };
  const name = error ?? 'Error';
  let message = cause === undefined || cause === null ? '' : typeof cause === 'string' ? cause : JSON.stringify(cause);
  try {
    const parsed = JSON.parse(message) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // A plain-text Cause is already the message.
  }
  // States.Timeout and a Fail state may come without a Cause: the error name is then the message.
  return { name, message: message === '' ? name : message };
}

export interface ExecutionSummary {
  status: 'ok' | 'failed';
  groupName: string;
  executionStartTime: string;
  counts: Record<PartStatus, number>;
  parts: PartResult[];
  /** One line for humans and for the failure cause shown in the console. */
  message: string;
  /** What is worth knowing about the group itself (its stack missing, a second export elsewhere…). */
  warnings?: string[];
}

const PART_STATUSES: readonly PartStatus[] = ['ok', 'failed', 'skipped'];

const isNamedPart = (item: Record<string, unknown>) =>
  typeof item.part === 'string' && item.part !== '' && PART_STATUSES.includes(item.status as PartStatus);

/** A failure state's answer: `{ failedParts: [names], caught }`, at least one name. */
export function isBranchFailure(value: unknown): value is BranchFailure {
  const failedParts = (value as { failedParts?: unknown } | null)?.failedParts;
  return (
    Array.isArray(failedParts) &&
    failedParts.length > 0 &&
    failedParts.every((name) => typeof name === 'string' && name !== '')
  );
}

/**
 * The parts in the order the workflow hands them over: branches that export several tables answer
 * an array, and a branch's failure state answers `{ failedParts: [names], caught }`, which stands
 * for one failed part per name. Anything else is refused before the caller acts on it: the archive
 * step must not move `latest-` on results it cannot read.
 */
export function flattenParts(parts: unknown[]): RawPartResult[] {
  return parts.flat(2).flatMap((item, index) => {
    const record = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (isBranchFailure(record)) {
      return record.failedParts.map((part): RawPartResult => ({ part, status: 'failed', caught: record.caught }));
    }
    if (isNamedPart(record)) return [record as unknown as RawPartResult];
    throw new TypeError(
      `part result ${index} is ${cutText(JSON.stringify(item) ?? String(item), 200)}: expected ` +
        `{ part, status: ${PART_STATUSES.join(' | ')} } or { failedParts: [names], caught }. ` +
        'The workflow definition hands these over; check the states before this one.',
    );
  });
}

interface BranchFailure {
  failedParts: string[];
  caught: unknown;
}

/** A part as a branch hands it over: failure branches carry the raw `Catch` output as `caught`. */
export type RawPartResult = PartResult & { caught?: unknown };

const SUMMARY_FIELDS = ['part', 'status', 'keys', 'records', 'bytes', 'sha256', 'reason', 'error', 'warnings'] as const;

/** The part as the summary shows it: the fields of {@link PartResult} only, a caught error made readable. */
export function normalizePart(raw: RawPartResult): PartResult {
  const part = Object.fromEntries(
    SUMMARY_FIELDS.filter((field) => raw[field] !== undefined).map((field) => [field, raw[field]]),
  ) as unknown as PartResult;
  return boundedPart(
    raw.caught === undefined ? part : { ...part, status: 'failed', error: errorFromCatch(raw.caught) },
  );
}

/**
 * A failed execution's cause is the concluding step's error, whose message is the summary's JSON (see
 * {@link partsFailedError}), and Step Functions keeps 32,768 characters of a cause: past that the
 * summary could not be read back as JSON. The whole cause is kept within this many UTF-8 bytes
 * (never fewer than its characters), with room to spare.
 */
export const MAX_SUMMARY_BYTES = 32_000;

/**
 * The error the concluding step (Archive, or Summarize when Archive crashed) ends a failed execution
 * with: its message is the summary's JSON.
 */
export class PartsFailed extends Error {
  constructor(summary: ExecutionSummary) {
    super(JSON.stringify(summary));
    this.name = 'PartsFailed';
    // Lambda sends the stack as the error's trace, inside the cause: only the name, so the cause holds the summary.
    this.stack = 'PartsFailed';
  }
}

/**
 * The execution's verdict: its summary, or, when a part failed, {@link PartsFailed} thrown with it (the
 * workflow then fails the execution with the summary as its cause: red in the console, after every
 * part finished).
 */
export function concludeExecution(
  groupName: string,
  executionStartTime: string,
  parts: RawPartResult[],
  warnings: string[] | undefined,
): ExecutionSummary {
  const summary = summarize(groupName, executionStartTime, parts, warnings);
  log(summary.status === 'ok' ? 'info' : 'error', summary.message, { summary });
  if (summary.status === 'failed') throw new PartsFailed(summary);
  return summary;
}

/** The cause Step Functions records when the concluding step throws {@link PartsFailed}. */
export function partsFailedCause(summary: ExecutionSummary): string {
  return JSON.stringify({ errorType: 'PartsFailed', errorMessage: JSON.stringify(summary), trace: ['PartsFailed'] });
}

const causeBytes = (summary: ExecutionSummary) => Buffer.byteLength(partsFailedCause(summary), 'utf8');

const MAX_HEADER_CHARS = 100;

/**
 * The execution summary. Its JSON fits {@link MAX_SUMMARY_BYTES} whatever the parts hold: parts are
 * shown ever shorter until it fits, and should even their names not fit (thousands of parts), the
 * failed ones come first and the message says how many are left out. Counts always cover every part.
 */
export function summarize(
  groupName: string,
  executionStartTime: string,
  rawParts: RawPartResult[],
  groupWarnings: string[] = [],
): ExecutionSummary {
  const parts = rawParts.map(normalizePart);
  const counts: Record<PartStatus, number> = { ok: 0, failed: 0, skipped: 0 };
  for (const part of parts) counts[part.status] += 1;
  const group = cutText(groupName, MAX_HEADER_CHARS);
  const header = {
    status: counts.failed === 0 ? ('ok' as const) : ('failed' as const),
    groupName: group,
    executionStartTime: cutText(executionStartTime, MAX_HEADER_CHARS),
    counts,
    ...(groupWarnings.length > 0 ? { warnings: boundedWarnings(groupWarnings, 3) } : {}),
  };
  const tally = `${group}: ${counts.ok} ok, ${counts.failed} failed, ${counts.skipped} skipped`;
  const message = (shown: PartResult[], max: number) => {
    const failures = shown.filter((part) => part.status === 'failed');
    const details = failures.map((part) => `${part.part}: ${part.error?.message ?? 'failed'}`).join('; ');
    return failures.length === 0 ? tally : cutText(`${tally}; ${details}`, max);
  };
  let summary: ExecutionSummary | undefined;
  let fitted: PartResult[] = [];
  for (const fitting of FITTINGS) {
    fitted = parts.map((part) => fitPart(part, fitting));
    summary = { ...header, parts: fitted, message: message(fitted, fitting.message) };
    if (causeBytes(summary) <= MAX_SUMMARY_BYTES) return summary;
  }
  return withPartsLeftOut(summary!, fitted);
}

function withPartsLeftOut(summary: ExecutionSummary, parts: PartResult[]): ExecutionSummary {
  const note = (count: number) => `; ${count} parts left out of this summary (each function's log has its results)`;
  const base = { ...summary, parts: [], message: `${summary.message}${note(parts.length)}` };
  let budget = MAX_SUMMARY_BYTES - causeBytes(base);
  const failedFirst = parts
    .map((part, index) => ({ part, index }))
    .sort((a, b) => Number(b.part.status === 'failed') - Number(a.part.status === 'failed'));
  const kept = new Set<number>();
  for (const { part, index } of failedFirst) {
    // Inside the cause, the summary's JSON is itself a JSON string: a part costs its escaped JSON and a comma.
    const cost = Buffer.byteLength(JSON.stringify(JSON.stringify(part)), 'utf8') - 2 + 1;
    if (cost > budget) break;
    budget -= cost;
    kept.add(index);
  }
  return {
    ...summary,
    parts: parts.filter((_, index) => kept.has(index)),
    message: `${summary.message}${note(parts.length - kept.size)}`,
  };
}
