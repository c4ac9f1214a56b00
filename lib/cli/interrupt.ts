/**
 * Ctrl-C (SIGINT) or SIGTERM while a command writes: instead of dying where it stands (leaving the
 * cache lock and temporary files for the next run to clean up), the run is aborted through an
 * AbortSignal, so it finishes the batch being written, removes what it created and releases its
 * lock, and the CLI exits 130 / 143 (128 + the signal's number, as a shell reports a killed command).
 * A second signal while that happens exits at once.
 */
import os from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type Interrupt = (typeof SIGNALS)[number];

export interface Interruptible {
  /** Aborted on the first SIGINT / SIGTERM. */
  signal: AbortSignal;
  /** 130 or 143 once a signal came, else undefined. */
  exitCode(): number | undefined;
  /** Stops listening (the signals' default actions are back). */
  dispose(): void;
}

const exitCodeOf = (name: Interrupt) => 128 + os.constants.signals[name];

/** Listens for SIGINT and SIGTERM until dispose(); see the module comment. */
export function interruptible(): Interruptible {
  const controller = new AbortController();
  let received: Interrupt | undefined;
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      if (received) process.exit(exitCodeOf(received));
      received = name;
      controller.abort(new Error(`interrupted by ${name}`));
    };
    process.on(name, handler);
    return () => process.off(name, handler);
  });
  return {
    signal: controller.signal,
    exitCode: () => (received ? exitCodeOf(received) : undefined),
    dispose: () => handlers.forEach((off) => off()),
  };
}
