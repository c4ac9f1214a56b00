import test from 'ava';
import { backend } from '../lib/ed25519';
test('backend', (t) => { t.truthy(backend); });
