/**
 * Splitting an Athena script into statements and translating each to DuckDB SQL with sqlglot, in a
 * long-lived Python process: the cut by Athena's lexical rules, the failures that name the
 * statement, sqlglot's message and the position, and a translator that never holds a process open.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { AthenaTranslator, TranslationError } from '#local/athena-translator';
import { PROJECT_ROOT } from '#local/python-env';

const LEFT_OPEN = join(PROJECT_ROOT, 'test', 'fixtures', 'translator-left-open.ts');

describe('Athena SQL translation (sqlglot)', () => {
  let translator: AthenaTranslator;
  before(() => {
    translator = AthenaTranslator.start();
  });
  after(() => translator.close());

  const athenaTexts = async (sql: string) => (await translator.translate(sql)).map((statement) => statement.athena);

  describe('splitting a script', () => {
    it('cuts at semicolons outside strings, quoted names and comments, and drops empty statements', async () => {
      expect(
        await athenaTexts(`SELECT 'a;b' AS "x;y"; -- c;d\n/* e;f */ SELECT 2;;  ;\nSELECT 'it''s;' `),
      ).to.deep.equal([`SELECT 'a;b' AS "x;y"`, `SELECT 2`, `SELECT 'it''s;'`]);
      expect(await athenaTexts('  -- only a comment\n')).to.deep.equal([]);
    });

    it("reads each statement with the rules of the engine Athena sends it to: backslashes escape only in Hive's", async () => {
      expect(await athenaTexts(`SHOW TABLES; SELECT 'C:\\' AS folder; SELECT 2`)).to.deep.equal([
        'SHOW TABLES',
        `SELECT 'C:\\' AS folder`,
        'SELECT 2',
      ]);
      expect(await athenaTexts(`SHOW TABLES LIKE 'a\\';b';\nSELECT 2`)).to.deep.equal([
        `SHOW TABLES LIKE 'a\\';b'`,
        'SELECT 2',
      ]);
    });
  });

  describe('failures', () => {
    it("names the statement, sqlglot's message and the position in the script", async () => {
      const error = await translator.translate('SELECT 1;  SELECT count(* FROM t; SELECT 3').catch((e: Error) => e);

      expect(error).to.be.instanceOf(TranslationError);
      expect((error as Error).message).to.equal(
        'statement 2 of 3 could not be translated from Athena SQL: sqlglot: Expecting ) (line 1, column 30)\n' +
          '  in: SELECT count(* FROM t',
      );
    });

    it('names where the text stops being readable, for a string left open', async () => {
      const error = await translator.translate("SELECT 1;\nSELECT 'abc;\nSELECT 2").catch((e: Error) => e);

      expect((error as Error).message).to.equal(
        'statement 2 could not be translated from Athena SQL: sqlglot: Error tokenizing: an unterminated string, ' +
          "quoted name or comment? (line 2, column 8)\n  in: SELECT 'abc;\n      SELECT 2",
      );
    });

    it('answers the next script after a failure', async () => {
      await translator.translate('SELECT (').catch(() => undefined);
      expect(await translator.translate('SELECT 1')).to.deep.equal([
        { athena: 'SELECT 1', duckdb: 'SELECT 1 AS _col0' },
      ]);
    });

    it('fails every call once closed', async () => {
      const closed = AthenaTranslator.start();
      closed.close();
      const error = await closed.translate('SELECT 1').catch((e: Error) => e);
      expect((error as Error).message).to.equal('the SQL translator is closed');
    });
  });

  describe('translation', () => {
    const duckdb = async (sql: string) => (await translator.translate(sql)).map((statement) => statement.duckdb);

    it('keeps default. and quoted lower-case names resolvable', async () => {
      expect(await duckdb('SELECT "i"."_hostname" FROM default.clonesquad_instances i')).to.deep.equal([
        'SELECT "i"."_hostname" FROM "default".clonesquad_instances AS i',
      ]);
    });

    it('names an expression without an alias _col<position>, as Athena does', async () => {
      expect(await duckdb('SELECT count(*), x, 1 + 1 AS two FROM t')).to.deep.equal([
        'SELECT COUNT(*) AS _col0, x, 1 + 1 AS two FROM t',
      ]);
    });

    it('turns an UNNEST in FROM into a subquery that gives a row its fields as columns', async () => {
      expect(
        await duckdb('SELECT t.key FROM i CROSS JOIN UNNEST(i.tags) WITH ORDINALITY AS t(key, value, n)'),
      ).to.deep.equal([
        'SELECT t.key FROM i CROSS JOIN (SELECT UNNEST(i.tags, max_depth := 2), UNNEST(RANGE(1, LENGTH(i.tags) + 1))) AS t(key, value, n)',
      ]);
    });
  });
});

describe('an idle Athena SQL translator', () => {
  it('does not keep its process running', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import=tsx', LEFT_OPEN], {
      cwd: PROJECT_ROOT,
      timeout: 30_000,
    });
    expect(stdout).to.equal('SELECT 1 AS _col0\n');
  });
});
