/**
 * Public AWS list prices used for the workflow cost (us-east-1, no free tier), as quoted on
 * PRICES_DATE. Not fetched at run time: this project's machines have no access to the web.
 */
export const PRICES_DATE = '2026-11-29';
export const PRICES = {
  /** Step Functions Standard, per state transition. */
  stepFunctionsTransition: 0.025 / 1000,
  /** Lambda, per GB-second of billed duration. */
  lambdaGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 } as Record<string, number>,
  /** Lambda, per request. */
  lambdaRequest: 0.2 / 1_000_000,
  /** S3 Standard, PUT, COPY, POST and LIST requests. */
  s3PutRequest: 0.005 / 1000,
  /** S3 Standard, GET and other requests. */
  s3GetRequest: 0.0004 / 1000,
  /** Glue crawler, per DPU-hour, billed per second with a 10-minute minimum per run. */
  glueDpuHour: 0.44,
};
/** DPUs of a crawler run (AWS's own pricing example uses 2) and its billed minimum. */
export const CRAWLER_DPUS = 2;
export const CRAWLER_MINIMUM_HOURS = 10 / 60;
/** An hourly schedule: 24 × 365 / 12 executions a month. */
export const EXECUTIONS_PER_MONTH = 730;

/** S3 requests billed at the PUT rate; every other S3 call is billed at the GET rate. */
export const S3_PUT_CLASS = new Set([
  'PutObject',
  'CopyObject',
  'ListObjectsV2',
  'DeleteObjects',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
]);
