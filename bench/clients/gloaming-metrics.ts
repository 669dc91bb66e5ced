/**
 * Client `gloaming-metrics`: `gloaming-full` with `collectMetrics` on its shards and the
 * registry scraped every second, as Prometheus would (usually every 15 s): what metrics cost
 * per event (issue 16: ≤ 2 % over gloaming-full).
 */
import { Registry } from 'prom-client';
import { collectMetrics } from '../../src/metrics/index.js';
import { Meter, clientArgs, fail } from './harness.js';
import { makeShards, measureThroughput } from './gloaming.js';

const args = clientArgs();
if (args.mode === 'idle') fail(new Error('gloaming-metrics measures throughput only'));
const shards = makeShards(args);
const registry = new Registry();
collectMetrics(shards, { registry });
await registry.metrics(); // warm, as every scrape after a server's first is
const scraper = setInterval(() => void registry.metrics().catch(fail), 1_000);
await measureThroughput(shards, new Meter());
clearInterval(scraper);
