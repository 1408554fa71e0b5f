/**
 * Strings that YAML readers misread or choke on (docs/backup-format.md), and fast-check generators built from
 * them, shared by the codec's tests and the restore round-trip property.
 */
import fc from 'fast-check';

/** Strings a YAML 1.1 or 1.2 reader could take for something else, or choke on. */
const HOSTILE = [
  ...['yes', 'Yes', 'YES', 'no', 'No', 'NO', 'on', 'On', 'ON', 'off', 'Off', 'OFF', 'y', 'Y', 'n', 'N'],
  ...['true', 'True', 'TRUE', 'false', 'False', 'FALSE', '~', 'null', 'Null', 'NULL', 'nUlL', 'yEs'],
  ...['0', '-0', '+1', '-1', '0755', '0o17', '0x1F', '0b101', '1_000', '10:30', '1:20:30', '190:20:30.15'],
  ...['e5', 'E0', 'e-5', 'e+5', 'E', '0e', 'NaN', 'nan', 'inf', 'Infinity', '-Infinity', '0.', '1__0', '0b', '0x'],
  ...['1e3', '1E3', '1.5', '.5', '1.', '-1.5e-3', '.inf', '-.inf', '+.inf', '.Inf', '.NaN', '.nan', '.NAN'],
  ...['2021-01-01', '2021-01-01 10:00:00', '2021-01-01T10:00:00Z', '2001-12-14t21:59:43.10-05:00', '2021-1-1'],
  ...['', ' ', '  ', ' a', 'a ', ' a ', 'a  b', '#', '# comment', 'a #b', 'a#b', ': ', ':', 'a:', ':a', 'a: b'],
  ...['key: value', '-', '--', '---', '...', '- item', '-a', '?', '? x', '!tag', '!!str', '!', '&anchor', '*alias'],
  ...['%directive', '%YAML 1.2', '@', '@a', '`', '`a`', '|', '|-', '>', '>+', "'", "'a'", '"', '"a"', '\\', '\\n'],
  ...['{', '}', '{}', '[', ']', '[]', '[a]', ',', 'a,b', 'a, b', '<<', '=', 'a=b', '$ref', '__proto__', 'constructor'],
  ...['\n', '\r\n', '\r', 'a\nb', 'a\r\nb', 'a\n', '\na', '\t', 'a\tb', '\0', '\x07', '\b', '\v', '\f', '\x1b', '\x7f'],
  ...['\x80', '\x85', '\x9f', '\u00a0', '\u2028', '\u2029', '\ufeff', '\ufffd', '\ufffe', '\uffff', '\uE000', 'é'],
  ...['e\u0301', '東京', 'Ω≈ç', '😀', '\u{1F469}\u200D\u{1F469}\u200D\u{1F467}', '\u{10FFFF}', '\u{1FFFE}'],
  ...['ec2.schedule.min_instance_count', 'a b', 'a/b-c_d.e', 'Yes please', 'no.', 'on-off', 'null value'],
];
/** Every C0 and C1 control character, and DEL. */
const CONTROLS = Array.from({ length: 0xa0 }, (_, code) => String.fromCodePoint(code)).filter(
  (char) => char < ' ' || char >= '\x7f',
);
export const ALL_HOSTILE = [...new Set([...HOSTILE, ...CONTROLS])];

/** Large strings that mix every kind of character (DynamoDB allows items of up to 400 KB). */
export function longString(length: number): string {
  const pattern = 'yes: #é東京😀\x01\n\r\t"\\\'{[&*!|>%@`\u2028\u0085 ';
  return pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length);
}

const whitespace = fc.constantFrom('', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2028');
const hostile = fc.constantFrom(...ALL_HOSTILE);
const hostileComposite = fc.oneof(
  hostile,
  fc.array(hostile, { minLength: 2, maxLength: 4 }).map((parts) => parts.join('')),
  fc.tuple(whitespace, hostile, whitespace).map((parts) => parts.join('')),
);

/**
 * Short strings, mostly hostile ones. DynamoDB strings are valid UTF-8, so table data holds no lone
 * surrogate: 'binary' and 'grapheme' never produce one (the codec tests check lone surrogates apart).
 */
export const hostileText = fc.oneof(
  { weight: 3, arbitrary: hostileComposite },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
