// Backpressure across threads: a loop that stops reading stops its workers forwarding (and,
// in turn, their shards' sockets), the main thread's buffer stays bounded, and reading again
// delivers every sequence once.
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { expect, it } from 'vitest';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { WorkerFleetItem } from '../../src/workers/worker-fleet.js';
import { startGateway } from '../support/gateway.js';
import { until } from '../support/until.js';
import { fleetFor } from './fleet.js';
import { sessionProblems } from './fleet-reader.js';

const start = startGateway({ identifyInterval: 0, guilds: 4 });

it('a loop that stops reading holds its workers back; reading again delivers everything once', async () => {
  const g = await start({ shards: 4, maxConcurrency: 4, rate: 'max' });
  const fleet = fleetFor(g);
  const iterator = fleet[Symbol.asyncIterator]();
  const read = new Map<string, number[]>();
  const current = new Map<number, string>();
  const take = async (): Promise<WorkerFleetItem> => {
    const { value } = (await iterator.next()) as IteratorYieldResult<WorkerFleetItem>;
    const { shard, event } = value;
    if (event.op === GatewayOpcodes.Dispatch && event.t === GatewayDispatchEvents.Ready) {
      current.set(shard.id.number, event.d.session_id);
      read.set(event.d.session_id, []);
    }
    if (event.op === GatewayOpcodes.Dispatch) read.get(current.get(shard.id.number) ?? '')?.push(event.s);
    return value;
  };
  while (current.size < 4) await take();
  // Not reading: each worker forwards up to its limit and stops pulling from its shards, whose
  // sockets pause, so the gateway stops sending. (It resumes a worker only once the loop has
  // taken half of what waits, so a worker may stop anywhere between half its limit and all of it;
  // FakeGateway's 'max' traffic pauses every session once one client stops reading.)
  let sent = -1;
  for (let quiet = 0; quiet < 2; ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = g.log.ofType('dispatch').length;
    quiet = now === sent ? quiet + 1 : 0;
    sent = now;
  }
  expect(fleet.buffered).toBeGreaterThan(0);
  expect(fleet.buffered).toBeLessThanOrEqual(2 * 2_048 + 2 * 1_024); // each worker's limit, plus the last read burst of a shard
  expect(g.log.ofType('dispatch').length).toBe(sent);
  // Reading again: everything arrives, once.
  const target = [...read.values()].reduce((sum, list) => sum + list.length, 0) + 30_000;
  while ([...read.values()].reduce((sum, list) => sum + list.length, 0) < target) await take();
  await fleet.close(CloseFrame.RESUME);
  for (;;) if ((await iterator.next()).done === true) break;
  expect(sessionProblems(read, g)).toEqual([]);
  await until(() => fleet.workers.every((worker) => worker.thread === null));
}, 60_000);
