/**
 * Errors and the texts that report them. Step Functions keeps 256 KiB of a state and 32,768
 * characters of a failure's cause, and an input may be as large as DynamoDB or an execution input
 * allow: messages quote inputs cut short ({@link quoteInput}) and are themselves bounded, so no
 * input, however large, can make a message large.
 */

/** Characters JSON leaves raw that could hide or reorder text on a terminal. */
const INVISIBLE = /[\u0080-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/** Characters of an input a message quotes, at most. */
const MAX_QUOTED_CHARS = 80;

/**
 * An input as a message quotes it: a string JSON-quoted (controls and new lines escaped, and
 * invisible or bidirectional characters too), anything else as JSON; cut at `max` characters, and
 * then followed by its whole length.
 *
 * @example
 * quoteInput('cron(0 2 * * ? *)'); // '"cron(0 2 * * ? *)"'
 * quoteInput('x'.repeat(300_000), 3); // '"xxx"… (300000 characters)'
 */
export function quoteInput(value: unknown, max = MAX_QUOTED_CHARS): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const characters = [...text];
  const cut = characters.length > max;
  const shown = cut ? characters.slice(0, max).join('') : text;
  const quoted = (typeof value === 'string' ? JSON.stringify(shown) : shown).replace(
    INVISIBLE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return cut ? `${quoted}… (${characters.length} characters)` : quoted;
}

/** `text` cut to at most `max` characters (UTF-16 units, never splitting a pair), ending in "…" when cut. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  if (end > 0 && /[\ud800-\udbff]/.test(text[end - 1])) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Bounds of the parts of a {@link UserInputError} message; the fix is always this code's own text. */
const MAX_INPUT_CHARS = 300;
const MAX_PROBLEM_CHARS = 1_000;

/**
 * An error caused by something the operator supplied (a parameter, a table, an input document).
 * Its message always names the input, the problem and the fix, so it can be shown as is.
 */
export class UserInputError extends Error {
  readonly input: string;

  constructor(input: string, problem: string, fix: string) {
    const shownInput = cutText(input, MAX_INPUT_CHARS);
    super(`${shownInput}: ${cutText(problem, MAX_PROBLEM_CHARS)}. Fix: ${fix}`);
    this.name = 'UserInputError';
    this.input = shownInput;
  }
}

/** Longest error name and message a result carries; the function's log has the rest. */
const MAX_ERROR_NAME_CHARS = 200;
const MAX_ERROR_MESSAGE_CHARS = 2_000;

/** Turns anything thrown into the short text a summary or a log line carries. */
export function describeError(error: unknown): { name: string; message: string } {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return { name: cutText(name, MAX_ERROR_NAME_CHARS), message: cutText(message, MAX_ERROR_MESSAGE_CHARS) };
}
