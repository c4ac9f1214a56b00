/** narsign: Ed25519 signing and verification for Nix binary caches. */
export { NarsignError, isNarsignError } from './errors';
export * from './ed25519';
