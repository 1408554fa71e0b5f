/**
 * Fault injection for whole local executions: every AWS SDK call a Task makes, and every Task
 * invocation itself, can be made to fail the way AWS fails.
 *
 * - AWS calls: a middleware is added to every SDK client when it first sends (the handlers create
 *   their clients at module scope, so `Client.prototype.send` is the one place that sees them all).
 *   It sits innermost, between the SDK's deserializer and the HTTP handler, so the SDK's own retry
 *   loop and error parsing run unchanged: a fault is a real HTTP answer in the service's own
 *   protocol (throttling, 5xx, AccessDenied), an answer lost after the emulator applied the request,
 *   or a request sent to a loopback server that never answers, which times out on the socket.
 * - Task invocations: {@link FaultInjector.aroundTask}, given to `runWorkflow`, knows which Task is
 *   running (so faults target one step's calls) and can fail an invocation as Lambda does
 *   (`Lambda.ServiceException` before or after the handler ran, `Lambda.TooManyRequestsException`).
 *
 * SDK back-off sleeps are cut to a millisecond (attempt counts are unchanged), and each scenario
 * gets a fresh retry token bucket, as a fresh Lambda container would.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Client } from '@smithy/core/client';
import { HttpRequest, HttpResponse } from '@smithy/core/protocols';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { TaskInterceptor } from '#local/workflow';

export const SERVICES = [
  'S3',
  'DynamoDB',
  'EC2',
  'SSM',
  'CloudFormation',
  'Organizations',
  'Lambda',
  'Glue',
  'Scheduler',
] as const;
export type Service = (typeof SERVICES)[number];

/**
 * Error faults answer with an error; `answer-lost` applies the request, then answers a 500;
 * `ok-with-error` is S3's 200 OK whose body is an error (CopyObject, CompleteMultipartUpload).
 */
export type ErrorFault = 'throttling' | 'server-error' | 'access-denied';
export type FaultKind = ErrorFault | 'timeout' | 'answer-lost' | 'ok-with-error';

export interface FaultRule {
  /** The Task whose calls fail. */
  state: string;
  service: Service;
  /** The API operation, as in `PutObject`. */
  operation: string;
  /** Narrows the calls further by their input, for example to one S3 key. */
  when?: (input: Record<string, unknown>) => boolean;
  kind: FaultKind;
  /** How many attempts fail before the call recovers; `Infinity` never recovers. */
  times: number;
}

export type LambdaFault = 'Lambda.ServiceException' | 'Lambda.TooManyRequestsException';

export interface LambdaFaultRule {
  state: string;
  error: LambdaFault;
  /** `before`: the function never ran; `after`: it ran, and its answer was lost. */
  phase: 'before' | 'after';
  times: number;
}

/** One attempt of one AWS call, as the middleware saw it. */
export interface RecordedCall {
  state: string | undefined;
  service: string;
  operation: string;
  faulted?: FaultKind;
}

/** Per service: the HTTP status and error code AWS answers for each error fault. */
const ERROR_CODES: Record<Service, Record<ErrorFault, [number, string]>> = {
  S3: { throttling: [503, 'SlowDown'], 'server-error': [500, 'InternalError'], 'access-denied': [403, 'AccessDenied'] },
  DynamoDB: {
    throttling: [400, 'ThrottlingException'],
    'server-error': [500, 'InternalServerError'],
    'access-denied': [400, 'AccessDeniedException'],
  },
  EC2: {
    throttling: [503, 'RequestLimitExceeded'],
    'server-error': [500, 'InternalError'],
    'access-denied': [403, 'UnauthorizedOperation'],
  },
  SSM: {
    throttling: [400, 'ThrottlingException'],
    'server-error': [500, 'InternalServerError'],
    'access-denied': [400, 'AccessDeniedException'],
  },
  CloudFormation: {
    throttling: [400, 'Throttling'],
    'server-error': [500, 'InternalFailure'],
    'access-denied': [403, 'AccessDenied'],
  },
  Organizations: {
    throttling: [400, 'TooManyRequestsException'],
    'server-error': [500, 'ServiceException'],
    'access-denied': [400, 'AccessDeniedException'],
  },
  Lambda: {
    throttling: [429, 'TooManyRequestsException'],
    'server-error': [500, 'ServiceException'],
    'access-denied': [403, 'AccessDeniedException'],
  },
  Glue: {
    throttling: [400, 'ThrottlingException'],
    'server-error': [500, 'InternalServiceException'],
    'access-denied': [400, 'AccessDeniedException'],
  },
  Scheduler: {
    throttling: [429, 'ThrottlingException'],
    'server-error': [500, 'InternalServerException'],
    'access-denied': [403, 'AccessDeniedException'],
  },
};

const JSON_PROTOCOL: Partial<Record<Service, string>> = {
  DynamoDB: 'application/x-amz-json-1.0',
  SSM: 'application/x-amz-json-1.1',
  Organizations: 'application/x-amz-json-1.1',
  Lambda: 'application/json',
  Glue: 'application/x-amz-json-1.1',
  Scheduler: 'application/json',
};

/** The text every injected error message starts with, so a summary can be traced to its fault. */
export const INJECTED = 'Injected';

/**
 * The error answer `service` gives for `fault`, in its own wire protocol; `as` overrides the status
 * and the fault named in the message.
 */
export function errorResponse(
  service: Service,
  fault: ErrorFault,
  operation: string,
  as: { statusCode?: number; kind?: FaultKind } = {},
): HttpResponse {
  const [errorStatus, code] = ERROR_CODES[service][fault];
  const statusCode = as.statusCode ?? errorStatus;
  const message = `${INJECTED} ${as.kind ?? fault} fault on ${service}.${operation}`;
  const requestId = `injected-${Math.random().toString(16).slice(2, 10)}`;
  const jsonType = JSON_PROTOCOL[service];
  let body: string;
  let contentType = 'text/xml';
  if (jsonType) {
    contentType = jsonType;
    body = JSON.stringify({ __type: code, message, Message: message });
  } else if (service === 'S3') {
    body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`;
  } else if (service === 'EC2') {
    body = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  } else {
    body = `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>${statusCode < 500 ? 'Sender' : 'Receiver'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  }
  const bytes = Buffer.from(body, 'utf8');
  return new HttpResponse({
    statusCode,
    headers: {
      'content-type': contentType,
      'content-length': String(bytes.length),
      'x-amzn-requestid': requestId,
      'x-amz-request-id': requestId,
      ...(jsonType ? { 'x-amzn-errortype': code } : {}),
    },
    body: Readable.from([bytes]),
  });
}

/** The parts of an SDK client the injector touches. */
interface AnyClient {
  config: Record<string, unknown>;
  middlewareStack: { add(middleware: unknown, options: object): void };
}
type Handler = (args: { input: object; request: unknown }) => Promise<{ response: unknown }>;

/** A loopback server that accepts connections and reads requests, and never answers. */
async function startBlackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('black hole: no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface FaultInjectorOptions {
  /** Socket inactivity that counts as a timeout for requests sent to the black hole. */
  hangMs?: number;
  /** SDK back-off between attempts. */
  backoffMs?: number;
}

export class FaultInjector {
  /** Every attempt of every AWS call since the last {@link reset}. */
  calls: RecordedCall[] = [];
  /** Every Task invocation failed as Lambda would, since the last {@link reset}. */
  lambdaFaults: { state: string; error: LambdaFault; phase: 'before' | 'after' }[] = [];
  /**
   * Clients a Task used whose HTTP handler has no socket or connection timeout: a hung request
   * would never end.
   */
  readonly clientsWithoutTimeout = new Set<string>();

  private rules: { rule: FaultRule; left: number; hits: number }[] = [];
  private lambdaRules: { rule: LambdaFaultRule; left: number }[] = [];
  private readonly currentState = new AsyncLocalStorage<string>();
  private readonly instrumented = new WeakSet<object>();
  private readonly retryStrategies = new Map<AnyClient, { original: unknown; epoch: number; strategy?: unknown }>();
  private epoch = 0;
  private originalSend: typeof Client.prototype.send | undefined;
  private blackHole: { port: number; close(): Promise<void> } | undefined;
  private hangHandler: NodeHttpHandler | undefined;
  private readonly hangMs: number;
  private readonly backoffMs: number;

  constructor(options: FaultInjectorOptions = {}) {
    this.hangMs = options.hangMs ?? 100;
    this.backoffMs = options.backoffMs ?? 1;
  }

  async install(): Promise<void> {
    if (this.originalSend) return;
    this.blackHole = await startBlackHole();
    this.hangHandler = new NodeHttpHandler({ connectionTimeout: this.hangMs, socketTimeout: this.hangMs });
    const originalSend = Client.prototype.send;
    this.originalSend = originalSend;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const injector = this;
    Client.prototype.send = function (this: unknown, ...args: unknown[]) {
      injector.instrument(this as AnyClient);
      return (originalSend as (...parameters: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.send;
  }

  async uninstall(): Promise<void> {
    if (this.originalSend) Client.prototype.send = this.originalSend;
    this.originalSend = undefined;
    for (const [client, { original }] of this.retryStrategies) client.config.retryStrategy = original;
    this.retryStrategies.clear();
    this.hangHandler?.destroy();
    await this.blackHole?.close();
  }

  /** Forgets the recorded calls and the rules; every client gets a fresh retry token bucket. */
  reset(): void {
    this.calls = [];
    this.rules = [];
    this.lambdaRules = [];
    this.lambdaFaults = [];
    this.epoch += 1;
  }

  arm(rules: FaultRule[], lambdaRules: LambdaFaultRule[] = []): void {
    this.rules = rules.map((rule) => ({ rule, left: rule.times, hits: 0 }));
    this.lambdaRules = lambdaRules.map((rule) => ({ rule, left: rule.times }));
  }

  /** How many attempts each AWS call rule failed, in the order armed. */
  ruleHits(): number[] {
    return this.rules.map(({ hits }) => hits);
  }

  readonly aroundTask: TaskInterceptor = (stateName, invoke) =>
    this.currentState.run(stateName, async () => {
      const before = this.takeLambdaFault(stateName, 'before');
      if (before) throw before;
      const result = await invoke();
      const after = this.takeLambdaFault(stateName, 'after');
      if (after) throw after;
      return result;
    });

  private takeLambdaFault(state: string, phase: 'before' | 'after'): Error | undefined {
    const match = this.lambdaRules.find(({ rule, left }) => rule.state === state && rule.phase === phase && left > 0);
    if (!match) return undefined;
    match.left -= 1;
    this.lambdaFaults.push({ state, error: match.rule.error, phase });
    const error = new Error(`${INJECTED} ${match.rule.error} (${phase === 'after' ? 'answer lost' : 'not invoked'})`);
    error.name = match.rule.error;
    return error;
  }

  private instrument(client: AnyClient): void {
    if (this.instrumented.has(client)) return;
    this.instrumented.add(client);
    const timeouts = this.hasTimeouts(client);
    const original = client.config.retryStrategy;
    const entry: { original: unknown; epoch: number; strategy?: unknown } = { original, epoch: -1 };
    this.retryStrategies.set(client, entry);
    client.config.retryStrategy = async () => {
      if (entry.epoch !== this.epoch || !entry.strategy) {
        entry.epoch = this.epoch;
        entry.strategy = new ConfiguredRetryStrategy(
          client.config.maxAttempts as () => Promise<number>,
          this.backoffMs,
        );
      }
      return entry.strategy;
    };
    client.middlewareStack.add(
      (next: Handler, context: { clientName?: string; commandName?: string }) =>
        async (args: { input: object; request: unknown }) => {
          if (this.currentState.getStore() && !(await timeouts))
            this.clientsWithoutTimeout.add(context.clientName ?? '');
          return this.intercept(next, context, args);
        },
      { step: 'deserialize', priority: 'low', name: 'faultInjection', override: true },
    );
  }

  private async hasTimeouts(client: AnyClient): Promise<boolean> {
    const handler = client.config.requestHandler as { configProvider?: Promise<Record<string, unknown>> };
    const config = (await handler.configProvider) ?? {};
    return Boolean(config.socketTimeout && config.connectionTimeout);
  }

  private async intercept(
    next: Handler,
    context: { clientName?: string; commandName?: string },
    args: { input: object; request: unknown },
  ): Promise<{ response: unknown }> {
    const state = this.currentState.getStore();
    const service = (context.clientName ?? '').replace(/Client$/, '');
    const operation = (context.commandName ?? '').replace(/Command$/, '');
    const match = this.rules.find(
      ({ rule, left }) =>
        left > 0 &&
        rule.state === state &&
        rule.service === service &&
        rule.operation === operation &&
        (!rule.when || rule.when(args.input as Record<string, unknown>)),
    );
    this.calls.push({ state, service, operation, ...(match ? { faulted: match.rule.kind } : {}) });
    if (!match) return next(args);
    match.left -= 1;
    match.hits += 1;
    const { kind } = match.rule;
    switch (kind) {
      case 'timeout': {
        const hung = HttpRequest.clone(args.request as HttpRequest);
        Object.assign(hung, { protocol: 'http:', hostname: '127.0.0.1', port: this.blackHole!.port });
        return this.hangHandler!.handle(hung);
      }
      case 'answer-lost': {
        const applied = await next(args);
        const body = (applied.response as HttpResponse).body as Readable | undefined;
        body?.resume?.();
        return { response: errorResponse(service as Service, 'server-error', operation) };
      }
      case 'ok-with-error':
        return { response: errorResponse(service as Service, 'server-error', operation, { statusCode: 200, kind }) };
      default:
        return { response: errorResponse(service as Service, kind, operation) };
    }
  }
}
