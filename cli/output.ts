/** `--output`, as the AWS CLI names it: how a command prints its results on stdout. */
export const OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
