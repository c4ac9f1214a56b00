/**
 * Loads the Ed25519 backend before anything else of the CLI, so that a configuration error
 * (NARSIGN_BACKEND=foo, or =native with no loadable addon) is one `narsign: error: …` line and an
 * exit code — 64 for a value narsign does not know (like a bad option), 4 when the named backend
 * cannot be loaded — instead of a stack trace and exit 1 (which means "corrupt narinfo").
 * lib/backend.ts throws while being loaded (a library caller gets the NarsignError from require);
 * main.ts imports this module first, so that happens here, inside a try.
 */
import { EXIT_FAILED, EXIT_USAGE } from './exit-codes';

const KNOWN_BACKENDS = ['', 'native', 'sodium-native'];

function loadBackend(): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../backend');
  } catch (error) {
    const isCli = require.main !== undefined && require.main.filename === require.resolve('./main');
    if (!isCli) throw error;
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`narsign: error: ${message}\n`);
    process.exit(KNOWN_BACKENDS.includes(process.env.NARSIGN_BACKEND ?? '') ? EXIT_FAILED : EXIT_USAGE);
  }
}

loadBackend();
