#!/usr/bin/env node
/**
 * The `narsign` command line. Each command lives in its own file; this one wires them together and
 * turns errors into one line on stderr and an exit code (see exit-codes.ts).
 */
import { Command, CommanderError } from 'commander';
import { NarsignError } from '../errors';
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
    command.configureOutput({ outputError: (text, write) => write(`narsign: ${text.trimEnd().replace(/\n/g, ' ')}\n`) });
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
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
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
