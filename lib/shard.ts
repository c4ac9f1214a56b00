/**
 * Sharding a cache: `I/N` (I from 1 to N) selects the narinfos whose hash part — its first six
 * characters read as a Nix base-32 number, most significant digit first — is ≡ I−1 (mod N). Every
 * narinfo falls in exactly one of the N shards, so N processes or machines can split one cache.
 */
import { NarsignError } from './errors';

export interface Shard {
  /** 1-based, as written: `index/count`. */
  index: number;
  count: number;
}

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < NIX32.length; i += 1) DIGIT[NIX32.charCodeAt(i)] = i;

/** Parses `I/N` (or passes a Shard through, checked). */
export function parseShard(value: string | Shard): Shard {
  const match = typeof value === 'string' ? /^(\d+)\/(\d+)$/.exec(value.trim()) : null;
  const shard = typeof value === 'string' ? (match ? { index: Number(match[1]), count: Number(match[2]) } : undefined) : value;
  if (!shard || !Number.isSafeInteger(shard.index) || !Number.isSafeInteger(shard.count) || shard.count < 1 || shard.index < 1 || shard.index > shard.count) {
    throw new NarsignError('ERR_SHARD_INVALID', `shard must be I/N with 1 ≤ I ≤ N (e.g. 1/4), not ${JSON.stringify(typeof value === 'string' ? value : `${value.index}/${value.count}`)}`);
  }
  return shard;
}

/** The number the first six characters of a hash part stand for, or -1 when they are not Nix base-32. */
export function hashPrefixValue(hashPart: string): number {
  let value = 0;
  for (let i = 0; i < 6; i += 1) {
    const code = hashPart.charCodeAt(i);
    const digit = code < 128 ? DIGIT[code] : -1;
    if (digit < 0) return -1;
    value = value * 32 + digit;
  }
  return value;
}

/** Whether the narinfo with this hash part belongs to `shard` (everything belongs to no shard at all). */
export function inShard(hashPart: string, shard: Shard | undefined): boolean {
  if (!shard || shard.count === 1) return true;
  const value = hashPrefixValue(hashPart);
  // A name that is not a hash part goes to shard 1, so that some run still reports it.
  return (value < 0 ? 0 : value % shard.count) === shard.index - 1;
}
