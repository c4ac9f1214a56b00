import { NarsignError } from '../../lib/errors';

/** The `code` of the NarsignError `fn` throws; 'no error', or a description of any other throw. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof NarsignError ? error.code : `not a NarsignError: ${String(error)}`;
  }
  return 'no error';
}
