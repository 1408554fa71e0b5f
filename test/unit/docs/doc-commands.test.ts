import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SqlEngine } from '#local/sql-engine';
import {
  blockProblems,
  fencedBlocks,
  loadAwsModels,
  packageScripts,
  shellCommands,
  shellWords,
  type CliResult,
  type DocCheckContext,
} from '#test/support/doc-commands';

const FILE = 'docs/example.md';

describe('docs harness', function () {
  this.timeout(60_000);
  let engine: SqlEngine;
  let awsModels: DocCheckContext['awsModels'];
  let runs: string[][];
  let answer: CliResult;
  let folders: number;

  before(async () => {
    const folder = mkdtempSync(join(tmpdir(), 'docs-unit-'));
    engine = await SqlEngine.open({ folder, location: { bucket: 'bucket', prefix: 'cmdb' } }, { viewsFolder: null });
    awsModels = loadAwsModels(['s3api', 'cloudformation', 'nosuchservice']);
  });

  after(() => engine.close());

  beforeEach(() => {
    runs = [];
    answer = { status: 0, stdout: '', stderr: '' };
    folders = 0;
  });

  function context(): DocCheckContext {
    return {
      scripts: packageScripts(),
      runCli: (args) => {
        runs.push(args);
        return answer;
      },
      awsModels,
      sql: engine,
      queryOut: '/sample-run',
      tempFolder: () => `/temp-${++folders}`,
    };
  }

  /** Problems of every block of the markdown, in order. */
  async function problems(markdown: string): Promise<string[]> {
    const found: string[] = [];
    const shared = context();
    for (const block of fencedBlocks(markdown, FILE)) found.push(...(await blockProblems(block, shared)));
    return found;
  }

  describe('reading markdown', () => {
    it('finds fenced blocks with their tag and line numbers, indented ones included', () => {
      const blocks = fencedBlocks('# Title\n\n```sh\nnpm test\n```\n\n- item\n\n  ```SQL\n  SELECT 1\n  ```\n', FILE);
      expect(blocks).to.deep.equal([
        { file: FILE, line: 3, tag: 'sh', lines: [{ line: 4, text: 'npm test' }] },
        { file: FILE, line: 9, tag: 'sql', lines: [{ line: 10, text: 'SELECT 1' }] },
      ]);
    });

    it('joins continued lines, and skips comments and blank lines', () => {
      const [block] = fencedBlocks(
        '```sh\n# build it\n\nnpx clonesquad-backup local \\\n  --seed a.yaml\nnpm test\n```\n',
        FILE,
      );
      expect(shellCommands(block)).to.deep.equal([
        { file: FILE, line: 4, text: 'npx clonesquad-backup local --seed a.yaml' },
        { file: FILE, line: 6, text: 'npm test' },
      ]);
    });

    it('splits words as a shell does: quotes, escapes, operators and a trailing comment', () => {
      expect(shellWords(`a "b c" 'd "e"' f\\ g --x="y z"|jq . # note`)).to.deep.equal([
        'a',
        'b c',
        'd "e"',
        'f g',
        '--x=y z',
        '|',
        'jq',
        '.',
      ]);
    });
  });

  describe('sh blocks', () => {
    it('passes a good block: local runs into a temp folder, query reads it, the rest is checked', async () => {
      const markdown = [
        'Intro',
        '```sh',
        'npm install && npm run local -- --seed local/sample-seed.yaml',
        'npx clonesquad-backup query --output json "SELECT 1"',
        'node bin/clonesquad-backup policies --s3-path s3://bucket/cmdb --org-id o-a1b2c3d4e5 \\',
        '  --account 111122223333 --region eu-west-1',
        'npm run local -- --output json | jq .parts',
        'npx clonesquad-backup restore --help',
        'npx clonesquad-backup backups list --group web --region eu-west-1',
        'npm test',
        'npm run bench',
        'npx osls deploy --stage prod --param="metadataAndBackupS3Path=s3://bucket/cmdb"',
        "aws s3api put-bucket-ownership-controls --bucket b --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
        'aws cloudformation deploy --template-file t.json --stack-name s --region eu-west-1',
        'aws s3 ls s3://bucket/cmdb/ --recursive',
        'aws cloudformation wait stack-create-complete --stack-name s',
        'npm run package -- --param="groupName=web" --stage prod',
        'URL=$(aws cloudformation describe-stacks --stack-name s --query "Stacks[0].Outputs" --output text)',
        '```',
        '```yaml',
        'not: [run',
        '```',
        '```console',
        '$ rm -rf /',
        '```',
      ].join('\n');
      expect(await problems(markdown)).to.deep.equal([]);
      expect(runs).to.deep.equal([
        ['local', '--seed', 'local/sample-seed.yaml', '--out', '/temp-1'],
        ['query', '--output', 'json', 'SELECT 1', '--out', '/temp-1'],
        [
          'policies',
          '--s3-path',
          's3://bucket/cmdb',
          '--org-id',
          'o-a1b2c3d4e5',
          '--account',
          '111122223333',
          '--region',
          'eu-west-1',
          '--out',
          '/temp-2',
        ],
        ['local', '--output', 'json', '--out', '/temp-3'],
        ['restore', '--help'],
      ]);
    });

    it("runs query's SQL that starts with a comment as an argument, and still reports a bad flag", async () => {
      const found = await problems(
        [
          '```sh',
          'npx clonesquad-backup query "-- the fleet" "SELECT 1"',
          'npx clonesquad-backup query --bogus "SELECT 1"',
          '```',
        ].join('\n'),
      );
      expect(found).to.deep.equal([
        `${FILE}:3: npx clonesquad-backup query --bogus "SELECT 1": query has no option --bogus`,
      ]);
      expect(runs).to.deep.equal([['query', '-- the fleet', 'SELECT 1', '--out', '/sample-run']]);
    });

    it('gives --out before a -- separator, after which the program reads every word as an argument', async () => {
      expect(
        await problems('```sh\nnpx clonesquad-backup query --out x -- "-- the fleet" "SELECT 1"\n```\n'),
      ).to.deep.equal([]);
      expect(runs).to.deep.equal([['query', '--out', '/sample-run', '--', '-- the fleet', 'SELECT 1']]);
    });

    it('reports an unknown command with its file and line', async () => {
      const found = await problems('# Page\n```sh\nnpm test\nrm -rf /tmp/x\n```\n');
      expect(found).to.deep.equal([
        `${FILE}:4: rm -rf /tmp/x: unknown command: the docs may show \`npm run <script> -- …\`, \`npm test\`, ` +
          '`npx clonesquad-backup …`, `node bin/clonesquad-backup …`, `npx osls deploy|remove|info …`, ' +
          '`npm install` or `aws …`',
      ]);
    });

    it('reports an aws option, operation or service that does not exist', async () => {
      const found = await problems(
        [
          '```sh',
          'aws s3api put-object --bucket b --keyy k',
          'aws cloudformation describe-stack --stack-name s',
          'aws nosuchservice list-things',
          '```',
        ].join('\n'),
      );
      expect(found).to.deep.equal([
        `${FILE}:2: aws s3api put-object --bucket b --keyy k: aws s3api put-object has no option --keyy`,
        `${FILE}:3: aws cloudformation describe-stack --stack-name s: "describe-stack" is not an operation of aws cloudformation`,
        `${FILE}:4: aws nosuchservice list-things: "nosuchservice" is not an AWS CLI service`,
      ]);
    });

    it("reports a program's unknown option, a script that does not exist, and npm options before --", async () => {
      const found = await problems(
        [
          '```sh',
          'npx clonesquad-backup local --outt x',
          'npm run deploy',
          'npm run local --out x',
          'npm run backups -- lst --group web',
          '```',
        ].join('\n'),
      );
      expect(found).to.have.length(4);
      expect(found[0]).to.equal(`${FILE}:2: npx clonesquad-backup local --outt x: local has no option --outt`);
      expect(found[1]).to.match(
        new RegExp(`^${FILE}:3: npm run deploy: package.json has no script "deploy" \\(it has `),
      );
      expect(found[2]).to.equal(
        `${FILE}:4: npm run local --out x: npm takes --out as its own option: write npm run local -- --out …`,
      );
      expect(found[3]).to.equal(
        `${FILE}:5: npm run backups -- lst --group web: "lst" is not a command of backups (it has list)`,
      );
      expect(runs).to.deep.equal([]);
    });

    it('reports a command that fails, with what it printed', async () => {
      answer = { status: 1, stdout: '', stderr: 'query: it holds no metadata' };
      const found = await problems('```sh\nnpm run query -- "SELECT 1"\n```\n');
      expect(found).to.deep.equal([
        `${FILE}:2: npm run query -- "SELECT 1": exited with 1:\nquery: it holds no metadata`,
      ]);
    });

    it('reports a deployment parameter osls would refuse', async () => {
      const found = await problems('```sh\nnpx osls deploy --param="groupname=web"\n```\n');
      expect(found).to.have.length(1);
      expect(found[0]).to.match(
        new RegExp(
          `^${FILE}:2: npx osls deploy --param="groupname=web": deployment parameter "groupname": no such parameter`,
        ),
      );
    });

    it('reports a deployment parameter name that package does not know, without running it', async () => {
      const found = await problems('```sh\nnpm run package -- --param="kmsKeyArm=arn"\n```\n');
      expect(found).to.have.length(1);
      expect(found[0]).to.match(
        new RegExp(
          `^${FILE}:2: npm run package -- --param="kmsKeyArm=arn": deployment parameter "kmsKeyArm": no such parameter`,
        ),
      );
      expect(runs).to.deep.equal([]);
    });

    it('refuses a shell tag other than sh, so that no command is left unrun', async () => {
      expect(await problems('text\n```bash\nnpm test\n```\n')).to.deep.equal([
        `${FILE}:2: \`\`\`bash: tag commands sh (run by the tests) or console (shown, not run): no other shell tag is used`,
      ]);
    });
  });

  describe('sql blocks', () => {
    it('passes a statement with rows, and one marked as possibly empty', async () => {
      const markdown =
        '```sql\nSELECT 1 AS one\n```\n\n```sql\n-- may return no rows\nSELECT 1 AS one WHERE false\n```\n';
      expect(await problems(markdown)).to.deep.equal([]);
    });

    it('reports a statement that fails, or answers no rows unmarked, with file and line', async () => {
      const found = await problems('```sql\nSELECT * FROM no_such_table\n```\n\n```sql\nSELECT 1 WHERE false\n```\n');
      expect(found).to.have.length(2);
      expect(found[0]).to.match(
        new RegExp(`^${FILE}:1: SELECT \\* FROM no_such_table: failed: statement 1 of 1 failed: `),
      );
      expect(found[0]).to.include('no_such_table');
      expect(found[1]).to.equal(
        `${FILE}:5: SELECT 1 WHERE false: returned no rows (mark the block with a first line "-- may return no rows" if that is right)`,
      );
    });
  });
});
