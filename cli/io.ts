/**
 * What a command reads and writes besides its options: results on stdout, progress and notes on
 * stderr, questions on the terminal, the environment and AWS clients. Tests inject every one.
 */
import { createInterface } from 'node:readline/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';

export type Environment = Record<string, string | undefined>;

export interface AwsClients {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  sts: STSClient;
}

export interface CliIo {
  /** Results, on stdout: what a pipe or `jq` reads. */
  print: (line: string) => void;
  /** Progress, notes and warnings, on stderr. */
  stderr: (line: string) => void;
  /** Characters per line of the terminal stdout is, if it is one. */
  columns?: number;
  /** Asks the operator a question and answers the reply; absent when stdin is not a terminal. */
  ask?: (question: string) => Promise<string>;
  env?: Environment;
  /** The clients to use instead of building them from --region and --profile. */
  clients?: AwsClients;
}

/** The {@link CliIo} of a command run from a shell: a question is asked only of a terminal. */
export function processIo(): CliIo {
  return {
    print: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
    ...(process.stdin.isTTY ? { ask: askOnTerminal } : {}),
  };
}

async function askOnTerminal(question: string): Promise<string> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}
