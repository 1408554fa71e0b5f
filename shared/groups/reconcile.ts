/**
 * Keeps the deployment's schedules in step with the groups of its account and region, without a
 * redeploy: run every 15 minutes, on every CloudFormation stack change, and (single-group mode, when
 * its stream is configured) on every change of a Configuration row that can change `backup.cron`.
 *
 * - A group without a schedule gets one, at its effective `backup.cron` (a new group is backed up at
 *   its first slot); every group's schedule is brought to its current value (a disabled schedule
 *   runs nothing, so nothing else would notice it being enabled again). A group that CloneSquad's
 *   own export still serves at this location has its schedule disabled until it is handed over.
 * - All-groups mode: a schedule whose group's stack is gone (the stack id the schedule recorded is
 *   deleted) is deleted, and the group's metadata objects with it,
 *   so its rows leave the CMDB; its backups are kept.
 *
 * One group's problem never stops the others: each is reported, and the invocation fails at the end
 * when any group failed, so that its errors show as such.
 */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  BatchGetItemCommand,
  GetItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { describeError } from '#shared/aws/errors';
import { log } from '#shared/aws/log';
import { rowFromItem } from '#shared/backup/table-reader';
import type { TableRow } from '#shared/catalog/table-rows';
import { removeGroupMetadata } from '#shared/metadata/group-removal';
import type { ServiceSettings } from '#shared/run/deployment';
import { findCloneSquadGroups } from '#shared/groups/find-groups';
import { planGroup, planOfStack } from '#shared/groups/plan';
import type { GroupPlan } from '#shared/run/group-plan';
import {
  applyGroupSchedule,
  deleteGroupSchedule,
  recordedStackId,
  scheduledGroups,
  scheduleTargetOf,
  type ScheduleTarget,
} from '#shared/schedule/backup-schedule';
import {
  ACTIVE_PARAMETER_SET_KEY,
  BACKUP_CRON_KEY,
  describeSetting,
  desiredSchedule,
  effectiveBackupCron,
  OVERRIDE_BACKUP_CRON_KEY,
  type DesiredSchedule,
} from '#shared/schedule/backup-cron';
import { parameterSetKey } from '#shared/catalog/table-rows';

export interface ReconcileClients {
  cloudformation: CloudFormationClient;
  dynamodb: DynamoDBClient;
  scheduler: SchedulerClient;
  s3: S3Client;
}

export interface ReconcileReport {
  /** What each group's schedule says now, or why it could not be set. */
  groups: { groupName: string; schedule?: string; error?: string }[];
  /** Groups whose stack is gone: schedule deleted, metadata objects removed. */
  removed: { groupName: string; metadataObjects: number }[];
  /** Stacks with a GroupName parameter that are not CloneSquad groups. */
  ignored: { stackName: string; reason: string }[];
}

/**
 * The Configuration rows the effective `backup.cron` depends on, read consistently: the fixed keys,
 * then the active parameter set's own `[set]backup.cron`.
 */
export async function readScheduleRows(dynamodb: DynamoDBClient, table: string, now = new Date()): Promise<TableRow[]> {
  const items: Record<string, AttributeValue>[] = [];
  const response = await dynamodb.send(
    new BatchGetItemCommand({
      RequestItems: {
        [table]: {
          Keys: [OVERRIDE_BACKUP_CRON_KEY, ACTIVE_PARAMETER_SET_KEY, BACKUP_CRON_KEY].map((key) => ({
            Key: { S: key },
          })),
          ConsistentRead: true,
        },
      },
    }),
  );
  items.push(...(response.Responses?.[table] ?? []));
  const rows = live(items, now);
  const activeSet = rows.find((row) => row.key === ACTIVE_PARAMETER_SET_KEY)?.value.trim();
  if (activeSet) {
    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: table,
        Key: { Key: { S: parameterSetKey(activeSet, BACKUP_CRON_KEY) } },
        ConsistentRead: true,
      }),
    );
    if (Item) rows.push(...live([Item], now));
  }
  return rows;
}

function live(items: Record<string, AttributeValue>[], now: Date): TableRow[] {
  const warnings: string[] = [];
  return items
    .map((item) => rowFromItem(item, warnings))
    .filter((row): row is TableRow => row !== undefined)
    .filter((row) => row.expirationTime === undefined || row.expirationTime >= now.getTime() / 1000);
}

/**
 * A group CloneSquad's own export still serves here: its executions would only skip every part, every
 * slot. Its schedule waits, disabled; handing the group over updates its stack, and that change runs
 * the reconciliation again, which enables it.
 */
const SERVED_ELSEWHERE: DesiredSchedule = { state: 'DISABLED' };

async function scheduleOfRows(dynamodb: DynamoDBClient, plan: GroupPlan, now: Date): Promise<DesiredSchedule> {
  const effective = effectiveBackupCron(await readScheduleRows(dynamodb, plan.tables.configuration, now));
  return desiredSchedule(effective.value, plan.timeZone, now, effective.key ?? BACKUP_CRON_KEY);
}

export async function reconcileGroups(
  clients: ReconcileClients,
  settings: ServiceSettings,
  now = new Date(),
): Promise<ReconcileReport> {
  const report: ReconcileReport = { groups: [], removed: [], ignored: [] };
  const target = scheduleTargetOf(settings);
  if (!target) return report;
  let plans: GroupPlan[];
  let stackIds = new Map<string, string>();
  if (settings.groupName !== undefined) {
    plans = [await planGroup(clients.cloudformation, settings)];
  } else {
    const found = await findCloneSquadGroups(clients.cloudformation);
    report.ignored = found.ignored;
    plans = found.groups.map((stack) => planOfStack(stack, settings));
    stackIds = new Map(found.groups.map((stack) => [stack.groupName, stack.stackId]));
  }
  for (const plan of plans) {
    try {
      const desired = plan.skipReason ? SERVED_ELSEWHERE : await scheduleOfRows(clients.dynamodb, plan, now);
      const applied = await applyGroupSchedule(clients.scheduler, target, plan.groupName, desired, {
        stackId: stackIds.get(plan.groupName),
      });
      report.groups.push({ groupName: plan.groupName, schedule: describeSetting(applied.setting) });
    } catch (error) {
      report.groups.push({ groupName: plan.groupName, error: describeError(error).message });
    }
  }
  if (settings.groupName === undefined && settings.destination) {
    const served = new Set(plans.map((plan) => plan.groupName));
    for (const groupName of await scheduledGroups(clients.scheduler, target)) {
      if (served.has(groupName)) continue;
      try {
        if (!(await stackIsGone(clients.cloudformation, clients.scheduler, target, groupName))) continue;
        const removed = await removeGroupMetadata(clients.s3, settings.destination, {
          accountId: settings.accountId,
          region: settings.region,
          groupName,
        });
        await deleteGroupSchedule(clients.scheduler, target, groupName);
        report.removed.push({ groupName, metadataObjects: removed.length });
      } catch (error) {
        report.groups.push({ groupName, error: describeError(error).message });
      }
    }
  }
  log(report.groups.some((group) => group.error) ? 'error' : 'info', 'groups reconciled', { report });
  return report;
}

/**
 * Whether a scheduled group's stack is gone for good: the stack id its schedule recorded is deleted
 * (stack ids are never reused). A group this run did not find for any other reason (a stack whose
 * update removed a table, one rolling back) keeps its schedule; so does one whose schedule recorded
 * no stack.
 */
async function stackIsGone(
  cloudformation: CloudFormationClient,
  scheduler: SchedulerClient,
  target: ScheduleTarget,
  groupName: string,
): Promise<boolean> {
  const stackId = await recordedStackId(scheduler, target, groupName);
  if (!stackId) return false;
  try {
    const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0];
    return !stack || stack.StackStatus === 'DELETE_COMPLETE';
  } catch (error) {
    const { name, message } = describeError(error);
    if (name === 'ValidationError' && /does not exist/i.test(message)) return true;
    throw error;
  }
}
