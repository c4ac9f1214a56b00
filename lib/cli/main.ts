#!/usr/bin/env node
/**
 * The `narsign` command line. Each command lives in its own file; this one wires them together and
 * turns errors into one line on stderr and an exit code (see exit-codes.ts).
 */
// First: a backend that cannot be loaded is reported here, before any other module needs it.
import './preflight';
import { Command, CommanderError } from 'commander';
import { mayBeKeyMaterial, NarsignError } from '../errors';
import { EXIT_FAILED, EXIT_USAGE, UsageError } from './exit-codes';
import { fingerprintCommand, inspectCommand } from './fingerprint';
import { keyCommand } from './key';
import { signCommand } from './sign';
import { verifyCommand } from './verify';
import { describeError, error } from './output';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('narsign')
    .description('Ed25519 signing and verification for Nix binary caches')
    .version(version, '-V, --version')
    .showSuggestionAfterError(true);
  program.addCommand(keyCommand());
  program.addCommand(signCommand());
  program.addCommand(verifyCommand());
  program.addCommand(fingerprintCommand());
  program.addCommand(inspectCommand());
  for (const command of allCommands(program)) {
    command.exitOverride();
    // Commander's own usage errors: `narsign: error: …` on one line; main() adds the hint.
    // Commander quotes the words it refuses ('unknown command …', 'argument … is invalid'): one that
    // looks like a pasted key is not shown.
    const unquoteKeys = (text: string) => text.replace(/'([^']*)'/g, (quoted, word: string) => (mayBeKeyMaterial(word) ? "'(not shown: it looks like a key)'" : quoted));
    command.configureOutput({ outputError: (text, write) => write(`narsign: ${unquoteKeys(text.trimEnd().replace(/\n/g, ' '))}\n`) });
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** `narsign key generate` for argv `key generate x --bad`: the deepest command the words name. */
function commandPath(program: Command, argv: string[]): string {
  const names = ['narsign'];
  let current = program;
  for (const word of argv) {
    const next = current.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!next) break;
    names.push(word);
    current = next;
  }
  return names.join(' ');
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // `narsign help key generate`: commander's help command only looks one word deep.
  if (argv[0] === 'help' && argv.length > 2) argv = [...argv.slice(1), '--help'];
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // `narsign` or `narsign key` with no command: commander has shown the help on stderr.
      if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : EXIT_USAGE;
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
      process.stderr.write(`(see: ${commandPath(program, argv)} --help)\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      error(err.message);
      process.stderr.write(`(see: ${err.hint ?? 'narsign --help'})\n`);
      return EXIT_USAGE;
    }
    error(describeError(err));
    if (!(err instanceof NarsignError) && process.env.NARSIGN_DEBUG) console.error(err);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  // A reader that stops early (`narsign fingerprint … | head -1`): stop quietly, no stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') error(describeError(err));
    process.exit(EXIT_FAILED);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      error(describeError(err));
      process.exitCode = EXIT_FAILED;
    },
  );
}
