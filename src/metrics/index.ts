/**
 * gloaming/metrics: Prometheus metrics (prom-client, an optional peer dependency), a health
 * check and the HTTP endpoints that serve them, for a shard, a fleet or a WorkerFleet.
 */
export { collectMetrics } from './collect.js';
export type { CollectedMetrics, CollectMetricsOptions } from './collect.js';
export { DEFAULT_HEALTH_GRACE_MS, HealthChecker } from './health.js';
export type { Health, UnhealthyShard } from './health.js';
export { serveMetrics } from './server.js';
export type { MetricsServer, ServeMetricsOptions } from './server.js';
export type { MetricsSnapshot, MetricsTarget } from './snapshot.js';
