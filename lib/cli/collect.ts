/** Commander helpers shared by the commands. */
import { InvalidArgumentError, Option } from 'commander';

/** For repeatable options: `-k a -k b` → ['a', 'b']. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A positive integer option value, or a usage error naming the option. */
export function positiveInteger(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${name} must be a positive integer`);
    }
    return Number(value);
  };
}

/** A non-negative integer option value (e.g. --retries 0), or a usage error naming the option. */
export function nonNegativeInteger(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${name} must be a whole number (0 or more)`);
    }
    return Number(value);
  };
}

export const jsonOption = () => new Option('--json', 'print one machine-readable JSON report on stdout');
