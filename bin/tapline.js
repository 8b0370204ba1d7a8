#!/usr/bin/env node
// Entry point for `npx tapline`: loads the TypeScript CLI through tsx's CommonJS hook,
// so a fresh `npm ci` can run every command without a separate build step.
require('tsx/cjs');
require('../cli/main.ts').main(process.argv).catch((err) => {
  // eslint-disable-next-line no-console
  console.error(err && err.message ? `tapline: ${err.message}` : err);
  process.exitCode = typeof err?.exitCode === 'number' ? err.exitCode : 1;
});
