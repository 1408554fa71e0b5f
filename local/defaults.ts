/**
 * Where a local run writes unless told otherwise; in a module of their own so that the command
 * line can show them in its help without loading the local runner.
 */
export const DEFAULT_S3_PATH = 's3://clonesquad-cmdb-local/clonesquad';

/** The folder of a local run's bucket copy and execution record, relative to the working directory. */
export const DEFAULT_OUT = '.local';
