/**
 * Just enough CloudFormation to write IAM resources whose text comes from the shared key layout,
 * with the account and region only known at deploy time.
 */
export type Cfn = string | { Ref: string } | { 'Fn::GetAtt': [string, string] } | { 'Fn::Join': [string, Cfn[]] };

/**
 * Placeholders that can go through the key-layout functions as if they were values, and come out
 * as a pseudo parameter or an IAM wildcard. They are delimited by a private-use character, which
 * names and paths people write do not hold, so nothing else is mistaken for one.
 */
export const TOKEN = {
  partition: '\uE000AWS::Partition\uE000',
  accountId: '\uE000AWS::AccountId\uE000',
  region: '\uE000AWS::Region\uE000',
  wildcard: '\uE000*\uE000',
} as const;

/**
 * Characters with a meaning in an IAM resource, written as IAM's escapes so a literal `*`, `?` or
 * `$` (possible in an S3 prefix) does not widen the grant.
 */
function iamLiteral(text: string): string {
  return text.replace(/[*?$]/g, (character) => `\${${character}}`);
}

/** An IAM resource string with {@link TOKEN}s, as CloudFormation. */
export function iamResource(text: string): Cfn {
  const parts: Cfn[] = [];
  text.split(/\uE000([^\uE000]*)\uE000/).forEach((part, index) => {
    const piece: Cfn = index % 2 === 0 ? iamLiteral(part) : part === '*' ? '*' : { Ref: part };
    const last = parts[parts.length - 1];
    if (typeof piece === 'string' && typeof last === 'string') parts[parts.length - 1] = last + piece;
    else if (piece !== '') parts.push(piece);
  });
  if (parts.length === 1 && typeof parts[0] === 'string') return parts[0];
  return { 'Fn::Join': ['', parts] };
}
