/**
 * `narsign fingerprint FILE…` — each narinfo's fingerprint, one line per file, in argument order;
 * `narsign inspect FILE` — the parsed narinfo and each signature's status.
 */
import { Command } from 'commander';
import fs from 'node:fs';
import { isCorruptCode } from '../cache';
import { NarsignError, printable } from '../errors';
import { fingerprint } from '../fingerprint';
import { formatHash } from '../hash';
import { NarInfo, parseNarinfo } from '../narinfo';
import { readNarinfoFile, readNarinfoStdin } from '../bounded-read';
import { isCacheEntryName } from '../narinfo-name';
import { verifyNarinfo } from '../signatures';
import { collect, jsonOption } from './collect';
import { EXIT_CORRUPT, EXIT_FAILED } from './exit-codes';
import { trustedKeysFrom, TrustedKeyOptions } from './keys-option';
import { describeError, errnoWords, writeOut } from './output';

/** A narinfo file or standard input, read within the narinfo limit (lib/bounded-read.ts). */
async function readNarinfo(file: string): Promise<NarInfo> {
  let bytes: Buffer;
  try {
    bytes = file === '-' ? await readNarinfoStdin() : readNarinfoFile(file).bytes;
  } catch (error) {
    if (error instanceof NarsignError) throw error;
    throw new NarsignError('ERR_PATH', `${file}: ${errnoWords(error)}`, { file });
  }
  return parseNarinfo(bytes, { where: file === '-' ? '<stdin>' : file });
}

function exitFor(error: unknown): number {
  return error instanceof NarsignError && isCorruptCode(error.code) ? EXIT_CORRUPT : EXIT_FAILED;
}

export function fingerprintCommand(): Command {
  return new Command('fingerprint')
    .description("print each narinfo's fingerprint (what its signatures sign), one line per file")
    .argument('<file...>', '.narinfo files (- for stdin)')
    .addHelpText('after', '\nExample:\n  narsign fingerprint cache/*.narinfo\n\nExit status: 0 all printed; 1 some narinfo corrupt; 4 some file unreadable; 64 usage error.')
    .action(async (files: string[]) => {
      let out = '';
      let code = 0;
      for (const file of files) {
        try {
          out += `${fingerprint(await readNarinfo(file))}\n`;
        } catch (error) {
          await writeOut(out);
          out = '';
          process.stderr.write(`narsign: ${describeError(error)}\n`);
          code |= exitFor(error);
        }
      }
      await writeOut(out);
      process.exitCode = code;
    });
}

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('show a parsed narinfo, its fingerprint and the status of each signature')
    .argument('<file>', 'a .narinfo file (- for stdin)')
    .option('-t, --trusted-public-keys <keys>', 'trusted public keys (default: from nix.conf)', collect)
    .option('--trusted-key-file <file>', 'file of trusted public keys', collect)
    .option('--nix-conf <file>', 'read trusted keys from this nix.conf')
    .addOption(jsonOption())
    .addHelpText('after', `
Exit status: 0 shown (whatever the verdict: \`narsign verify\` checks); 1 corrupt narinfo; 4 unreadable
file or other failure; 64 usage error.`)
    .action(async (file: string, options: TrustedKeyOptions & { json?: boolean }) => {
      const { keys } = trustedKeysFrom(options, 'narsign inspect --help');
      let info: NarInfo;
      let verdict: ReturnType<typeof verifyNarinfo>;
      try {
        info = await readNarinfo(file);
        // The file-name rule of every command (lib/narinfo-name.ts).
        const named = file !== '-' && isCacheEntryName(file);
        verdict = verifyNarinfo(info, keys, named ? { fileName: file } : {});
      } catch (error) {
        process.stderr.write(`narsign: ${describeError(error)}\n`);
        process.exitCode = exitFor(error);
        return;
      }
      const fp = fingerprint(info);
      const fields = {
        storePath: info.storePath,
        url: info.url,
        compression: info.compression,
        fileHash: info.fileHash ? formatHash(info.fileHash, 'nix32') : undefined,
        fileSize: info.fileSize,
        narHash: formatHash(info.narHash, 'nix32'),
        narSize: info.narSize,
        references: info.references,
        deriver: info.deriver,
        ca: info.lines.find((l) => l.name === 'CA')?.value,
        fingerprint: fp,
        trusted: verdict.trusted,
        reason: verdict.reason,
        bySignatures: verdict.bySignatures,
        signatures: verdict.signatures.map((s) => ({ keyName: s.keyName, status: s.status, ...(s.error ? { error: s.error.message } : {}) })),
        otherFields: info.lines.filter((l) => !KNOWN.has(l.name)).map((l) => l.text),
      };
      if (options.json) {
        await writeOut(`${JSON.stringify(fields, null, 2)}\n`);
      } else {
        const rows: Array<[string, string]> = [
          ['StorePath', fields.storePath],
          ['URL', fields.url],
          ['Compression', fields.compression],
          ...(fields.fileHash ? [['FileHash', fields.fileHash] as [string, string]] : []),
          ...(fields.fileSize !== undefined ? [['FileSize', String(fields.fileSize)] as [string, string]] : []),
          ['NarHash', fields.narHash],
          ['NarSize', String(fields.narSize)],
          ['References', fields.references.length ? fields.references.join('\n             ') : '(none)'],
          ['Deriver', fields.deriver ?? '(none)'],
          ...(fields.ca ? [['CA', fields.ca] as [string, string]] : []),
          ...fields.otherFields.map((t) => ['(other)', t] as [string, string]),
          ['Fingerprint', fp],
        ];
        // printable(): every value is what the narinfo's writer chose (a URL, a field, a key name).
        let text = rows.map(([k, v]) => `${k.padEnd(12)} ${v.split('\n').map(printable).join('\n')}`).join('\n');
        text += fields.signatures.length ? '\nSignatures\n' : '\nSignatures   (none)\n';
        for (const s of fields.signatures) text += `  ${printable(s.keyName || '(no name)')}: ${s.status}${s.error ? ` (${printable(s.error)})` : ''}\n`;
        text += `Trusted     ${verdict.trusted ? 'yes' : 'no'} (${verdict.reason})\n`;
        await writeOut(text);
      }
    });
}

const KNOWN = new Set(['StorePath', 'URL', 'Compression', 'FileHash', 'FileSize', 'NarHash', 'NarSize', 'References', 'Deriver', 'Sig', 'CA']);
