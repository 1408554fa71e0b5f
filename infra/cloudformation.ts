/**
 * The one set of CloudFormation helpers every template here is written with: the regional service
 * (serverless.yml), the catalog stack, the central bucket stack and the StackSet.
 *
 * Values only known at deploy time (the account, the region, a template parameter) are written as
 * {@link token}s inside ordinary strings, so they pass through the key-layout functions of
 * shared/aws/s3-layout.ts as if they were values. A string holding tokens becomes an `Fn::Sub` for a
 * template ({@link cfn}), or the literal text once the values are known ({@link renderTokens}: the
 * local runner, and the policies of an existing bucket).
 */

/** A CloudFormation value: JSON, with intrinsic functions as objects. */
export type Cfn = string | number | boolean | null | Cfn[] | { [key: string]: Cfn };

/**
 * A placeholder for a pseudo parameter or a template parameter. Delimited by a private-use character,
 * which names and paths people write do not hold, so nothing else is mistaken for one.
 */
export function token(name: string): string {
  return `\uE000${name}\uE000`;
}

export const TOKEN = {
  partition: token('AWS::Partition'),
  accountId: token('AWS::AccountId'),
  region: token('AWS::Region'),
  urlSuffix: token('AWS::URLSuffix'),
  stackName: token('AWS::StackName'),
  /** An IAM wildcard: `*` in an IAM text, where a literal `*` is escaped. */
  wildcard: token('*'),
} as const;

const TOKENS = /\uE000([^\uE000]*)\uE000/g;
const HAS_TOKEN = /\uE000/;

/** Characters with a meaning in an IAM resource or `…Like` condition, written as IAM's escapes. */
export function iamLiteral(text: string): string {
  return text.replace(/[*?$]/g, (character) => `\${${character}}`);
}

/** Applies `literal` to the text between tokens (the tokens themselves are left as they are). */
function mapLiteralParts(text: string, literal: (part: string) => string): string {
  return text
    .split(/(\uE000[^\uE000]*\uE000)/)
    .map((part) => (part.startsWith('\uE000') ? part : literal(part)))
    .join('');
}

/**
 * A string for a template: as it is without tokens, else an `Fn::Sub` in which IAM's own `${…}`
 * (policy variables, escapes) are written `${!…}` so CloudFormation leaves them alone.
 */
export function cfn(text: string): Cfn {
  if (!HAS_TOKEN.test(text)) return text;
  const template = text
    .replace(/\$\{/g, '${!')
    .replace(TOKENS, (_whole, name: string) => (name === '*' ? '*' : `\${${name}}`));
  return { 'Fn::Sub': template };
}

/** An IAM resource or `…Like` pattern: literal characters escaped, tokens resolved, {@link TOKEN.wildcard} a `*`. */
export function iamText(text: string): Cfn {
  const escaped = mapLiteralParts(text, iamLiteral);
  return HAS_TOKEN.test(escaped) ? cfn(escaped) : escaped;
}

/** {@link cfn} on every string of a JSON value. */
export function cfnDeep(value: unknown): Cfn {
  if (typeof value === 'string') return cfn(value);
  if (Array.isArray(value)) return value.map(cfnDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cfnDeep(item)]));
  }
  return value as Cfn;
}

/** The value with every token replaced by its literal (and {@link TOKEN.wildcard} by `*`). */
export function renderTokens<T>(value: T, values: Record<string, string>): T {
  const render = (text: string) =>
    text.replace(TOKENS, (_whole, name: string) => {
      if (name === '*') return '*';
      const literal = values[name];
      if (literal === undefined) throw new Error(`renderTokens: no value for ${name}`);
      return literal;
    });
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return render(item);
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, walk(inner)]));
    }
    return item;
  };
  return walk(value) as T;
}

export const ref = (name: string): Cfn => ({ Ref: name });
export const getAtt = (logicalId: string, attribute: string): Cfn => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** One statement of an IAM policy: of a role (no principal) or of a resource (bucket, key). */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | { AWS: Cfn } | { Service: string };
  Action: string | string[];
  Resource: Cfn | Cfn[];
  Condition?: Record<string, Record<string, Cfn>>;
}

export interface PolicyDocument<S = PolicyStatement | Cfn> {
  Version: '2012-10-17';
  Statement: S[];
}

export function policyDocument<S>(statements: S[]): PolicyDocument<S> {
  return { Version: '2012-10-17', Statement: statements };
}

/** The partition of a region, for literal ARNs. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

/** The literal values of the pseudo parameters in `account` and `region`. */
export function pseudoParameters(account: string, region: string): Record<string, string> {
  return {
    'AWS::Partition': partitionOf(region),
    'AWS::AccountId': account,
    'AWS::Region': region,
    'AWS::URLSuffix': partitionOf(region) === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
  };
}
