/**
 * The benchmark's figures, each beside its reference and target with a PASS/FAIL mark (or `info`
 * for a figure without a target), printed as aligned text and kept as a Markdown table.
 */
export type Verdict = 'PASS' | 'FAIL' | 'info';

export interface Row {
  figure: string;
  value: string;
  reference: string;
  target: string;
  verdict: Verdict;
  note?: string;
}

export interface Section {
  title: string;
  rows: Row[];
  notes: string[];
}

export function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'FAIL';
}

export const ms = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
export const mib = (value: number) => `${Math.round(value)} MiB`;
export const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;
export const ratio = (value: number) => `${value.toFixed(2)}×`;
export const dollars = (value: number) =>
  value === 0 ? '$0' : value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(2)}`;

const COLUMNS: (keyof Row)[] = ['figure', 'value', 'reference', 'target', 'verdict'];

export function formatText(section: Section): string {
  const header: Record<string, string> = {
    figure: 'figure',
    value: 'value',
    reference: 'reference',
    target: 'target',
    verdict: '',
  };
  const rows: Record<string, string | undefined>[] = [header, ...section.rows.map((row) => ({ ...row }))];
  const widths = COLUMNS.map((column) => Math.max(...rows.map((row) => String(row[column] ?? '').length)));
  const line = (row: Record<string, string | undefined>) =>
    COLUMNS.map((column, index) => String(row[column] ?? '').padEnd(widths[index]))
      .join('  ')
      .trimEnd();
  return [
    `\n== ${section.title}`,
    line(header),
    ...rows.slice(1).map(line),
    ...section.notes.map((note) => `   ${note}`),
  ].join('\n');
}

export function formatMarkdown(section: Section): string {
  const escape = (text: string) => text.replaceAll('|', '\\|');
  return [
    `**${section.title}**`,
    '',
    '| figure | value | reference | target | |',
    '| --- | --- | --- | --- | --- |',
    ...section.rows.map(
      (row) =>
        `| ${escape(row.figure)} | ${escape(row.value)} | ${escape(row.reference)} | ${escape(row.target)} | ${row.verdict} |`,
    ),
    '',
    ...(section.notes.length > 0 ? [section.notes.join(' '), ''] : []),
  ].join('\n');
}
