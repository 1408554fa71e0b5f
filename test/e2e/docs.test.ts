/**
 * What README.md and docs/ show runs: every `sh` command and every `sql` statement (see
 * test/support/doc-commands.ts for the conventions), against one local run of the sample seed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { DEFAULT_S3_PATH } from '#local/defaults';
import { mirrorFolder } from '#local/mirror';
import { PROJECT_ROOT } from '#local/python-env';
import { SqlEngine } from '#local/sql-engine';
import { parseS3Path } from '#shared/aws/s3-path';
import { runLocalCli } from '#test/support/local-cli';
import {
  awsServicesOf,
  blockProblems,
  docFiles,
  fencedBlocks,
  loadAwsModels,
  packageScripts,
  runProgram,
  SHELL_TAG,
  SQL_TAG,
  tempFolderMaker,
  type DocCheckContext,
} from '#test/support/doc-commands';

const scripts = packageScripts();
const files = docFiles().map((file) => ({
  file,
  blocks: fencedBlocks(readFileSync(join(PROJECT_ROOT, file), 'utf8'), file),
}));
const CHECKED_TAGS = [SHELL_TAG, SQL_TAG, 'bash', 'shell', 'zsh'];

describe('the docs: every command and SQL statement they show', function () {
  this.timeout(600_000);
  const tempFolder = tempFolderMaker('docs-e2e-');
  let sampleOut: string;
  let engine: SqlEngine | undefined;
  let awsModels: DocCheckContext['awsModels'];

  before(async function () {
    sampleOut = tempFolder();
    runLocalCli(sampleOut);
    const location = parseS3Path(DEFAULT_S3_PATH)!;
    engine = await SqlEngine.open({ folder: mirrorFolder(sampleOut, location.bucket), location });
    awsModels = loadAwsModels(
      awsServicesOf(
        files.flatMap(({ blocks }) => blocks),
        scripts,
      ),
    );
  });

  after(() => engine?.close());

  it('scans README.md and every page under docs/', () => {
    expect(files.map(({ file }) => file)).to.include('README.md');
  });

  for (const { file, blocks } of files) {
    describe(file, () => {
      // Each page starts from the sample run: a query reads the page's own last local run, if any.
      const pageContext = {} as DocCheckContext;
      before(() =>
        Object.assign(pageContext, {
          scripts,
          runCli: runProgram,
          awsModels,
          sql: engine,
          queryOut: sampleOut,
          tempFolder,
        } satisfies DocCheckContext),
      );
      for (const block of blocks.filter(({ tag }) => CHECKED_TAGS.includes(tag))) {
        it(`${file}:${block.line} (${block.tag})`, async () => {
          const problems = await blockProblems(block, pageContext);
          expect(problems, problems.join('\n\n')).to.deep.equal([]);
        });
      }
    });
  }
});
