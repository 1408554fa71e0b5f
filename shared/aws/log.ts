/**
 * One JSON object per line (Powertools for AWS Lambda Logger), so CloudWatch Logs Insights can
 * filter on fields: `level`, `message`, `timestamp`, `service`, the fields given, and inside
 * {@link withLambdaContext} the invocation's request id and cold start.
 *
 * `LOG_LEVEL` (`debug`, `info`, `warn`, `error`, `silent`; any case) drops the lines below it. It is
 * read again whenever it changes: local runs and tests set it after this module is loaded.
 */
import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

/** The `service` of every line: the Serverless service, unless POWERTOOLS_SERVICE_NAME names another. */
export const SERVICE_NAME = 'clonesquad-backup-cmdb';

type Level = 'info' | 'warn' | 'error';
type PowertoolsLevel = keyof typeof LogLevelThreshold;

/** A level Powertools knows, from `LOG_LEVEL`; INFO when it is unset or unknown. */
function levelOf(setting: string | undefined): PowertoolsLevel {
  const name = setting?.trim().toUpperCase() ?? '';
  return name in LogLevelThreshold ? (name as PowertoolsLevel) : 'INFO';
}

let levelSetting = process.env.LOG_LEVEL;

const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
  logLevel: levelOf(levelSetting),
});

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (process.env.LOG_LEVEL !== levelSetting) {
    levelSetting = process.env.LOG_LEVEL;
    logger.setLogLevel(levelOf(levelSetting));
  }
  logger[level](message, fields);
}

/**
 * The handler, with every line it logs carrying its invocation: `function_request_id`,
 * `cold_start`, and the function's name, ARN and memory size. An invocation without a context (a
 * local run calls handlers with the event alone) logs as before.
 *
 * @example
 * export const handler = withLambdaContext(async (event: unknown) => summarize(event));
 */
export function withLambdaContext<Event, Result>(
  handler: (event: Event, context?: Context) => Promise<Result>,
): (event: Event, context?: Context) => Promise<Result> {
  return (event, context) => {
    if (context) logger.addContext(context);
    return handler(event, context);
  };
}
