/**
 * The group an execution serves, as its first step resolves it and every other step receives it
 * (`event.group`): only its own Lambda writes it, never the execution's input, so a console or API
 * caller cannot point a run at other tables or keys than its group's.
 */
import type { BackupTable } from '#shared/aws/s3-layout';
import { isArray, isString, requireField } from '#shared/aws/handler-input';
import { groupDeployment, type Deployment, type ServiceSettings } from '#shared/run/deployment';
import { isRequested } from '#shared/run/run-request';
import { boundedPart, type PartResult } from '#shared/run/summary';

export interface GroupPlan {
  groupName: string;
  stackName: string;
  tables: Record<BackupTable, string>;
  /** The zone the group's `localcron()` values are read in. */
  timeZone: string;
  /** Why every part is skipped: CloneSquad's own export already writes this group's keys. */
  skipReason?: string;
  /** What the summary should say about the group (its stack missing, a second export elsewhere…). */
  warnings?: string[];
}

function isGroupPlan(value: unknown): value is GroupPlan {
  const plan = value as Partial<GroupPlan> | null;
  return (
    typeof plan === 'object' &&
    plan !== null &&
    isString(plan.groupName) &&
    isString(plan.stackName) &&
    isString(plan.timeZone) &&
    typeof plan.tables === 'object' &&
    plan.tables !== null &&
    isString(plan.tables.configuration) &&
    isString(plan.tables.scheduler)
  );
}

/** What a step of one group's execution receives, checked. */
export interface GroupTask {
  group: GroupPlan;
  deployment: Deployment;
  executionStartTime: string;
  /** Whether the run asks for `part` (a narrowed run skips the others). */
  requested(part: string): boolean;
}

/** Reads a Task event `{ group, executionStartTime, requestedParts? }` of one group's execution. */
export function groupTask(event: unknown, settings: ServiceSettings): GroupTask {
  const group = requireField(event, 'group', isGroupPlan, 'the group the first step planned');
  const executionStartTime = requireField(event, 'executionStartTime', isString, 'an ISO-8601 time');
  if ((event as { requestedParts?: unknown }).requestedParts !== undefined) {
    requireField(event, 'requestedParts', isArray, 'the array of requested parts');
  }
  return {
    group,
    deployment: groupDeployment(settings, group),
    executionStartTime,
    requested: (part) => isRequested(event, part),
  };
}

/**
 * The parts of a group the run leaves alone: skipped with the group's reason (CloneSquad's own
 * export writes its keys), or as not requested. A metadata part says it created no partition, as
 * every metadata part result does (the archive step decides on the crawler from those flags).
 */
export function skippedParts(task: GroupTask, parts: string[]): PartResult[] | undefined {
  const reason = task.group.skipReason;
  if (reason === undefined && parts.some((part) => task.requested(part))) return undefined;
  return parts.map((part) =>
    boundedPart({
      part,
      status: 'skipped' as const,
      reason: reason ?? 'not requested',
      ...(part.startsWith('metadata/') ? { newPartition: false } : {}),
    }),
  );
}
