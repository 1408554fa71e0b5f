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
  /** EventBridge Scheduler, per invocation (a group's schedule slot). */
  schedulerInvocation: 1 / 1_000_000,
  /** S3 Standard, GET and other requests. */
  s3GetRequest: 0.0004 / 1000,
};
/** An hourly schedule: 24 × 365 / 12 executions a month. */
export const EXECUTIONS_PER_MONTH = 730;
/** The groups' reconciliation runs every 15 minutes. */
export const RECONCILE_RUNS_PER_MONTH = EXECUTIONS_PER_MONTH * 4;
/** Lambda gives one full vCPU at this memory size, and CPU in proportion below it. */
export const LAMBDA_FULL_VCPU_MB = 1769;
/**
 * Time a function waits for each AWS request it sends, billed at its memory size. In-region API calls
 * of the sizes the sample group makes answer in 10–50 ms; the upper end is taken.
 */
export const REQUEST_LATENCY_MS = 50;

/** S3 requests billed at the PUT rate. */
export const S3_PUT_CLASS = new Set([
  'PutObject',
  'CopyObject',
  'ListObjectsV2',
  'ListObjects',
  'ListMultipartUploads',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
]);
/** S3 requests billed at the GET rate (DELETE and abort are free). */
export const S3_GET_CLASS = new Set(['GetObject', 'HeadObject', 'GetObjectTagging', 'GetBucketLocation']);
export const S3_FREE = new Set(['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload']);
