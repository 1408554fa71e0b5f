/**
 * The provenance line a backup starts with: one YAML comment naming what the backup holds,
 * so that a restore can tell a backup of another group or table before it writes anything.
 *
 * `# clonesquad-backup table=configuration group=web account=123456789012 region=eu-west-1`
 *
 * Fields are `name=value`, one space apart, each value percent-encoded (UTF-8) except letters,
 * digits and `_ . ~ -`: the line stays one line of printable ASCII whatever the values, which every
 * YAML reader skips as a comment. It holds no time stamp, so identical tables give identical bytes.
 */
import { UserInputError } from '#shared/aws/errors';

export interface BackupProvenance {
  table: string;
  groupName: string;
  accountId: string;
  region: string;
}

const MARKER = '# clonesquad-backup';

const FIELDS: [name: string, property: keyof BackupProvenance][] = [
  ['table', 'table'],
  ['group', 'groupName'],
  ['account', 'accountId'],
  ['region', 'region'],
];

const UNRESERVED = /^[A-Za-z0-9_.~-]$/;

function encodeValue(value: string): string {
  let encoded = '';
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    encoded += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** The line, without its line break. */
export function provenanceLine(provenance: BackupProvenance): string {
  return [MARKER, ...FIELDS.map(([name, property]) => `${name}=${encodeValue(provenance[property])}`)].join(' ');
}

/**
 * The provenance the first line of `text` states, or `undefined` when that line is not a provenance
 * line. A line that starts as one but does not parse is refused rather than ignored: it was edited,
 * and what it meant to say cannot be known.
 */
export function readProvenance(text: string, source: string): BackupProvenance | undefined {
  const end = text.indexOf('\n');
  const line = (end === -1 ? text : text.slice(0, end)).replace(/\r$/, '');
  if (line !== MARKER && !line.startsWith(`${MARKER} `)) return undefined;
  const refuse = (problem: string) =>
    new UserInputError(
      `${source}, line 1`,
      `it starts as a provenance line ("${MARKER}") but ${problem}`,
      `write it as ${MARKER} table=TABLE group=GROUP account=ACCOUNT region=REGION, ` +
        'or delete the line to restore the document without checking where it comes from',
    );
  if (line === MARKER) throw refuse('it names nothing');
  const values = new Map<string, string>();
  for (const field of line.slice(MARKER.length + 1).split(' ')) {
    if (field === '') throw refuse('it has an empty field (two spaces in a row)');
    const match = /^([a-z]+)=(.*)$/.exec(field);
    if (!match) throw refuse(`its field "${field}" is not NAME=VALUE`);
    const [, name, encoded] = match;
    if (!/^(?:[A-Za-z0-9_.~-]|%[0-9A-Fa-f]{2})*$/.test(encoded)) {
      throw refuse(`the value of its field "${field}" is not percent-encoded`);
    }
    if (values.has(name)) throw refuse(`it gives ${name} twice`);
    try {
      values.set(name, decodeURIComponent(encoded));
    } catch {
      throw refuse(`the value of its field "${field}" is not percent-encoded UTF-8`);
    }
  }
  const missing = FIELDS.map(([name]) => name).filter((name) => !values.has(name));
  if (missing.length > 0) throw refuse(`it does not give ${missing.join(', ')}`);
  return Object.fromEntries(
    FIELDS.map(([name, property]) => [property, values.get(name)!]),
  ) as unknown as BackupProvenance;
}
