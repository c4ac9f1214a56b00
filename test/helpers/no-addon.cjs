// Preload (node --require) that makes the native addon unloadable, as on a machine with no
// prebuild and no compiler: node-gyp-build throws like it does when it finds nothing.
'use strict';
const Module = require('node:module');
const load = Module._load;
Module._load = function patchedLoad(request, ...rest) {
  if (request === 'node-gyp-build') {
    return () => {
      throw new Error('No native build was found for platform=test (simulated)');
    };
  }
  return load.call(this, request, ...rest);
};
