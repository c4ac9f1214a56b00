/** `nix-cache-info`, the file at the root of every binary cache. */

/** Most bytes of a `nix-cache-info` read from a directory or a server: it is a few short lines; this is generous. */
export const MAX_CACHE_INFO_BYTES = 64 * 1024;

/** The `StoreDir` a cache announces in `nix-cache-info` (Nix's default when it says nothing). */
export function parseNixCacheInfo(text: string): { storeDir?: string; wantMassQuery?: boolean; priority?: number } {
  const info: { storeDir?: string; wantMassQuery?: boolean; priority?: number } = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'StoreDir') info.storeDir = value;
    else if (key === 'WantMassQuery') info.wantMassQuery = value === '1';
    else if (key === 'Priority' && /^\d+$/.test(value)) info.priority = Number(value);
  }
  return info;
}
