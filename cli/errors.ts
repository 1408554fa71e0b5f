/**
 * Bad usage found once the options are parsed (no SQL statement, options that exclude each other):
 * refused with exit code 2, the message and the command's `--help` hint, as a parsing error is.
 */
export class UsageError extends Error {}
