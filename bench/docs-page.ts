/** docs/performance.md: an introduction kept as written, then the tables of the last `bench --write-docs`. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as prettier from 'prettier';
import { PROJECT_ROOT } from '#local/python-env';

export const DOCS_PAGE = join(PROJECT_ROOT, 'docs', 'performance.md');
export const DOCS_MARKER = '<!-- bench tables below -->';
const DOCS_INTRO = [
  '# Performance',
  '',
  'What one deployment costs and how it scales, measured by `npm run bench` on a development machine: export',
  'speed against bare serialisation, peak memory of the largest exports, cold starts, deployment zip sizes,',
  'state transitions and AWS requests of real local executions of the sample group (including a failing part',
  'and a crashing branch), and the monthly cost per group these counts give at list prices. Every figure has a',
  'target; the command exits 1 when one is missed. The tables below are the last run written with',
  '`npm run bench -- --write-docs`.',
  '',
  DOCS_MARKER,
  '',
].join('\n');

/** Puts `markdown` below the marker of docs/performance.md, creating the page with its introduction if missing. */
export async function writeDocs(markdown: string, page = DOCS_PAGE): Promise<void> {
  let text: string;
  try {
    text = await readFile(page, 'utf8');
  } catch {
    text = DOCS_INTRO;
  }
  const marker = text.indexOf(DOCS_MARKER);
  if (marker < 0) throw new Error(`${page}: no line ${DOCS_MARKER} to write the tables below`);
  const updated = `${text.slice(0, marker + DOCS_MARKER.length)}\n\n${markdown}\n`;
  await mkdir(dirname(page), { recursive: true });
  const options = await prettier.resolveConfig(page);
  await writeFile(page, await prettier.format(updated, { ...options, filepath: page }));
}
