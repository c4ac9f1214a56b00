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

export const jsonOption = () => new Option('--json', 'print one machine-readable JSON report on stdout');
