/**
 * SDK client settings shared by every function. `AWS_ENDPOINT_URL` points all clients at one
 * endpoint (the local emulator); S3 then needs path-style addressing, since `bucket.localhost` does
 * not resolve everywhere.
 *
 * The HTTP handler gets explicit timeouts: the SDK sets none by default, so a connection that hangs
 * (a stalled socket, a lost packet) would hold the function until its Lambda timeout, which Step
 * Functions reports as a failed part. With them, the hung attempt fails with `TimeoutError`, which
 * the SDK retries like any transient error. Every call here answers well within these bounds on AWS
 * (the largest bodies are backups and 5 MiB upload parts), and a hung attempt and its retry fit the
 * shortest Lambda timeout of a function that makes calls (60 s). The emulator is far slower on large
 * pages (it filters a whole fleet of thousands of instances for each DescribeInstances page), so an
 * endpoint override gets a longer socket timeout.
 */
export interface ClientSettings {
  endpoint?: string;
  region?: string;
  maxAttempts: number;
  requestHandler: { connectionTimeout: number; socketTimeout: number };
}

/** Milliseconds to open a connection, and of socket inactivity while a request is under way. */
export const CONNECTION_TIMEOUT_MS = 3_000;
export const SOCKET_TIMEOUT_MS = 20_000;
export const EMULATOR_SOCKET_TIMEOUT_MS = 120_000;

export function clientSettings(env: Record<string, string | undefined> = process.env): ClientSettings {
  const endpoint = env.AWS_ENDPOINT_URL?.trim() || undefined;
  return {
    endpoint,
    region: env.AWS_REGION,
    maxAttempts: 5,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: endpoint === undefined ? SOCKET_TIMEOUT_MS : EMULATOR_SOCKET_TIMEOUT_MS,
    },
  };
}

export function s3ClientSettings(env: Record<string, string | undefined> = process.env) {
  const settings = clientSettings(env);
  return { ...settings, forcePathStyle: settings.endpoint !== undefined };
}

/**
 * A function's SDK clients, built on first use for the region of the environment, then reused.
 * On Lambda that is once per process (one region). A local run serves several regions from one
 * process, and an SDK client keeps the region it was built for: it gets one set per region.
 */
export function clientsPerRegion<T>(build: () => T, env: Record<string, string | undefined> = process.env): () => T {
  const built = new Map<string, T>();
  return () => {
    const region = env.AWS_REGION ?? '';
    let clients = built.get(region);
    if (clients === undefined) {
      clients = build();
      built.set(region, clients);
    }
    return clients;
  };
}
