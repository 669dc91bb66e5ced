// A fleet you can watch: pino logs every shard's lifecycle, Prometheus scrapes /metrics,
// and /healthz tells a load balancer or Kubernetes whether every shard is serving.
//   DISCORD_TOKEN=… npx tsx examples/observability.ts
//   curl http://127.0.0.1:9464/metrics ; curl -i http://127.0.0.1:9464/healthz
// Offline: run `npx gloaming fake-gateway --port 0 --shards 4` and pass its restUrl as REST_URL.
import { pino } from 'pino';
import { CloseFrame, Intents, ShardEventStream, closeAll, createRecommended } from '../src/index.js';
import { serveMetrics } from '../src/metrics/index.js';

const logger = pino({ level: 'info' });
const shards = await createRecommended({
  token: process.env.DISCORD_TOKEN ?? 'offline-token',
  intents: Intents.Guilds | Intents.GuildMessages,
  logger,
  ...(process.env.REST_URL ? { restUrl: process.env.REST_URL } : {}),
});
const server = await serveMetrics(shards, { host: '127.0.0.1', port: Number(process.env.METRICS_PORT ?? 9464) });
logger.info({ url: server.url }, 'metrics and health served');

process.once('SIGINT', () => void server.close().then(() => closeAll(shards, CloseFrame.NORMAL)));

for await (const { event } of new ShardEventStream(shards)) {
  void event; // your bot's work; errors and reconnects are in the log already
}
