/**
 * Prometheus metrics of shards, merged streams and worker fleets, registered in a prom-client
 * registry and read at scrape time from the counters the library keeps: nothing is done per
 * event for them.
 */
import type { Registry } from 'prom-client';
import { WorkerFleet } from '../workers/worker-fleet.js';
import { prom } from './prom.js';
import { Snapshotter } from './snapshot.js';
import type { MetricsSnapshot, MetricsTarget } from './snapshot.js';

/** Options of {@link collectMetrics}. */
export interface CollectMetricsOptions {
  /** Where the metrics are registered; default prom-client's global `register`. */
  readonly registry?: Registry;
  /** Put before every metric name; default `gloaming_`. Two targets in one registry need two prefixes. */
  readonly prefix?: string;
}

/** What {@link collectMetrics} registered. */
export interface CollectedMetrics {
  /** The metric names, prefix included. */
  readonly names: readonly string[];
  /** Removes the metrics from the registry and stops watching the shards. */
  stop(): void;
}


/** Heartbeat round trips, in seconds: Discord's are tens to hundreds of milliseconds. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Identify queue waits, in seconds: none, a few 5-second windows, or minutes for a large fleet's start. */
const IDENTIFY_WAIT_BUCKETS = [0.1, 1, 5, 10, 30, 60, 120, 300, 600, 1800];

type Labels = Record<string, string>;
type Rows = readonly (readonly [Labels, number])[];

/**
 * Registers Prometheus metrics for `target` — a `Shard`, shards or a merged stream, or a
 * `WorkerFleet` (every worker asked at each scrape, summed here). Every value is read when
 * the registry is scraped; heartbeat round trips and identify waits seen since the last
 * scrape go into their histograms then. Identify waits of local shards are counted from this
 * call on (and for shards added to a stream later, from the first scrape that sees them).
 *
 * Metric names (after the prefix): `dispatches_total{shard}`, `dispatches_by_type_total{type}`,
 * `received_bytes_total{stage="compressed"|"inflated"}`, `shard_state{shard,state}`,
 * `heartbeat_latency_seconds` (histogram) and `shard_latency_seconds{shard}`,
 * `reconnects_total{cause}`, `identifies_total{shard}`, `resumes_total{shard}`,
 * `resumed_total{shard}`, `replayed_dispatches_total{shard}`, `identify_wait_seconds`
 * (histogram), `buffered_messages{shard}`, `commands_sent_total{shard}`,
 * `commands_refused_total{shard}`, `ratelimit_remaining{shard}`; for a WorkerFleet also
 * `worker_restarts_total{worker}` and `fleet_buffered_messages`; for a fleet that reshards
 * (`ShardFleet`, `WorkerFleet`) also `reshards_total`, `reshard_in_progress{from,to,phase}`,
 * `reshard_new_shards_ready`, `reshard_guilds_pending` and `reshard_held_events`.
 *
 * @throws Error from prom-client when a metric of the same name is registered already (use
 *   another `prefix`).
 * @example
 * import { Registry } from 'prom-client';
 * import { collectMetrics } from 'gloaming/metrics';
 * const registry = new Registry();
 * collectMetrics(shards, { registry });
 * console.log(await registry.metrics());
 */
export function collectMetrics(target: MetricsTarget, options: CollectMetricsOptions = {}): CollectedMetrics {
  const registry = options.registry ?? prom.register;
  const prefix = options.prefix ?? 'gloaming_';
  const snapshotter = new Snapshotter(target);
  // One reading serves every metric of a scrape: prom-client starts all their collects at once.
  let reading: Promise<MetricsSnapshot> | null = null;
  const names: string[] = [];

  try {
    // Observed once per reading: a round trip or a wait is in the histograms exactly once.
    const latency = new prom.Histogram({
      name: `${prefix}heartbeat_latency_seconds`,
      help: 'Heartbeat round trips of all shards',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
      collect: async () => void (await read()),
    });
    names.push(`${prefix}heartbeat_latency_seconds`);
    const identifyWait = new prom.Histogram({
      name: `${prefix}identify_wait_seconds`,
      help: 'Time a shard waited for the identify queue',
      buckets: IDENTIFY_WAIT_BUCKETS,
      registers: [registry],
      collect: async () => void (await read()),
    });
    names.push(`${prefix}identify_wait_seconds`);
    function read(): Promise<MetricsSnapshot> {
      reading ??= snapshotter.read().then(
        (snapshot) => {
          reading = null;
          for (const ms of snapshot.latencies) latency.observe(ms / 1000);
          for (const ms of snapshot.identifyWaits) identifyWait.observe(ms / 1000);
          return snapshot;
        },
        (error: unknown) => {
          reading = null;
          throw error;
        },
      );
      return reading;
    }

    const register = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[], rows: (snapshot: MetricsSnapshot) => Rows): void => {
      const fullName = `${prefix}${name}`;
      const config = { name: fullName, help, labelNames, registers: [registry] };
      // Values are absolute readings, set afresh each scrape; a shard that left is gone.
      if (kind === 'counter') {
        new prom.Counter({
          ...config,
          async collect() {
            const snapshot = await read();
            this.reset();
            for (const [labels, value] of rows(snapshot)) this.inc(labels, value);
          },
        });
      } else {
        new prom.Gauge({
          ...config,
          async collect() {
            const snapshot = await read();
            this.reset();
            for (const [labels, value] of rows(snapshot)) this.set(labels, value);
          },
        });
      }
      names.push(fullName);
    };
    const perShard = (value: (stats: MetricsSnapshot['shards'][number]) => number | null) => (snapshot: MetricsSnapshot): Rows =>
      snapshot.shards.flatMap((stats) => {
        const number = value(stats);
        return number === null ? [] : [[{ shard: String(stats.shardId) }, number] as const];
      });
    const summed = (label: string, records: (stats: MetricsSnapshot['shards'][number]) => Readonly<Record<string, number | undefined>>) => (snapshot: MetricsSnapshot): Rows => {
      const sums = new Map<string, number>();
      for (const stats of snapshot.shards) for (const [key, value] of Object.entries(records(stats))) sums.set(key, (sums.get(key) ?? 0) + (value ?? 0));
      return [...sums].map(([key, value]) => [{ [label]: key }, value] as const);
    };
    const sum = (values: Readonly<Record<string, number | undefined>>): number => Object.values(values).reduce<number>((total, value) => total + (value ?? 0), 0);

    register('counter', 'dispatches_total', 'Dispatches received, by shard', ['shard'], perShard((stats) => sum(stats.counts.dispatches)));
    register('counter', 'dispatches_by_type_total', 'Dispatches received, by event type (all shards)', ['type'], summed('type', (stats) => stats.counts.dispatches));
    register('counter', 'received_bytes_total', 'Bytes received, compressed and after inflating (all shards)', ['stage'], (snapshot) => [
      [{ stage: 'compressed' }, snapshot.shards.reduce((total, stats) => total + stats.bytesIn, 0)],
      [{ stage: 'inflated' }, snapshot.shards.reduce((total, stats) => total + stats.bytesOut, 0)],
    ]);
    register('gauge', 'shard_state', "1 for each shard's current state", ['shard', 'state'], (snapshot) => snapshot.shards.map((stats) => [{ shard: String(stats.shardId), state: stats.state.kind }, 1] as const));
    register('gauge', 'shard_latency_seconds', "Each shard's last heartbeat round trip", ['shard'], perShard((stats) => (stats.latencyMs === null ? null : stats.latencyMs / 1000)));
    register('counter', 'reconnects_total', 'Reconnects, by cause (all shards)', ['cause'], summed('cause', (stats) => stats.counts.reconnects));
    register('counter', 'identifies_total', 'IDENTIFYs sent, by shard', ['shard'], perShard((stats) => stats.counts.identifies));
    register('counter', 'resumes_total', 'RESUMEs sent, by shard', ['shard'], perShard((stats) => stats.counts.resumes));
    register('counter', 'resumed_total', 'RESUMEs answered with RESUMED, by shard', ['shard'], perShard((stats) => stats.counts.resumed));
    register('counter', 'replayed_dispatches_total', 'Dispatches the gateway replayed on resume, by shard', ['shard'], perShard((stats) => stats.counts.replayed));
    register('gauge', 'buffered_messages', 'Messages received and not yet taken by the consumer, by shard', ['shard'], perShard((stats) => stats.buffered));
    register('counter', 'commands_sent_total', 'Commands written to the gateway, by shard', ['shard'], perShard((stats) => stats.counts.commandsSent));
    register('counter', 'commands_refused_total', 'Commands rejected (oversized, closed), by shard', ['shard'], perShard((stats) => stats.counts.commandsRefused));
    register('gauge', 'ratelimit_remaining', 'Commands the ratelimiter lets through now, by connected shard', ['shard'], perShard((stats) => stats.ratelimit?.available ?? null));
    if (typeof (target as { reshards?: unknown }).reshards === 'number') {
      register('counter', 'reshards_total', 'Reshards finished (the new set serving, the old one closed)', [], (snapshot) => [[{}, snapshot.reshard?.finished ?? 0]]);
      register('gauge', 'reshard_in_progress', '1 while a reshard runs, with the shard counts it moves between', ['from', 'to', 'phase'], (snapshot) => {
        const running = snapshot.reshard?.progress;
        return running ? [[{ from: String(running.from), to: String(running.to), phase: running.phase }, 1]] : [];
      });
      register('gauge', 'reshard_new_shards_ready', 'New shards READY in the reshard under way', [], (snapshot) => [[{}, snapshot.reshard?.progress?.ready ?? 0]]);
      register('gauge', 'reshard_guilds_pending', "Guilds the new set's READYs listed and not yet created", [], (snapshot) => [[{}, snapshot.reshard?.progress?.guildsPending ?? 0]]);
      register('gauge', 'reshard_held_events', 'New-set events held back until the switch', [], (snapshot) => [[{}, snapshot.reshard?.progress?.held ?? 0]]);
    }
    if (target instanceof WorkerFleet) {
      register('counter', 'worker_restarts_total', 'Worker threads started again after exiting unasked', ['worker'], (snapshot) => (snapshot.fleet?.workers ?? []).map((worker) => [{ worker: String(worker.index) }, worker.restarts] as const));
      register('gauge', 'fleet_buffered_messages', "Items waiting on the WorkerFleet's main thread for the loop", [], (snapshot) => [[{}, snapshot.fleet?.buffered ?? 0]]);
    }
  } catch (error) {
    for (const name of names) registry.removeSingleMetric(name); // a name taken: leave the registry as it was
    throw error;
  }
  snapshotter.watchNow();

  return {
    names,
    stop: () => {
      for (const name of names) registry.removeSingleMetric(name);
      snapshotter.stop();
    },
  };
}
