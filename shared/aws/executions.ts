/**
 * Starting executions of the workflow, named so that a repeated start starts nothing twice: Step
 * Functions refuses a second execution of the same name (for 90 days), and the start answers the
 * execution already there.
 */
import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** One execution, started for one group. */
export interface StartedExecution {
  groupName: string;
  executionName: string;
  executionArn: string;
  /** It had been started already (a repeated delivery, a retried step): nothing new was started. */
  alreadyStarted: boolean;
}

/**
 * The name of the execution started for `groupName` by the execution `parentArn`: the group first
 * (readable in the console), then a hash of both, so a retried first step starts nothing twice
 * (Step Functions refuses a second execution of the same name).
 */
export function groupRunName(parentArn: string, groupName: string): string {
  const hash = createHash('sha256').update(`${parentArn}\n${groupName}`).digest('hex').slice(0, 12);
  return `${executionNameSafe(groupName, 80 - hash.length - 1)}-${hash}`;
}

/** `text` with the characters execution names refuse replaced, cut to `max`. */
export function executionNameSafe(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, max);
}

/** Starts one execution, or finds it started already (a repeated delivery or a retried step). */
export async function startExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  run: { groupName: string; input: string },
): Promise<StartedExecution> {
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: run.input }));
    return {
      groupName: run.groupName,
      executionName: name,
      executionArn: started.executionArn ?? executionArn,
      alreadyStarted: false,
    };
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    return { groupName: run.groupName, executionName: name, executionArn, alreadyStarted: true };
  }
}
