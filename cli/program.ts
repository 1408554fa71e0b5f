/**
 * The command line's surface: every command with its options and help. Each action loads its
 * command's module only when it runs, so that `--help` and bad usage answer at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { BACKUP_TABLES } from '#shared/aws/s3-layout';
import { ENVIRONMENT } from '#shared/run/deployment';
import { DEFAULT_OUT, DEFAULT_S3_PATH } from '#local/defaults';
import { PROJECT_ROOT } from '#local/python-env';
import type { BenchOptions } from '#bench/run';
import type { BackupsListOptions } from '#cli/backups';
import { UsageError } from '#cli/errors';
import type { CliIo } from '#cli/io';
import type { LocalOptions } from '#cli/local';
import { OUTPUT_FORMATS, type OutputFormat } from '#cli/output';
import type { PackageOptions } from '#cli/package';
import type { PoliciesOptions } from '#cli/policies';
import type { PublishCliOptions } from '#cli/publish';
import type { QueryOptions } from '#cli/query';
import type { RestoreOptions } from '#cli/restore';

export const PROGRAM_NAME = 'clonesquad-backup';

const EXIT_CODES = 'Exit code: 0 done, 1 failed, 2 bad usage or input.';

function outputOption(formats: readonly OutputFormat[]): Option {
  return new Option('--output <format>', 'how results are printed on stdout').choices(formats).default('table');
}

/** `--region` and `--profile`, as the AWS CLI has them. */
function withAwsOptions(command: Command): Command {
  return command
    .option(
      '--region <region>',
      'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the region of the profile; refused if none)',
    )
    .option('--profile <name>', 'a profile of ~/.aws/config and ~/.aws/credentials: its credentials and region');
}

/** The options that name a deployment's backup partition besides --group and --region. */
function withPartitionOptions(command: Command): Command {
  return command
    .option(
      '--s3-path <path>',
      `the deployment's MetadataAndBackupS3Path, s3://bucket[/prefix] (default $${ENVIRONMENT.destination})`,
    )
    .option('--account <id>', "the partition's account id (default: the caller's, from STS GetCallerIdentity)");
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * The program; each action hands its exit code to `done` (0 unless it says otherwise). Errors
 * propagate: {@link UsageError}s as commander's own usage errors, with the command's hint.
 */
export function buildProgram(io: CliIo, done: (code: number) => void): Command {
  const program = new Command(PROGRAM_NAME)
    .description('Backups and CMDB metadata export for CloneSquad deployments.')
    .version(packageVersion(), '--version', 'print the version')
    .addHelpText('after', `\n${EXIT_CODES} Run ${PROGRAM_NAME} <command> --help for a command's options.`);
  const action =
    <Args extends unknown[]>(run: (...args: Args) => Promise<number>) =>
    async (...args: Args) => {
      const command = args.at(-1) as Command;
      try {
        done(await run(...args));
      } catch (error) {
        if (error instanceof UsageError) command.error(`error: ${error.message}`, { exitCode: 2 });
        throw error;
      }
    };

  program
    .command('local')
    .description('run the workflow on a local emulator seeded with a CloneSquad group')
    .option('--out <dir>', 'folder of the bucket copy (DIR/s3/<bucket>/<key>) and DIR/last-execution.json', DEFAULT_OUT)
    .addOption(
      new Option('--seed <file>', 'the CloneSquad group to create').default(
        join(PROJECT_ROOT, 'local', 'sample-seed.yaml'),
        'local/sample-seed.yaml',
      ),
    )
    .option('--s3-path <path>', 'the MetadataAndBackupS3Path of the run', DEFAULT_S3_PATH)
    .option('--input <json>', 'the execution input', '{}')
    .addOption(outputOption(['table', 'json']))
    .addHelpText(
      'after',
      '\ntable: the parts of the execution, then the CMDB view (displayallhostnames) cut to a screen.\n' +
        'json: the execution (status, error, summary), the bucket copy and the whole CMDB view, as one document.\n' +
        `Progress goes to stderr. Exit code: 0 the execution succeeded, 1 it failed, 2 bad usage or input.`,
    )
    .action(action(async (options: LocalOptions) => (await import('#cli/local')).localCommand(options, io)));

  withAwsOptions(
    program
      .command('query')
      .description('run Athena SQL on the CMDB exports of a local run or a bucket')
      .argument('[sql...]', "statements, run in order; the last one's result is printed")
      .option('--out <dir>', 'the local run folder: reads DIR/s3/<bucket>/<prefix>/metadata/…', DEFAULT_OUT)
      .option('--s3-path <path>', 'the MetadataAndBackupS3Path of the local run', DEFAULT_S3_PATH)
      .option(
        '--from <path>',
        "download s3://bucket/prefix's metadata (changed objects only) into DIR/cache/<bucket>/ and query that",
      )
      .option('--saved <name>', 'run glue/queries/NAME.sql (before the SQL given, if any)')
      .addOption(outputOption(OUTPUT_FORMATS))
      .addOption(new Option('--format <format>', 'deprecated: --output').choices(OUTPUT_FORMATS).hideHelp()),
  )
    .addHelpText(
      'after',
      '\nTables: default.clonesquad_* (Athena names); the views of glue/views/ by name.\n' +
        '--region and --profile apply to --from. Exit code: 0 printed, 1 failed (no export at that place, an SQL\n' +
        'error), 2 bad usage or input.',
    )
    // SQL may start with a comment ("-- ..."), which commander would take for an option: unknown
    // options are let through and sorted below, where a word with whitespace is SQL.
    .allowUnknownOption()
    .action(
      action(async (sql: string[], options: QueryCliOptions, command: Command) => {
        const flag = sql.find((word) => word.startsWith('-') && !/\s/.test(word));
        if (flag !== undefined) throw new UsageError(`unknown option '${flag}'`);
        const query = await import('#cli/query');
        return query.queryCommand(sql, { ...options, output: outputOf(options, command, io) }, io);
      }),
    );

  withAwsOptions(
    withPartitionOptions(
      program
        .command('restore')
        .description('restore a backup into a CloneSquad table, showing the changes first')
        .argument('[stamp]', 'with --from archive: the stamp of the archive')
        .requiredOption('--group <name>', 'the GroupName of the CloneSquad deployment')
        .addOption(new Option('--table <table>', 'the table to restore').choices(BACKUP_TABLES).makeOptionMandatory())
        .requiredOption(
          '--from <source>',
          's3://bucket/key, a local file, latest, or archive STAMP (backups list shows the stamps; an ISO ' +
            'date-time such as 2024-06-01T10:00:00.123Z works too)',
        )
        .option(
          '--mode <mode>',
          'merge: write every key of the document (an empty value deletes the key); restore: as merge, and ' +
            'delete every key the document does not have',
          'merge',
        )
        .option('--dry-run', 'print the changes and write nothing')
        .option('--yes', 'delete rows without asking (needed to delete when stdin is not a terminal)')
        .option(
          '--force',
          'restore a backup whose provenance (its first line, or its S3 key) names another table, group, ' +
            'account or region than the one restored',
        )
        .option('--table-name <name>', 'the DynamoDB table (default CloneSquad-GROUP-Configuration or -Scheduler)'),
    ),
  )
    .addOption(outputOption(['table', 'json']))
    .addHelpText(
      'after',
      '\nThe changes are printed before anything is written (+ added, ~ changed, - deleted); rows are deleted only\n' +
        'after a yes to "Delete N rows from TABLE? [y/N]", or with --yes. Written rows get no ExpirationTime; rows\n' +
        'already equal to the document are not rewritten. --output json prints the plan and what was written as one\n' +
        'document. Exit code: 0 done, 1 failed (run it again: it writes only what still differs) or declined, 2 bad\n' +
        'usage or input.',
    )
    .action(
      action(async (stamp: string | undefined, options: RestoreOptions) => {
        // `--from archive STAMP` arrives as two arguments.
        if (stamp !== undefined && options.from !== 'archive') {
          throw new UsageError(`unexpected argument "${stamp}" (only --from archive takes a STAMP after it)`);
        }
        const from = stamp === undefined ? options.from : `archive ${stamp}`;
        return (await import('#cli/restore')).restoreCommand({ ...options, from }, io);
      }),
    );

  const backups = program.command('backups').description("list a group's backups");
  withAwsOptions(
    withPartitionOptions(
      backups
        .command('list')
        .description("list a group's latest- backups and archives, newest first")
        .requiredOption('--group <name>', 'the GroupName of the CloneSquad deployment')
        .addOption(new Option('--table <table>', 'one table only (default both)').choices(BACKUP_TABLES))
        .option('--limit <n>', 'the newest N archives of each table (default all)')
        .option(
          '--since <time>',
          'only archives stamped at or after it: a UTC date (2024-06-01) or an ISO 8601 date-time with its zone',
        ),
    ),
  )
    .addOption(outputOption(['table', 'json']))
    .addHelpText(
      'after',
      '\nArchives are listed with the time their stamp records; latest- with the time it was last replaced and the\n' +
        `archive whose content it holds. ${EXIT_CODES}`,
    )
    .action(action(async (options: BackupsListOptions) => (await import('#cli/backups')).backupsList(options, io)));

  program
    .command('policies')
    .description('write the central bucket stack, or the policies of an existing bucket')
    .option('--s3-path <path>', "the deployments' MetadataAndBackupS3Path, s3://bucket[/prefix]")
    .option('--org-id <id>', 'the AWS Organization whose accounts run deployments (o-…)')
    .option('--account <id>', 'the central account, which owns the bucket and its KMS key')
    .option('--region <region>', "the bucket's region")
    .option(
      '--reader-arn <arn>',
      'a role or user of the central account that reads the metadata tables (repeatable)',
      collect,
    )
    .addOption(
      new Option('--out <dir>', 'where to write bucket-policy.json and kms-key-policy.json').default(
        join(PROJECT_ROOT, 'infra', 'generated'),
        'infra/generated',
      ),
    )
    .addHelpText(
      'after',
      '\nWith no option, regenerates infra/generated/central-bucket-stack.json, the central bucket stack. With\n' +
        '--s3-path, --org-id, --account and --region, writes the policies of an existing bucket instead.\n' +
        EXIT_CODES,
    )
    .action(action(async (options: PoliciesOptions) => (await import('#cli/policies')).policiesCommand(options, io)));

  withAwsOptions(
    program
      .command('package')
      .description('build the deployment package offline (osls package), with no AWS credentials')
      .argument('[osls-arguments...]', 'after --: more arguments for osls package, as they are')
      .option('--param <name=value>', 'a deployment parameter (repeatable); name= makes it empty', collect)
      .option('--stage <stage>', 'the Serverless stage')
      .option('--package <dir>', 'where to write the package (default .serverless)'),
  )
    .addHelpText(
      'after',
      '\nParameters default to a local all-groups deployment (metadataAndBackupS3Path=\n' +
        's3://clonesquad-cmdb-local/clonesquad); each --param replaces its default. --profile only serves to find\n' +
        "the region. Exit code: osls package's (0 packaged), 2 bad usage or input.",
    )
    .action(
      action(async (oslsArguments: string[], options: PackageOptions) =>
        (await import('#cli/package')).packageCommand(options, oslsArguments, io),
      ),
    );

  withAwsOptions(
    program
      .command('publish')
      .description(
        "publish the function code and the regional template to every target region's artifact bucket, for the " +
          "Organization's StackSet",
      )
      .requiredOption('--regions <list>', 'the regions the StackSet deploys to, comma-separated (eu-west-1,eu-west-3)')
      .option(
        '--central-stack <name>',
        "the central bucket stack: its MetadataAndBackupS3Path and KmsKeyArn outputs become the deployment's parameters",
      )
      .option(
        '--param <name=value>',
        'a deployment parameter (repeatable), as for package; it wins over the outputs',
        collect,
      ),
  )
    .addHelpText(
      'after',
      "\nRun it in the central account; --region is the central stack's. The central stack creates the artifact\n" +
        'buckets (its ArtifactRegions parameter). Prints the template URL, for the StackSet (infra/generated/\n' +
        `stackset.json). ${EXIT_CODES}`,
    )
    .action(action(async (options: PublishCliOptions) => (await import('#cli/publish')).publishCommand(options, io)));

  const generate = program
    .command('generate')
    .description('rewrite the files derived from the code (catalog stack, StackSet, Athena DDL, central bucket stack)')
    .addHelpText('after', `\n${EXIT_CODES}`)
    .action(action(async () => (await import('#cli/generate')).generateFiles(io)));
  generate
    .command('ddl')
    .description('print the Athena DDL of every metadata table, for a setup without the catalog stack')
    .argument('<s3-path>', 'the MetadataAndBackupS3Path of the deployments, s3://bucket[/prefix]')
    .option('--database <name>', 'the Glue database (created first unless it is the default one)')
    .addHelpText('after', `\n${EXIT_CODES}`)
    .action(
      action(async (s3Path: string, options: { database?: string }) =>
        (await import('#cli/generate')).printDdl(s3Path, options, io),
      ),
    );

  program
    .command('bench')
    .description(
      'measure export speed, memory, AWS calls, cold starts, zip sizes, transitions and cost against their targets',
    )
    .option('--write-docs', 'also write the tables to docs/performance.md (below its bench marker)')
    .addHelpText(
      'after',
      '\nEvery row prints PASS or FAIL with its target and measured value. Runs local executions on the emulator\n' +
        '(a few minutes). Tables also go to .cache/bench/last-run.md. Exit code: 0 every target met, 1 one missed or failed.',
    )
    .action(action(async (options: BenchOptions) => (await import('#bench/run')).runBench(options)));

  return program;
}

interface QueryCliOptions extends Omit<QueryOptions, 'output'> {
  output: OutputFormat;
  format?: OutputFormat;
}

/** `--output`, or the deprecated `--format` it replaces. */
function outputOf(options: QueryCliOptions, command: Command, io: CliIo): OutputFormat {
  if (options.format === undefined) return options.output;
  io.stderr('note: --format is deprecated; use --output');
  if (command.getOptionValueSource('output') !== 'default' && options.output !== options.format) {
    throw new UsageError(`--format ${options.format} and --output ${options.output} disagree; give --output alone`);
  }
  return options.format;
}
