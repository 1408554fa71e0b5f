/**
 * `clonesquad-backup <command>`: the one entry of the command line (bin/clonesquad-backup, and the
 * npm scripts). Exit code 0 done, 1 failed, 2 bad usage or bad input, for every command.
 */
import { CommanderError, type Command } from 'commander';
import { UserInputError } from '#shared/aws/errors';
import { processIo, type CliIo } from '#cli/io';
import { buildProgram, PROGRAM_NAME } from '#cli/program';

/** Gives every command of the tree the same error handling, output and usage hint. */
function configure(command: Command, io: CliIo, path: string[] = []): void {
  command
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.print(text.replace(/\n$/, '')),
      writeErr: (text) => io.stderr(text.replace(/\n$/, '')),
    })
    .showHelpAfterError(`(${[PROGRAM_NAME, ...path, '--help'].join(' ')} shows the usage)`);
  for (const subcommand of command.commands) configure(subcommand, io, [...path, subcommand.name()]);
}

/** Runs one command line (without the program name); answers the action's exit code, or throws. */
export async function invoke(argv: string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (result) => (code = result));
  configure(program, io);
  await program.parseAsync(argv, { from: 'user' });
  return code;
}

/** Runs one command line and answers its exit code; whatever went wrong is told on stderr. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  try {
    return await invoke(argv, io);
  } catch (error) {
    // Commander has told the problem and the hint already (or shown the help that was asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof UserInputError ? 2 : 1;
  }
}

/** The process's entry: runs `process.argv` and exits with the code once stdout is flushed. */
export function main(): void {
  void run(process.argv.slice(2), processIo()).then((code) => {
    process.stdout.write('', () => process.exit(code));
  });
}
