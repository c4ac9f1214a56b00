/**
 * Attack (issue 14, class 7): a secret key pasted, mangled, where a key option wants a file or a
 * variable name — `-k 'NAME BASE64'`, `-k 'BASE64:NAME'`, the base64 twice, … — was echoed in full
 * in the error, i.e. into terminal scrollback, CI logs and bug reports. Every value given to a key
 * option is secret: narsign names the option, never the value.
 *
 * Each form the issue names, of a fresh node:crypto key, is given to every key option (as the value
 * itself, and as the contents of the file or variable the option names; test/helpers/key-echo.ts);
 * test/helpers/secret-scan.ts looks for any 12-character piece of the secret in stdout and stderr.
 * The other mangled forms (already never echoed) are checked in test/secret-hygiene.test.ts.
 */
import test from 'ava';
import { checkNoEcho, FORMS } from '../helpers/key-echo';

/** The forms issue 14 found echoed. */
const ECHOED_FORMS = ['NAME BASE64', 'BASE64:NAME', 'BASE64BASE64', 'BASE64 BASE64'];

for (const form of ECHOED_FORMS) {
  test(`a key pasted as '${form}' into every key option is never echoed`, (t) => checkNoEcho(t, FORMS[form]));
}
