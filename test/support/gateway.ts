/**
 * One FakeGateway per test: `startGateway` registers an `afterEach` that closes every
 * simulator the test started, so no test leaks a port or a timer into the next.
 */
import { afterEach } from 'vitest';
import { FakeGateway } from '../../src/testing/index.js';
import type { FakeGatewayOptions } from '../../src/testing/index.js';

/**
 * Returns a `start(options)` for this test file; `defaults` apply under each call's options.
 *
 * @example
 * const start = startGateway({ identifyInterval: 0 });
 * it('…', async () => { const gateway = await start({ shards: 2 }); });
 */
export function startGateway(defaults: FakeGatewayOptions = {}): (options?: FakeGatewayOptions) => Promise<FakeGateway> {
  const open: FakeGateway[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((gateway) => gateway.close()));
  });
  return async (options = {}) => {
    const gateway = await FakeGateway.start({ ...defaults, ...options });
    open.push(gateway);
    return gateway;
  };
}
