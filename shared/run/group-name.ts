/**
 * What a CloneSquad group name may be here. The name is part of DynamoDB table names, S3 keys,
 * execution and schedule names, so it is held to the characters all of them accept safely.
 */
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const MAX_GROUP_NAME_CHARS = 64;

/** Why `name` cannot be a CloneSquad group name, or `undefined` when it can. */
export function groupNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > MAX_GROUP_NAME_CHARS) {
    return `is ${name.length} characters long, more than ${MAX_GROUP_NAME_CHARS}`;
  }
  if (!GROUP_NAME_PATTERN.test(name)) {
    return 'may hold only letters, digits, "_", "." and "-", and must begin with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain ".."';
  return undefined;
}
