/**
 * What each part of an execution reports, and the execution summary built from them (SPEC §9).
 * Only these small records travel through the state machine.
 */
import { describeError } from './errors.ts';

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
  /** Why the part was skipped. */
  reason?: string;
  error?: { name: string; message: string };
  warnings?: string[];
}

export function failedPart(part: string, error: unknown): PartResult {
  return { part, status: 'failed', error: describeError(error) };
}

export function skippedPart(part: string, reason: string): PartResult {
  return { part, status: 'skipped', reason };
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
}

/**
 * The parts in the order the workflow hands them over: branches that export several tables answer
 * an array, and a branch's failure state answers `{ failedParts: [names], caught }`, which stands
 * for one failed part per name.
 */
export function flattenParts(parts: unknown[]): RawPartResult[] {
  return (parts.flat(2) as (RawPartResult | BranchFailure)[]).flatMap((item) =>
    'failedParts' in item
      ? item.failedParts.map((part): RawPartResult => ({ part, status: 'failed', caught: item.caught }))
      : [item],
  );
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
  return raw.caught === undefined ? part : { ...part, status: 'failed', error: errorFromCatch(raw.caught) };
}

export function summarize(groupName: string, executionStartTime: string, rawParts: RawPartResult[]): ExecutionSummary {
  const parts = rawParts.map(normalizePart);
  const counts: Record<PartStatus, number> = { ok: 0, failed: 0, skipped: 0 };
  for (const part of parts) counts[part.status] += 1;
  const failures = parts.filter((part) => part.status === 'failed');
  const tally = `${counts.ok} ok, ${counts.failed} failed, ${counts.skipped} skipped`;
  const message =
    failures.length === 0
      ? `${groupName}: ${tally}`
      : `${groupName}: ${tally}; ${failures.map((part) => `${part.part}: ${part.error?.message ?? 'failed'}`).join('; ')}`;
  return withinCauseLimit({
    status: failures.length === 0 ? 'ok' : 'failed',
    groupName,
    executionStartTime,
    counts,
    parts,
    message,
  });
}

/**
 * A failed execution's cause is the summary's JSON, and Step Functions keeps 32,768 characters of a
 * cause: past that the `backup` API could not answer it as JSON. Warnings are what can grow (the
 * logs have every one), so they are shortened, then dropped, until the summary fits.
 */
export const MAX_SUMMARY_CHARS = 32_000;

function withinCauseLimit(summary: ExecutionSummary): ExecutionSummary {
  let fitted = summary;
  for (const kept of [3, 0]) {
    if (JSON.stringify(fitted).length <= MAX_SUMMARY_CHARS) return fitted;
    fitted = {
      ...summary,
      parts: summary.parts.map((part) => {
        if (!part.warnings || part.warnings.length <= kept) return part;
        const more = `${part.warnings.length - kept} more warnings in the function's log`;
        return { ...part, warnings: [...part.warnings.slice(0, kept), more] };
      }),
    };
  }
  return fitted;
}
