/**
 * gloaming/redis: the parts that let shards in many processes and machines act as one bot,
 * on Redis through ioredis (an optional peer dependency).
 */
export { RedisQueue } from './redis-queue.js';
export type { RedisQueueOptions } from './redis-queue.js';
export { RedisSessionStore, SESSION_TTL_MS, applicationIdOf } from './session-store.js';
export type { RedisSessionStoreOptions } from './session-store.js';
export type { RedisInput } from './connection.js';
