/**
 * An error caused by something the operator supplied (a parameter, a table, an input document).
 * Its message always names the input, the problem and the fix, so it can be shown as is.
 */
export class UserInputError extends Error {
  readonly input: string;

  constructor(input: string, problem: string, fix: string) {
    super(`${input}: ${problem}. Fix: ${fix}`);
    this.name = 'UserInputError';
    this.input = input;
  }
}

/** Turns anything thrown into the short text a summary or a log line carries. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
