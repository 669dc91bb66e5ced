/** WorkerFleets for the tests: on a FakeGateway's shards, with the test config and its unspaced queue. */
import type { FakeGateway } from '../../src/testing/index.js';
import { WorkerFleet } from '../../src/workers/worker-fleet.js';
import type { WorkerFleetOptions } from '../../src/workers/worker-fleet.js';
import { configFor } from '../support/shard.js';

/** A fleet of every shard `gateway` serves over 2 workers, unless `options` say otherwise. */
export function fleetFor(gateway: FakeGateway, options: Partial<WorkerFleetOptions> = {}): WorkerFleet {
  return new WorkerFleet({ workers: 2, shards: { total: gateway.options.shards }, config: configFor(gateway), ...options });
}

/** Whether every shard of `fleet` is Active, as its worker last reported. */
export const allActive = (fleet: WorkerFleet): boolean => [...fleet.shards.values()].every((shard) => shard.state.kind === 'Active');
