/**
 * Bugs the native-boundary test found in code its author may not edit (native/batch.cc,
 * lib/batch*.ts, lib/sodium-fallback.ts), reported to the lead with these inputs.
 *
 * The random phases of test/helpers/boundary-child.ts tolerate a violation only when one of these
 * predicates recognises it (and count it), so one known bug does not hide others. Each bug also has
 * a deterministic reproduction (`repro:<id>` in the child) that test/native-boundary.test.ts runs as
 * `test.failing`: it passes while the bug is there and fails — telling you to delete the entry —
 * once it is fixed.
 */

export type BackendName = 'native' | 'sodium-native';

export interface KnownBug {
  id: string;
  backends: BackendName[];
  /** where the fix belongs */
  file: string;
  summary: string;
  /** Whether a violation in a random phase is this bug. `input` is the generated description. */
  matches(phase: string, complaint: string, input: string): boolean;
  /**
   * The reproduction is itself a sanitizer report (ASan reports a failed `operator new` instead of
   * throwing std::bad_alloc), so `npm run test:asan` skips it.
   */
  sanitizerReport?: boolean;
}

export const KNOWN_BUGS: KnownBug[] = [
];

export function knownBug(backend: string, phase: string, complaint: string, input: string): KnownBug | undefined {
  return KNOWN_BUGS.find((b) => b.backends.includes(backend as BackendName) && b.matches(phase, complaint, input));
}
