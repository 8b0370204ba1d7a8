// Mocha configuration. TAPLINE_SPEC=path/to/file.test.ts (comma separated) runs only those
// files: mocha would otherwise add CLI files to the spec list below instead of replacing it.
const spec = process.env.TAPLINE_SPEC
  ? process.env.TAPLINE_SPEC.split(',')
  : ['lib/**/*.test.ts', 'schemas/**/*.test.ts', 'connectors/**/*.test.ts', 'pipelines/**/*.test.ts', 'cli/**/*.test.ts', 'test/**/*.test.ts'];

module.exports = {
  require: ['tsx/cjs', 'test/support/env.ts', 'test/support/hooks.ts'],
  extension: ['ts'],
  spec,
  timeout: 20000,
  exit: true,
};
