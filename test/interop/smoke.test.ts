import test from 'ava';
test('interop smoke', (t) => { t.pass(); });
