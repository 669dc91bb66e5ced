// The token never shows: not in any event, error, warning, log line, metric, inspection or JSON of a fleet under chaos.
import { inspect } from 'node:util';
import { expect, it } from 'vitest';
import { closeAll, createRange } from '../../src/fleet/create.js';
import { ShardEventStream } from '../../src/fleet/merged-stream.js';
import { Registry } from 'prom-client';
import { collectMetrics } from '../../src/metrics/index.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { startGateway } from '../support/gateway.js';
import { MemoryLogger } from '../support/memory-logger.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GlOaMi.n0t-a-real-token_but-distinctive';
const start = startGateway();

it('leaks the token nowhere while a fleet lives through chaos', async () => {
  const g = await start({ token: TOKEN, shards: 4, maxConcurrency: 4, identifyInterval: 0, rate: 30, heartbeatInterval: 500, reconnectGrace: 500 });
  const emitted: string[] = [];
  const onWarning = (warning: Error): void => void emitted.push(inspect(warning));
  process.on('warning', onWarning);
  const logger = new MemoryLogger(); // every level, trace included
  const shards = createRange({ start: 0, end: 4 }, 4, {
    token: `Bot ${TOKEN}`,
    intents: 513,
    gatewayUrl: g.url,
    queue: new InMemoryQueue(4, 1000, 86_400_000, 1000, { intervalMs: 0 }),
    timeouts: { hello: 2_000, ready: 3_000 },
    backoff: { initial: 100, max: 500 },
    logger,
  });
  const registry = new Registry();
  collectMetrics(shards, { registry });
  const reading = (async () => {
    for await (const { shard, event } of new ShardEventStream(shards)) {
      emitted.push(JSON.stringify(event), inspect(event, { depth: Infinity, showHidden: true }));
      if (event.op === 'error') emitted.push(String(event.d), event.d.stack ?? '', inspect(event.d.cause, { depth: Infinity }));
      if (emitted.length % 100 === 0) emitted.push(inspect(shard, { depth: Infinity, showHidden: true }), JSON.stringify(shard.config), JSON.stringify(shard.session));
    }
  })();
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const chaos = g.chaos({ seed: 11, meanIntervalMs: 100, weights: { drop: 3, close: 3, reconnect: 2, 'invalid-session': 2, 'stop-acks': 1, 'corrupt-frame': 2, 'invalid-json': 2, 'delay-hello': 1, 'withhold-ready': 1 } });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    chaos.stop();
    emitted.push(await registry.metrics());
    for (const shard of shards) emitted.push(inspect(shard, { depth: Infinity, showHidden: true }), JSON.stringify(shard.config), `${String(shard.config.token)}`);
  } finally {
    await closeAll(shards);
    await reading;
    process.off('warning', onWarning);
  }
  emitted.push(...logger.lines.map((line) => inspect(line, { depth: Infinity })));
  expect(logger.find('reconnecting').length).toBeGreaterThan(0);
  expect(emitted.filter((text) => text.includes('"op":"error"') || text.includes('ShardError')).length).toBeGreaterThan(0);
  const leaks = emitted.filter((text) => text.includes(TOKEN) || text.includes('GlOaMi'));
  expect(leaks).toEqual([]);
  expect(g.log.ofType('identify').length + g.log.ofType('resume').length).toBeGreaterThan(4); // the real token reached the gateway
});
