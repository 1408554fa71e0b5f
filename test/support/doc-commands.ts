/**
 * Runs what the docs show. Fenced blocks tagged `sh` hold commands, one a line (a trailing `\` joins
 * the next; `#` comments and blank lines are skipped): the project's commands run (or, when they need
 * AWS or would rewrite the checkout, their subcommand and every option are checked against the
 * program), and `aws` commands are checked against botocore's service models. Blocks tagged `sql` run
 * on the local SQL engine and must answer at least one row, unless their first line is
 * `-- may return no rows`. Every problem names the file, the line and the command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '#cli/program';
import {
  checkParameterNames,
  resolveParameters,
  type ParameterName,
  type RawParameters,
} from '#infra/deployment-config';
import { PROJECT_ROOT, venvBin } from '#local/python-env';
import type { SqlEngine } from '#local/sql-engine';

export interface DocBlock {
  /** Path relative to the project root, as problems name it. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  tag: string;
  /** The lines between the fences, with their 1-based line numbers. */
  lines: { line: number; text: string }[];
}

/** Blocks whose commands run; `sql` blocks run on the SQL engine. */
export const SHELL_TAG = 'sh';
export const SQL_TAG = 'sql';
/** Tags that say "shell" but are not `sh`: refused, so that no command is left unrun by a tag's spelling. */
const OTHER_SHELL_TAGS = ['bash', 'shell', 'zsh'];
export const NO_ROWS_MARKER = '-- may return no rows';

/** Scripts the docs may show but the tests never run: they are the tests, or take minutes. */
const SCRIPTS_NOT_RUN = new Set([
  'test',
  'test:mocha',
  'test:unit',
  'test:emulator',
  'bench',
  'check',
  'typecheck',
  'lint',
  'format',
  'format:check',
  'setup:python',
  'generate:original-columns',
]);

/** CLI commands checked (command and options) but not run: they need AWS, or rewrite committed files. */
const COMMANDS_NOT_RUN = ['generate', 'bench', 'package', 'publish', 'restore', 'backups'];

/** What a command's output may be piped into; only the command itself runs. */
const PIPE_FILTERS = ['jq', 'head', 'tail', 'less', 'grep', 'column'];

export function fencedBlocks(markdown: string, file: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  let open: (DocBlock & { fence: string; indent: number }) | undefined;
  markdown.split('\n').forEach((text, index) => {
    const line = index + 1;
    const fence = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/.exec(text);
    if (!open) {
      if (fence)
        open = { file, line, tag: fence[3].toLowerCase(), lines: [], fence: fence[2], indent: fence[1].length };
      return;
    }
    if (fence && fence[2].startsWith(open.fence) && text.trim() === fence[2]) {
      const { fence: _fence, indent: _indent, ...block } = open;
      blocks.push(block);
      open = undefined;
      return;
    }
    open.lines.push({ line, text: text.slice(Math.min(open.indent, text.length - text.trimStart().length)) });
  });
  return blocks;
}

export interface ShellCommand {
  file: string;
  line: number;
  text: string;
}

/** The commands of a `sh` block: continued lines joined, comments and blank lines skipped. */
export function shellCommands(block: DocBlock): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let pending: ShellCommand | undefined;
  for (const { line, text } of block.lines) {
    const trimmed = text.trim();
    if (!pending && (trimmed === '' || trimmed.startsWith('#'))) continue;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending ? { ...pending, text: `${pending.text} ${part}`.trim() } : { file: block.file, line, text: part };
    if (!continued) {
      commands.push(pending);
      pending = undefined;
    }
  }
  if (pending) commands.push(pending);
  return commands;
}

/** Words as a POSIX shell splits them (quotes and backslashes; no expansion), and the operators between. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (quote) {
      if (character === quote) quote = undefined;
      else if (character === '\\' && quote === '"' && /["\\$`]/.test(text[index + 1] ?? '')) word += text[++index];
      else word += character;
    } else if (character === "'" || character === '"') {
      quote = character;
      word ??= '';
    } else if (character === '\\') {
      word = (word ?? '') + (text[++index] ?? '');
    } else if (character === '#' && word === undefined) {
      break;
    } else if (/\s/.test(character)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (/[|;&<>]/.test(character)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      const operator = /^(\|\||&&|>>|[|;&<>])/.exec(text.slice(index))![0];
      words.push(operator);
      index += operator.length - 1;
    } else {
      word = (word ?? '') + character;
    }
  }
  if (quote) throw new Error(`unclosed ${quote}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** How one command of the docs is verified. */
export type CommandPlan =
  | { kind: 'run'; args: string[]; env: Record<string, string> }
  | { kind: 'checkCommand'; args: string[] }
  | { kind: 'script'; script: string }
  | { kind: 'shown' }
  | { kind: 'aws'; args: string[] }
  | { kind: 'serverless'; args: string[] }
  | { kind: 'problem'; problem: string };

const KNOWN_FORMS =
  '`npm run <script> -- …`, `npm test`, `npx clonesquad-backup …`, `node bin/clonesquad-backup …`, ' +
  '`npx osls deploy|remove|info …`, `npm install` or `aws …`';

/** The Serverless Framework (osls) as the docs may run it, with the commands and options they may show. */
const SERVERLESS_BINS = ['osls', 'serverless', 'sls'];
const SERVERLESS_COMMANDS: Record<string, string[]> = {
  deploy: ['stage', 'region', 'param', 'aws-profile', 'verbose', 'package', 'force', 'conceal'],
  remove: ['stage', 'region', 'param', 'aws-profile', 'verbose'],
  info: ['stage', 'region', 'param', 'aws-profile', 'verbose'],
};

/**
 * Problems with an `osls` command: its command and options, and its `--param` deployment parameters,
 * checked as packaging checks them.
 */
export function serverlessProblems(args: string[]): string[] {
  const [command, ...rest] = args;
  const options = SERVERLESS_COMMANDS[command];
  if (!options) return [`the docs may show osls ${Object.keys(SERVERLESS_COMMANDS).join(', ')}, not "${command}"`];
  const problems: string[] = [];
  const raw: RawParameters = {};
  for (let index = 0; index < rest.length; index++) {
    const [flag, ...inline] = rest[index].split('=');
    if (!flag.startsWith('--')) continue;
    if (!options.includes(flag.slice(2))) {
      problems.push(`osls ${command} has no option ${flag} here (${options.map((name) => `--${name}`).join(', ')})`);
      continue;
    }
    if (flag !== '--param') continue;
    const value = inline.length > 0 ? inline.join('=') : (rest[++index] ?? '');
    const [name, ...parameterValue] = value.split('=');
    raw[name as ParameterName] = parameterValue.join('=');
  }
  try {
    checkParameterNames(Object.keys(raw));
    resolveParameters(raw);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/** The CLI arguments a package.json script stands for, when it is a shortcut of the program. */
function cliShortcut(script: string): string[] | undefined {
  const match = /^node bin\/clonesquad-backup((?: [a-z:-]+)*)$/.exec(script);
  return match ? match[1].split(' ').filter(Boolean) : undefined;
}

/** How each command of a line is verified: one, or one per part of an `a && b` list. */
export function planCommands(text: string, scripts: Record<string, string>): CommandPlan[] {
  const substitution = /^[A-Z_][A-Z0-9_]*=\$\((.*)\)$/.exec(text.trim());
  if (substitution) return planCommands(substitution[1], scripts);
  let words: string[];
  try {
    words = shellWords(text);
  } catch (error) {
    return [{ kind: 'problem', problem: `cannot be read as a shell command (${(error as Error).message})` }];
  }
  const parts: string[][] = [[]];
  for (const word of words) {
    if (word === '&&') parts.push([]);
    else parts[parts.length - 1].push(word);
  }
  return parts.map((part) => planWords(part, scripts));
}

function planWords(words: string[], scripts: Record<string, string>): CommandPlan {
  const pipe = words.indexOf('|');
  if (pipe >= 0) {
    if (!PIPE_FILTERS.includes(words[pipe + 1] ?? '') || words.slice(pipe + 1).some((word) => OPERATOR.test(word))) {
      return { kind: 'problem', problem: `only a pipe into ${PIPE_FILTERS.join(', ')} is allowed` };
    }
    words = words.slice(0, pipe);
  }
  const operator = words.find((word) => OPERATOR.test(word));
  if (operator) return { kind: 'problem', problem: `"${operator}" is not allowed: write one command a line` };
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split('=');
    env[name] = value.join('=');
  }
  const [program, ...rest] = words;
  if (program === 'aws') return { kind: 'aws', args: rest };
  if (program === 'npx' && SERVERLESS_BINS.includes(rest[0])) return { kind: 'serverless', args: rest.slice(1) };
  if (program === 'npx' && rest[0] === 'clonesquad-backup') return cliPlan(rest.slice(1), env);
  if (program === 'node' && rest[0] === 'bin/clonesquad-backup') return cliPlan(rest.slice(1), env);
  // Installing is shown, never run: the checkout under test is installed already.
  if (program === 'npm' && ['install', 'ci', 'i'].includes(rest[0]) && rest.length === 1) return { kind: 'shown' };
  if (program === 'npm' && (rest[0] === 'test' || rest[0] === 't')) {
    return scriptPlan('test', rest.slice(1), scripts, env);
  }
  if (program === 'npm' && (rest[0] === 'run' || rest[0] === 'run-script') && rest[1]) {
    return scriptPlan(rest[1], rest.slice(2), scripts, env);
  }
  return { kind: 'problem', problem: `unknown command: the docs may show ${KNOWN_FORMS}` };
}

const OPERATOR = /^(;|\|\||&|<|>|>>|\|)$/;

function scriptPlan(
  name: string,
  args: string[],
  scripts: Record<string, string>,
  env: Record<string, string>,
): CommandPlan {
  const script = scripts[name];
  if (script === undefined) {
    return {
      kind: 'problem',
      problem: `package.json has no script "${name}" (it has ${Object.keys(scripts).join(', ')})`,
    };
  }
  const separator = args.indexOf('--');
  const npmFlags = (separator < 0 ? args : args.slice(0, separator)).filter((arg) => arg.startsWith('-'));
  if (npmFlags.length > 0) {
    return {
      kind: 'problem',
      problem: `npm takes ${npmFlags.join(' ')} as its own option: write npm run ${name} -- ${npmFlags.join(' ')} …`,
    };
  }
  if (SCRIPTS_NOT_RUN.has(name)) return { kind: 'script', script: name };
  const shortcut = cliShortcut(script);
  if (!shortcut) return { kind: 'script', script: name };
  return cliPlan([...shortcut, ...args.filter((arg) => arg !== '--')], env);
}

function cliPlan(args: string[], env: Record<string, string>): CommandPlan {
  if (args.includes('--help') || args.includes('-h') || args.includes('--version')) return { kind: 'run', args, env };
  const [command] = args;
  const notRun = COMMANDS_NOT_RUN.includes(command) && !(command === 'generate' && args[1] === 'ddl');
  if (notRun || (command === 'query' && args.some((arg) => arg === '--from' || arg.startsWith('--from=')))) {
    return { kind: 'checkCommand', args };
  }
  return { kind: 'run', args, env };
}

// ---------------------------------------------------------------------------------------- the program's commands

/** Commands that read a word with whitespace as SQL even when it starts with `-` (a `-- comment`), as the program does. */
const SQL_ARGUMENT_COMMANDS = ['query'];

/** Problems with `args` as the program's commands and options, or none. */
export function commandProblems(args: string[]): string[] {
  let command: Command = buildProgram({ print: () => {}, stderr: () => {} } as never, () => {});
  const words = [...args];
  while (words.length > 0 && !words[0].startsWith('-')) {
    const sub = command.commands.find((candidate) => candidate.name() === words[0]);
    if (!sub) break;
    command = sub;
    words.shift();
  }
  if (command.parent === null) {
    const rootOnly = words.every((word) => ['--help', '-h', '--version'].includes(word));
    return rootOnly && words.length > 0 ? [] : [`"${args[0] ?? ''}" is not a command of clonesquad-backup`];
  }
  if (command.commands.length > 0 && words.length > 0 && !words[0].startsWith('-')) {
    return [
      `"${words[0]}" is not a command of ${command.name()} (it has ${command.commands.map((sub) => sub.name()).join(', ')})`,
    ];
  }
  const names = new Set(['--help', '-h', ...command.options.flatMap((option) => [option.long, option.short])]);
  const problems: string[] = [];
  for (const word of words) {
    if (word === '--') break;
    if (!word.startsWith('-')) continue;
    if (SQL_ARGUMENT_COMMANDS.includes(command.name()) && /\s/.test(word)) continue;
    const flag = word.split('=')[0];
    if (!names.has(flag)) problems.push(`${command.name()} has no option ${flag}`);
  }
  return problems;
}

/** `--param name=value` names the program does not know (package and publish take deployment parameters). */
export function parameterNameProblems(args: string[]): string[] {
  const names = args.flatMap((arg, index) => {
    const value = arg.startsWith('--param=')
      ? arg.slice('--param='.length)
      : arg === '--param'
        ? args[index + 1]
        : undefined;
    return value === undefined ? [] : [value.split('=')[0]];
  });
  try {
    checkParameterNames(names);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

// ----------------------------------------------------------------------------------------------- aws commands

export interface AwsServiceModel {
  operations: Record<string, { flags: string[]; booleans: string[]; paginated: boolean }>;
  waiters: string[];
}

/** The AWS CLI's own names for services whose model is named otherwise. */
const CLI_SERVICE_NAMES: Record<string, string> = { s3api: 's3', configservice: 'config' };

const GLOBAL_FLAGS = [
  'region',
  'profile',
  'output',
  'query',
  'debug',
  'endpoint-url',
  'no-verify-ssl',
  'no-paginate',
  'color',
  'no-sign-request',
  'ca-bundle',
  'cli-read-timeout',
  'cli-connect-timeout',
  'cli-binary-format',
  'no-cli-pager',
  'cli-auto-prompt',
  'no-cli-auto-prompt',
  'cli-input-json',
  'cli-input-yaml',
  'generate-cli-skeleton',
];
const PAGINATION_FLAGS = ['starting-token', 'page-size', 'max-items'];

/** Commands the AWS CLI adds to services by hand (no model), with their options. */
const CUSTOM_COMMANDS: Record<string, Record<string, string[]>> = {
  s3: Object.fromEntries(
    ['ls', 'cp', 'mv', 'rm', 'sync', 'mb', 'rb', 'presign', 'website'].map((name) => [
      name,
      [
        'recursive',
        'exclude',
        'include',
        'dryrun',
        'quiet',
        'only-show-errors',
        'no-progress',
        'delete',
        'human-readable',
        'summarize',
        'sse',
        'sse-kms-key-id',
        'acl',
        'content-type',
        'expires-in',
        'force',
        'request-payer',
        'storage-class',
        'metadata',
        'metadata-directive',
        'index-document',
        'error-document',
        'exact-timestamps',
        'size-only',
        'follow-symlinks',
        'no-follow-symlinks',
      ],
    ]),
  ),
  cloudformation: {
    deploy: [
      'template-file',
      'stack-name',
      'parameter-overrides',
      'capabilities',
      's3-bucket',
      's3-prefix',
      'force-upload',
      'kms-key-id',
      'role-arn',
      'notification-arns',
      'fail-on-empty-changeset',
      'no-fail-on-empty-changeset',
      'no-execute-changeset',
      'disable-rollback',
      'no-disable-rollback',
      'tags',
    ],
    package: [
      'template-file',
      's3-bucket',
      's3-prefix',
      'kms-key-id',
      'output-template-file',
      'use-json',
      'force-upload',
      'metadata',
    ],
  },
};

/** Loads botocore's models of `services` (one Python process). */
export function loadAwsModels(services: string[]): Record<string, AwsServiceModel | null> {
  const names = [...new Set(services.map((service) => CLI_SERVICE_NAMES[service] ?? service))];
  if (names.length === 0) return {};
  const output = execFileSync(
    venvBin('python'),
    [join(PROJECT_ROOT, 'test', 'support', 'aws_cli_model.py'), ...names],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const models = JSON.parse(output) as Record<string, AwsServiceModel | null>;
  return Object.fromEntries(services.map((service) => [service, models[CLI_SERVICE_NAMES[service] ?? service]]));
}

/** The service an `aws` command names (after global options), for loading its model first. */
export function awsService(args: string[]): string | undefined {
  return args.find((word, index) => !word.startsWith('-') && !(index > 0 && takesValue(args[index - 1])));
}

const takesValue = (flag: string) =>
  flag.startsWith('--') &&
  !flag.includes('=') &&
  GLOBAL_FLAGS.includes(flag.slice(2)) &&
  !/^--(no-|debug$|cli-auto-prompt$)/.test(flag);

/** Problems with an `aws` command: an unknown service, operation or option. */
export function awsProblems(args: string[], models: Record<string, AwsServiceModel | null>): string[] {
  const service = awsService(args);
  if (!service) return ['names no service'];
  const afterService = args.slice(args.indexOf(service) + 1);
  const operation = afterService.find((word) => !word.startsWith('-'));
  if (!operation) return [`names no ${service} operation`];
  const custom = CUSTOM_COMMANDS[service]?.[operation];
  // `aws s3` has only its own commands; the S3 API is `aws s3api`.
  if (service === 's3' && !custom) return [`"${operation}" is not a command of aws s3 (the S3 API is aws s3api)`];
  const model = models[service];
  if (!model && !custom) return [`"${service}" is not an AWS CLI service`];
  let flags: string[];
  if (custom) {
    flags = custom;
  } else if (operation === 'wait') {
    const waiter = afterService[afterService.indexOf(operation) + 1];
    if (!model!.waiters.includes(waiter)) return [`"${waiter}" is not a waiter of aws ${service} wait`];
    flags = Object.values(model!.operations).flatMap((item) => item.flags);
  } else {
    const found = model!.operations[operation];
    if (!found) return [`"${operation}" is not an operation of aws ${service}`];
    flags = [
      ...found.flags,
      ...found.booleans.map((flag) => `no-${flag}`),
      ...(found.paginated ? PAGINATION_FLAGS : []),
    ];
  }
  const allowed = new Set([...flags, ...GLOBAL_FLAGS]);
  return args
    .filter((word) => word.startsWith('--'))
    .map((word) => word.slice(2).split('=')[0])
    .filter((flag) => !allowed.has(flag))
    .map((flag) => `aws ${service} ${operation} has no option --${flag}`);
}

// -------------------------------------------------------------------------------------------- running blocks

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface DocCheckContext {
  scripts: Record<string, string>;
  /** Runs the program with these arguments (its --out already redirected). */
  runCli(args: string[], env: Record<string, string>): CliResult;
  awsModels: Record<string, AwsServiceModel | null>;
  /** The engine over the sample local run, for `sql` blocks. */
  sql?: SqlEngine;
  /** The folder a `query` reads (the last local run of the file, else the sample run's). */
  queryOut: string;
  /** A fresh folder for one command's output. */
  tempFolder(): string;
}

const problemText = (where: { file: string; line: number }, command: string, problem: string) =>
  `${where.file}:${where.line}: ${command}: ${problem}`;

/** `--out` of the args replaced by (or set to) `out`, before a `--` separator (after it, it would be an argument). */
export function withOut(args: string[], out: string): string[] {
  const separator = args.indexOf('--');
  const options = separator < 0 ? args : args.slice(0, separator);
  const result: string[] = [];
  for (let index = 0; index < options.length; index++) {
    if (options[index] === '--out') index++;
    else if (!options[index].startsWith('--out=')) result.push(options[index]);
  }
  return [...result, '--out', out, ...(separator < 0 ? [] : args.slice(separator))];
}

function shown(result: CliResult): string {
  const text = `${result.stderr}\n${result.stdout}`.trim();
  return text.length > 1_500 ? `…${text.slice(-1_500)}` : text;
}

function shellBlockProblems(block: DocBlock, context: DocCheckContext): string[] {
  const problems: string[] = [];
  for (const command of shellCommands(block)) {
    const report = (problem: string) => problems.push(problemText(command, command.text, problem));
    for (const plan of planCommands(command.text, context.scripts)) runPlan(plan, report, context);
  }
  return problems;
}

/** Verifies one planned command (the program runs as a child process, to the end). */
function runPlan(plan: CommandPlan, report: (problem: string) => void, context: DocCheckContext): void {
  switch (plan.kind) {
    case 'problem':
      return report(plan.problem);
    case 'shown':
    case 'script':
      // Shown, not run (a script's existence was checked when it was planned).
      return;
    case 'aws':
      return awsProblems(plan.args, context.awsModels).forEach(report);
    case 'serverless':
      return serverlessProblems(plan.args).forEach(report);
    case 'checkCommand':
      return [...commandProblems(plan.args), ...parameterNameProblems(plan.args)].forEach(report);
    case 'run': {
      const optionProblems = commandProblems(plan.args);
      if (optionProblems.length > 0) return optionProblems.forEach(report);
      const [name] = plan.args;
      const help = plan.args.some((arg) => ['--help', '-h', '--version'].includes(arg));
      let args = plan.args;
      if (!help && name === 'local') {
        const out = context.tempFolder();
        args = withOut(args, out);
        context.queryOut = out;
      } else if (!help && name === 'query') {
        args = withOut(args, context.queryOut);
      } else if (!help && name === 'policies') {
        args = withOut(args, context.tempFolder());
      }
      const result = context.runCli(args, plan.env);
      if (result.status !== 0) report(`exited with ${result.status}:\n${shown(result)}`);
    }
  }
}

async function sqlBlockProblems(block: DocBlock, context: DocCheckContext): Promise<string[]> {
  const sql = block.lines.map(({ text }) => text).join('\n');
  const first = block.lines.find(({ text }) => text.trim() !== '');
  const shownSql = (first?.text.trim() ?? '').slice(0, 80);
  const report = (problem: string) => [problemText(block, shownSql, problem)];
  if (!first) return report('the sql block is empty');
  if (!context.sql) return report('no SQL engine to run it on');
  try {
    const result = await context.sql.run(sql);
    const rowsMayBeNone = first.text.trim().toLowerCase() === NO_ROWS_MARKER;
    if (result.rows.length === 0 && !rowsMayBeNone) {
      return report(`returned no rows (mark the block with a first line "${NO_ROWS_MARKER}" if that is right)`);
    }
    return [];
  } catch (error) {
    return report(`failed: ${(error as Error).message}`);
  }
}

/** Every problem of one block; none for a block that is neither `sh` nor `sql`. */
export async function blockProblems(block: DocBlock, context: DocCheckContext): Promise<string[]> {
  if (block.tag === SHELL_TAG) return shellBlockProblems(block, context);
  if (block.tag === SQL_TAG) return sqlBlockProblems(block, context);
  if (OTHER_SHELL_TAGS.includes(block.tag)) {
    return [
      problemText(
        block,
        `\`\`\`${block.tag}`,
        'tag commands sh (run by the tests) or console (shown, not run): no other shell tag is used',
      ),
    ];
  }
  return [];
}

/** The services named by the `aws` commands of these blocks. */
export function awsServicesOf(blocks: DocBlock[], scripts: Record<string, string>): string[] {
  return blocks
    .filter((block) => block.tag === SHELL_TAG)
    .flatMap(shellCommands)
    .flatMap((command) => planCommands(command.text, scripts))
    .flatMap((plan) => (plan.kind === 'aws' ? [awsService(plan.args)] : []))
    .filter((service): service is string => service !== undefined);
}

// ------------------------------------------------------------------------------------------------ the docs

/** README.md and every page under docs/, relative to the project root. */
export function docFiles(root = PROJECT_ROOT): string[] {
  const docs = join(root, 'docs');
  const pages = existsSync(docs)
    ? readdirSync(docs, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
        .map((entry) => relative(root, join(entry.parentPath, entry.name)))
        .sort()
    : [];
  return ['README.md', ...pages];
}

export function packageScripts(root = PROJECT_ROOT): Record<string, string> {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
}

/** The program run as `node bin/clonesquad-backup`, from the project root, with its own emulator. */
export function runProgram(args: string[], env: Record<string, string>): CliResult {
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=NodeVersionSupportWarning', join(PROJECT_ROOT, 'bin', 'clonesquad-backup'), ...args],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, AWS_ENDPOINT_URL: '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}

export function tempFolderMaker(prefix = 'docs-'): () => string {
  return () => mkdtempSync(join(tmpdir(), prefix));
}
