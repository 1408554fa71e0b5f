/**
 * SDK client settings shared by every function. `AWS_ENDPOINT_URL` points all clients at one
 * endpoint (the local emulator); S3 then needs path-style addressing, since `bucket.localhost` does
 * not resolve everywhere.
 */
export interface ClientSettings {
  endpoint?: string;
  region?: string;
  maxAttempts: number;
}

export function clientSettings(env: Record<string, string | undefined> = process.env): ClientSettings {
  const endpoint = env.AWS_ENDPOINT_URL?.trim() || undefined;
  return { endpoint, region: env.AWS_REGION, maxAttempts: 5 };
}

export function s3ClientSettings(env: Record<string, string | undefined> = process.env) {
  const settings = clientSettings(env);
  return { ...settings, forcePathStyle: settings.endpoint !== undefined };
}
