/** Mocha root hooks: stop the shared integration-test services after the last test. */
import { stopTestServices } from './services';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    await stopTestServices();
  },
};
