/**
 * The execution input: what a console StartExecution, the `backup` API and the schedules may ask of
 * one run. `{}` runs everything for every group the deployment serves; `{"groupName": G}` runs one
 * group; `{"parts": [...]}` narrows the run to the parts named.
 * The JSON Schema below is the contract: the API validates request bodies against it (an API
 * Gateway model), and the workflow's first step validates any input with {@link parseRunRequest},
 * which follows the same schema and names the field and the allowed values when it refuses.
 */
import { quoteInput, UserInputError } from '#shared/aws/errors';
import { BACKUP_TABLES, METADATA_TABLES } from '#shared/aws/s3-layout';
import { GROUP_NAME_PATTERN, groupNameProblem, MAX_GROUP_NAME_CHARS } from '#shared/run/group-name';

/** Parts a run can be narrowed to, as the summary names them. */
export const RUN_PARTS = [
  ...BACKUP_TABLES.map((table) => `backup/${table}` as const),
  ...METADATA_TABLES.map((table) => `metadata/${table}` as const),
];
export type RunPart = (typeof RUN_PARTS)[number];

/** Shorthands: every part of a kind. */
export const PART_GROUPS: Record<string, readonly RunPart[]> = {
  backups: RUN_PARTS.filter((part) => part.startsWith('backup/')),
  metadata: RUN_PARTS.filter((part) => part.startsWith('metadata/')),
};

/**
 * Parts produced together from one read: asking for one runs both. `instances` and `volumes` come
 * from the same DescribeInstances pass (a volume is exported because an instance of the group has it).
 */
const PRODUCED_TOGETHER: readonly (readonly RunPart[])[] = [['metadata/instances', 'metadata/volumes']];

/** What a narrowed-out part reports as the reason it was skipped. */
export const NOT_REQUESTED = 'not requested';

/**
 * A narrowed-out part. A metadata part says it created no partition, as every metadata part result
 * does (the workflow decides on the crawler from those flags, and needs at least one).
 */
export function notRequestedPart(part: string) {
  return {
    part,
    status: 'skipped' as const,
    reason: NOT_REQUESTED,
    ...(part.startsWith('metadata/') ? { newPartition: false } : {}),
  };
}

const ALLOWED_VALUES = [...Object.keys(PART_GROUPS), ...RUN_PARTS];

/**
 * The input's JSON Schema (draft 4, the dialect API Gateway models use). Unknown fields and unknown
 * part names are refused.
 */
export const RUN_REQUEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'BackupRunRequest',
  description:
    'Execution input: {} runs everything for every group; "groupName" runs one group; "parts" narrows the run.',
  type: 'object',
  additionalProperties: false,
  properties: {
    groupName: {
      description: 'The CloneSquad group to run; every group the deployment serves when absent.',
      type: 'string',
      pattern: GROUP_NAME_PATTERN.source,
      maxLength: MAX_GROUP_NAME_CHARS,
    },
    parts: {
      description: 'Parts to run; "backups" and "metadata" stand for every part of their kind.',
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: ALLOWED_VALUES },
    },
  },
} as const;

/** What an input asks for: the parts to produce, in {@link RUN_PARTS} order, and the group if one is named. */
export interface RunRequest {
  requestedParts: RunPart[];
  groupName?: string;
}

function refuse(field: string, problem: string, fix: string): never {
  throw new UserInputError(`execution input${field}`, problem, fix);
}

const ALLOWED_TEXT = ALLOWED_VALUES.map((value) => JSON.stringify(value)).join(', ');
const EXAMPLE =
  'for example {} to run everything, {"groupName": "web"} for one group, or {"parts": ["backups", "metadata/instances"]}';

/**
 * Validates an execution input and expands it into the parts to run. Throws a
 * {@link UserInputError} naming the field, the problem and the allowed values.
 *
 * @example
 * parseRunRequest({ parts: ['backups', 'metadata/volumes'] }).requestedParts;
 * // ['backup/configuration', 'backup/scheduler', 'metadata/instances', 'metadata/volumes']
 */
export function parseRunRequest(input: unknown): RunRequest {
  if (input === null || input === undefined) return { requestedParts: [...RUN_PARTS] };
  if (typeof input !== 'object' || Array.isArray(input)) {
    refuse(
      '',
      `it is ${Array.isArray(input) ? 'an array' : `the ${typeof input} ${quoteInput(input)}`}, not an object`,
      `give a JSON object, ${EXAMPLE}`,
    );
  }
  const unknown = Object.keys(input).filter((field) => field !== 'parts' && field !== 'groupName');
  if (unknown.length > 0) {
    refuse(
      ` field ${unknown.map((field) => quoteInput(field)).join(', ')}`,
      'no such field',
      `the fields are "groupName" (a CloneSquad group) and "parts" (an array of ${ALLOWED_TEXT}), ${EXAMPLE}`,
    );
  }
  const groupName = parseGroupName((input as { groupName?: unknown }).groupName);
  const group = groupName === undefined ? {} : { groupName };
  const parts = (input as { parts?: unknown }).parts;
  if (parts === undefined) return { requestedParts: [...RUN_PARTS], ...group };
  if (!Array.isArray(parts)) {
    refuse('.parts', `it is ${quoteInput(parts)}, not an array`, `give an array of ${ALLOWED_TEXT}`);
  }
  if (parts.length === 0) {
    refuse(
      '.parts',
      'it is empty, so nothing would run',
      `name at least one of ${ALLOWED_TEXT}, or leave "parts" out to run everything`,
    );
  }
  const wanted = new Set<RunPart>();
  parts.forEach((value: unknown, index) => {
    if (typeof value !== 'string' || !ALLOWED_VALUES.includes(value)) {
      refuse(`.parts[${index}]`, `${quoteInput(value)} is not a part`, `use one of ${ALLOWED_TEXT}`);
    }
    if (parts.indexOf(value) !== index) {
      refuse(`.parts[${index}]`, `${quoteInput(value)} is given twice`, 'name each part once');
    }
    for (const part of PART_GROUPS[value] ?? [value as RunPart]) wanted.add(part);
  });
  for (const group of PRODUCED_TOGETHER) {
    if (group.some((part) => wanted.has(part))) for (const part of group) wanted.add(part);
  }
  return { requestedParts: RUN_PARTS.filter((part) => wanted.has(part)), ...group };
}

function parseGroupName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const problem = typeof value === 'string' ? groupNameProblem(value) : 'is not a string';
  if (problem) {
    refuse(
      '.groupName',
      `${quoteInput(value)} is not a group name: it ${problem}`,
      'give the GroupName of a CloneSquad deployment of this account and region, or leave "groupName" out to run every group',
    );
  }
  return value as string;
}

/**
 * Whether a Task event asks for `part`. Events carry the plan's `requestedParts`; an event without
 * it (a direct invocation) asks for everything.
 */
export function isRequested(event: unknown, part: string): boolean {
  const requested = (event as { requestedParts?: unknown } | null)?.requestedParts;
  if (requested === undefined) return true;
  if (!Array.isArray(requested)) {
    throw new TypeError(
      `event.requestedParts must be an array of part names; got ${quoteInput(requested)}. The state machine definition passes it.`,
    );
  }
  return requested.includes(part);
}
