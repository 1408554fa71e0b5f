/**
 * Athena (Trino) SQL to DuckDB SQL with sqlglot, in one long-lived Python process (see
 * athena_to_duckdb.py): a script of the corpus is split and translated in about 2 ms, where a
 * process per script takes about 165 ms (starting Python and importing sqlglot).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT, ensurePythonEnv, venvBin } from '#local/python-env';

const SCRIPT = join(PROJECT_ROOT, 'local', 'athena_to_duckdb.py');

export interface TranslatedStatement {
  /** The statement as written, without its `;`. */
  athena: string;
  duckdb: string;
}

interface Failure {
  /** 1-based. */
  statement: number;
  /** Statements in the script; null when it could not be split past this one. */
  count: number | null;
  athena: string;
  message: string;
  line: number | null;
  column: number | null;
}

type Answer = { statements: TranslatedStatement[] } | { error: Failure };

/** A statement as a message shows it: its first 500 characters, its lines indented under `  in: `. */
export const shownStatement = (statement: string) =>
  (statement.length > 500 ? `${statement.slice(0, 500)}…` : statement).replace(/\n/g, '\n      ');

/** A statement sqlglot could not read or translate: which one, sqlglot's message, and where. */
export class TranslationError extends Error {
  readonly statement: string;
  readonly line: number | null;
  readonly column: number | null;

  constructor(failure: Failure) {
    const which = `statement ${failure.statement}${failure.count === null ? '' : ` of ${failure.count}`}`;
    const where = failure.line === null ? '' : ` (line ${failure.line}, column ${failure.column})`;
    super(
      `${which} could not be translated from Athena SQL: sqlglot: ${failure.message}${where}\n` +
        `  in: ${shownStatement(failure.athena)}`,
    );
    this.name = 'TranslationError';
    this.statement = failure.athena;
    this.line = failure.line;
    this.column = failure.column;
  }
}

export class AthenaTranslator {
  private readonly waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void }[] = [];
  private stderr = '';
  private ended: Error | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.waiting.shift()?.resolve(JSON.parse(line) as Answer);
      this.holdProcessOpen(this.waiting.length > 0);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    child.on('error', (error) => this.end(error));
    // Writing to a translator that has ended fails; 'close' says why, once its stderr is read.
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) =>
      this.end(new Error(`the SQL translator (sqlglot) ended (${signal ?? `code ${code}`}): ${this.stderr.trim()}`)),
    );
    this.holdProcessOpen(false);
  }

  /** Starts the translator; it ends with {@link close}, or with this process (its stdin closes). */
  static start(): AthenaTranslator {
    ensurePythonEnv();
    return new AthenaTranslator(spawn(venvBin('python'), ['-X', 'utf8', SCRIPT], { stdio: 'pipe' }));
  }

  /** The statements of an Athena script in order, translated; a script of comments only has none. */
  async translate(sql: string): Promise<TranslatedStatement[]> {
    if (this.ended) throw this.ended;
    const answer = await new Promise<Answer>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.holdProcessOpen(true);
      this.child.stdin.write(`${JSON.stringify({ sql })}\n`);
    });
    if ('error' in answer) throw new TranslationError(answer.error);
    return answer.statements;
  }

  close(): void {
    this.end(new Error('the SQL translator is closed'));
    this.child.kill();
  }

  /** An idle translator must not keep this process alive, as an open DuckDB does not. */
  private holdProcessOpen(busy: boolean): void {
    const pipes = [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Socket[];
    for (const handle of [this.child, ...pipes]) {
      if (busy) handle.ref();
      else handle.unref();
    }
  }

  private end(error: Error): void {
    this.ended ??= error;
    for (const waiting of this.waiting.splice(0)) waiting.reject(this.ended);
    this.holdProcessOpen(false);
  }
}
