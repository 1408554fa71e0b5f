/** Checks on the small events the state machine hands to each function. */
import { quoteInput } from '#shared/aws/errors';

export function requireField<T>(
  event: unknown,
  field: string,
  check: (value: unknown) => value is T,
  expected: string,
): T {
  const value = typeof event === 'object' && event !== null ? (event as Record<string, unknown>)[field] : undefined;
  if (!check(value)) {
    throw new TypeError(
      `event.${field} must be ${expected}; got ${quoteInput(value)}. The state machine definition passes it.`,
    );
  }
  return value;
}

export const isString = (value: unknown): value is string => typeof value === 'string' && value !== '';
export const isArray = (value: unknown): value is unknown[] => Array.isArray(value);
export function isOneOf<T extends string>(choices: readonly T[]) {
  return (value: unknown): value is T => typeof value === 'string' && (choices as readonly string[]).includes(value);
}
