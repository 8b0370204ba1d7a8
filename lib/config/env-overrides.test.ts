import assert from 'node:assert/strict';
import { loadConfig } from '.';
import { TaplineError } from '../errors';

describe('configuration: environment overrides', () => {
  it('a TAPLINE__a__b value that is not valid YAML is a CONFIG_INVALID error naming the variable', () => {
    assert.throws(() => loadConfig(undefined, { TAPLINE__kafka__partitions: '[1,' }),
      (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && /TAPLINE__kafka__partitions/.test(e.message));
  });
});
