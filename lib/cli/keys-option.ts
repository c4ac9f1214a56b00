/**
 * Where the CLI's keys come from. Secret keys: `-k FILE` (repeatable) and `--key-env VAR`. Trusted
 * public keys: `-t "K1 K2"` and `--trusted-key-file F`, else nix.conf found as Nix finds it
 * (or `--nix-conf FILE`).
 *
 * Every value given to a key option (-k, --key-env, --trusted-key-file, `key public FILE`) is
 * treated as secret: a key pasted where its file or variable belongs, in whatever mangled form, is
 * never echoed. Errors name the option and which of its values (`-k #2`), not the value; only a
 * file that opened is named (its name is a file's, not a paste).
 */
import fs from 'node:fs';
import { mayBeKeyMaterial, NarsignError } from '../errors';
import { describeKeyFile, readKeyFile } from '../key-files';
import { parsePublicKeys, parseSecretKey, PublicKey, SecretKey } from '../keys';
import { findNixConf, readNixConf } from '../nixconf';
import { UsageError } from './exit-codes';
import { warn } from './output';

/** How messages refer to the i-th value of a key option: `-k`, or `-k #2` when it was given more than once. */
export function optionValue(option: string, index: number, count: number): string {
  return count > 1 ? `${option} #${index + 1}` : option;
}

export function secretKeysFrom(options: { keyFile?: string[]; keyEnv?: string[] }): SecretKey[] {
  const keys: SecretKey[] = [];
  const files = options.keyFile ?? [];
  const variables = options.keyEnv ?? [];
  files.forEach((file, i) => {
    const which = optionValue('-k', i, files.length);
    const text = readKeyFile(file, { secret: true, warn, label: `the key file given to ${which}` });
    keys.push(parseSecretKey(text, `secret key in ${describeKeyFile(file)}`));
  });
  variables.forEach((variable, i) => {
    const which = optionValue('--key-env', i, variables.length);
    // `--key-env "$KEY"` (the value, not the variable's name) must not print the key back.
    if (mayBeKeyMaterial(variable) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      throw new UsageError(`${which} takes the name of an environment variable (letters, digits and _), not a key (the value given is not shown)`, 'narsign sign --help');
    }
    const value = process.env[variable];
    if (value === undefined || value === '') throw new UsageError(`the environment variable given to ${which} is not set (its name is not shown: values of key options are never echoed)`, 'narsign sign --help');
    keys.push(parseSecretKey(value, `the secret key in the environment variable given to ${which}`));
  });
  return keys;
}

export interface TrustedKeyOptions {
  trustedPublicKeys?: string[];
  trustedKeyFile?: string[];
  nixConf?: string;
}

/** The trusted keys a verify run uses, and where they came from (for messages). */
export function trustedKeysFrom(options: TrustedKeyOptions, hint = 'narsign verify --help'): { keys: PublicKey[]; source: string } {
  const given = [...(options.trustedPublicKeys ?? [])];
  const files = options.trustedKeyFile ?? [];
  if (given.length || files.length) {
    const keys: PublicKey[] = [];
    for (const list of given) {
      try {
        keys.push(...parsePublicKeys(list, '--trusted-public-keys'));
      } catch (error) {
        // A malformed key typed on the command line is a usage error (64), like a bad option value.
        if (error instanceof NarsignError) throw new UsageError(error.message, hint);
        throw error;
      }
    }
    files.forEach((file, i) => {
      const text = readKeyFile(file, { label: `the file given to ${optionValue('--trusted-key-file', i, files.length)}` });
      keys.push(...parsePublicKeys(text, `trusted ${describeKeyFile(file)}`));
    });
    return { keys, source: 'the command line' };
  }
  if (options.nixConf !== undefined) {
    // Nix skips a missing nix.conf; a file named on the command line must exist.
    let isFile = false;
    try {
      isFile = fs.statSync(options.nixConf).isFile();
    } catch {
      /* reported below */
    }
    if (!isFile) throw new NarsignError('ERR_PATH', `--nix-conf '${options.nixConf}': no such file`, { file: options.nixConf });
  }
  const conf = readNixConf(options.nixConf !== undefined ? { sources: options.nixConf } : { sources: findNixConf() });
  const where = conf.files.length ? conf.files.join(', ') : 'the built-in default';
  return { keys: conf.trustedPublicKeys, source: `nix.conf (${where})` };
}
