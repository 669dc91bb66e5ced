/**
 * The Redis connection of a gloaming Redis part: the caller's ioredis instance, or one made
 * from a URL and owned (closed) by the part. ioredis is an optional peer dependency, so its
 * absence is an error that says what to install.
 */
import type { Redis as RedisClient, RedisOptions } from 'ioredis';

const ioredis = await import('ioredis').catch((error: unknown) => {
  throw new Error(`gloaming/redis needs the package ioredis (npm install ioredis@6): ${(error as Error).message}`, { cause: error });
});

/** An ioredis client, or a `redis://` URL to connect to. */
export type RedisInput = RedisClient | string;

/** A connection and whether the part made it (and so closes it). */
export interface RedisConnection {
  /** The client every command of the part goes through. */
  readonly client: RedisClient;
  /** Whether the part made the client from a URL, and so quits it when it closes. */
  readonly owned: boolean;
}

/** `url` with anything before an `@` (user and password) hidden, for an error message. */
const withoutCredentials = (url: string): string => url.replace(/^([a-z][\w+.-]*:\/\/)?.*@/i, '$1***@');

/**
 * Resolves `input` to a client. A URL connects with retries forever and commands queued
 * while Redis is away, so a part can wait out an outage rather than fail at once.
 *
 * @throws TypeError for something that is neither a client nor a URL.
 */
export function redisConnection(input: RedisInput, options: RedisOptions = {}): RedisConnection {
  if (typeof input === 'string') {
    if (!/^rediss?:\/\//.test(input)) throw new TypeError(`redis must be an ioredis client or a redis:// (or rediss://) URL, got ${JSON.stringify(withoutCredentials(input))}`);
    const client = new ioredis.Redis(input, { maxRetriesPerRequest: 1, ...options });
    // The part reports failed commands itself; without a listener ioredis prints each reconnect error.
    client.on('error', () => undefined);
    return { client, owned: true };
  }
  if (typeof input !== 'object' || input === null || typeof (input as Partial<RedisClient>).defineCommand !== 'function') {
    throw new TypeError('redis must be an ioredis client or a redis:// URL');
  }
  return { client: input, owned: false };
}
