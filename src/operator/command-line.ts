// The command line of `bucketflow`, declared once per subcommand: its words (`events add`), its synopsis, a
// help text and its options (node:util parseArgs). One parser serves them all: `--help` or `-h` anywhere on a
// subcommand prints that subcommand's usage (exit 0), on a group (`bucketflow events --help`) the group's; an
// unknown option, an option without its value or an argument too many is a UsageError of one line naming it.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The option values parseArgs returns for a subcommand's options, typed from their declaration. */
export type OptionValues<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>['values'];

export interface Subcommand<O extends Options = Options> {
  /** Its words after `bucketflow`: `events add`, `redeliver`. */
  name: string;
  /** What follows the words in the usage, one line per form: `<bucket> <arn> [--event put,delete,get]`. */
  synopsis: string[];
  /** What it does and what its arguments mean, printed by `--help`. */
  help: string;
  options: O;
  /** Each option as `--help` lists it: how it is written, what it means. */
  optionHelp?: Array<[string, string]>;
  /** Positional arguments it takes at most; more are a UsageError. */
  maxArguments: number;
  run(args: string[], values: OptionValues<O>): Promise<void>;
}

/** Declares a subcommand, its option values typed from its options. */
export function subcommand<const O extends Options>(spec: Subcommand<O>): Subcommand {
  return spec as unknown as Subcommand;
}

/** Bad input on the command line: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A command that ran and could not do its work for a reason outside the command line (an S3 bucket that refuses
 * the credentials, a backfill that failed or is not running): the CLI prints the one line and exits `exitCode` (1).
 */
export class OperationError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'OperationError';
  }
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** The usage lines of the given subcommands. */
export function usageOf(commands: Subcommand[]): string {
  return [
    'usage:',
    ...commands.flatMap((c) => c.synopsis.map((line) => `  bucketflow ${c.name}${line ? ` ${line}` : ''}`)),
  ].join('\n');
}

function helpOf(command: Subcommand): string {
  const options: Array<[string, string]> = [...(command.optionHelp ?? []), ['-h, --help', 'print this help']];
  const width = Math.max(...options.map(([flag]) => flag.length));
  return [
    usageOf([command]),
    '',
    command.help,
    'options:',
    ...options.map(([flag, meaning]) => `  ${flag.padEnd(width)}  ${meaning}`),
  ].join('\n');
}

/** Whether `--help`/`-h` is among the arguments (before a `--` that ends the options). */
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** The problem parseArgs reports, as one line naming the option (its own messages add a paragraph of advice). */
function optionProblem(err: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return /argument missing/.test(err.message) ? `${option} needs a value` : `${option} takes no value`;
  }
  return err.message.split('\n')[0];
}

/**
 * Runs the subcommand `argv` names, with its options parsed. `footer` follows the usage of every command
 * (`bucketflow --help`, or no arguments, or an unknown command).
 */
export async function runCommandLine(argv: string[], commands: Subcommand[], footer: string): Promise<void> {
  const fullUsage = `${usageOf(commands)}\n${footer}`;
  const command = commands
    .filter((c) => c.name.split(' ').every((word, i) => argv[i] === word))
    .sort((a, b) => b.name.length - a.name.length)[0];
  const group = commands.filter((c) => c.name.split(' ')[0] === argv[0]);
  if (!command) {
    if (asksForHelp(argv) || argv[0] === 'help') {
      console.log(group.length && argv[0] !== 'help' ? usageOf(group) : fullUsage);
      return;
    }
    if (argv.length === 0) throw new UsageError(fullUsage);
    const words = group.length ? `${argv[0]} ${argv[1] ?? ''}`.trim() : argv[0];
    throw new UsageError(`unknown command "${words}" (see bucketflow ${group.length ? `${argv[0]} ` : ''}--help)`);
  }
  const rest = argv.slice(command.name.split(' ').length);
  if (asksForHelp(rest)) {
    console.log(helpOf(command));
    return;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, ...HELP_OPTION },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${command.name}: ${optionProblem(err as Error)} (see bucketflow ${command.name} --help)`);
  }
  const extra = parsed.positionals[command.maxArguments];
  if (extra !== undefined)
    throw new UsageError(`${command.name}: unexpected argument "${extra}" (see bucketflow ${command.name} --help)`);
  await command.run(parsed.positionals, parsed.values as never);
}

/** A missing positional argument: one line naming it and the help to read. */
export function missingArgument(command: string, argument: string): UsageError {
  return new UsageError(`${command}: missing ${argument} (see bucketflow ${command} --help)`);
}
