/**
 * gloaming/redis: the parts that let shards in many processes and machines act as one bot,
 * on Redis through ioredis (an optional peer dependency): the identify queue, the session
 * store, and the gateway service with its consumers on Redis Streams.
 */
export { RedisQueue } from './redis-queue.js';
export type { RedisQueueOptions } from './redis-queue.js';
export { RedisSessionStore, SESSION_TTL_MS, applicationIdOf } from './session-store.js';
export type { RedisSessionStoreOptions } from './session-store.js';
export type { RedisInput } from './connection.js';
export { GatewayConsumer, GatewayCommandError } from './gateway-consumer.js';
export type { ConsumedEvent, GatewayConsumerOptions } from './gateway-consumer.js';
export { DEFAULT_BUS_PREFIX, DEFAULT_STREAM_CAP, shardOfGuild } from './event-bus.js';
export { GatewayService } from '../service/service.js';
export type { GatewayServiceOptions } from '../service/service.js';
