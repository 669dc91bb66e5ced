/**
 * The HTTP endpoints an operator scrapes: `/metrics` in Prometheus text format and
 * `/healthz`, for one target.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { collectMetrics } from './collect.js';
import { HealthChecker } from './health.js';
import type { MetricsTarget } from './snapshot.js';
import { prom } from './prom.js';

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** Where to listen; default `127.0.0.1` (metrics are not for the internet). */
  readonly host?: string;
  /** The port; default 9464, 0 for any free one. */
  readonly port?: number;
  /** A registry of your own (with your metrics in it); default a new one for this server. */
  readonly registry?: Registry;
  /** The metric name prefix; default `gloaming_`. */
  readonly prefix?: string;
  /** How long a shard may be away after it was Active and still count as healthy; default 15 s. */
  readonly graceMs?: number;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /** Stops listening and collecting. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (every metric of {@link collectMetrics}, plus whatever else is in the
 * registry) and `GET /healthz`: 200 with `{"healthy":true,…}` when every shard is Active or
 * back within `graceMs` of a drop, else 503 with the shards that are not and why.
 *
 * @throws Error when the address cannot be listened on (in use, not local).
 * @example
 * const server = await serveMetrics(fleet, { port: 9464 });
 * // curl http://127.0.0.1:9464/metrics ; curl -i http://127.0.0.1:9464/healthz
 * await server.close();
 */
export async function serveMetrics(target: MetricsTarget, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const registry = options.registry ?? new prom.Registry();
  const health = new HealthChecker(target, options.graceMs === undefined ? {} : { graceMs: options.graceMs });
  const collected = collectMetrics(target, { registry, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  const server = http.createServer((request, response) => {
    const target = request.url ?? '/';
    // A request line the URL parser refuses must not reach `new URL`: it would throw out of the handler.
    const path = URL.canParse(target, 'http://localhost') ? new URL(target, 'http://localhost').pathname : null;
    if (path === null) {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target\n');
    } else if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(error as Error).message}\n`),
      );
    } else if (path === '/healthz') {
      const answer = health.check();
      response.writeHead(answer.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(answer)}\n`);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    health.stop();
    collected.stop();
    throw error;
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: async () => {
      health.stop();
      collected.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
