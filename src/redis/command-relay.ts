/**
 * The service's side of commands on the bus: it reads the command streams of the shards it
 * owns (from the moment it started: a command sent while no service held the shard times out
 * at its consumer rather than running late), sends each through the shard, and answers on
 * the asking consumer's reply stream.
 */
import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { DEFAULT_BUS_PREFIX, REPLY_CAP, REPLY_TTL_MS, busKeys, fieldsOf } from './event-bus.js';
import { redisConnection } from './connection.js';
import type { RedisInput } from './connection.js';

const RETRY_MS = 1_000;

/** Sends a raw JSON payload on a shard; rejects with an error whose `code` says why it was not sent. */
export type SendOnShard = (shard: number, json: string) => Promise<void>;

/**
 * Relays commands from consumers to the shards of this service until closed.
 *
 * @example
 * const relay = new CommandRelay({ redis: url }, [0, 1, 2, 3], (shard, json) => fleet.shards.get(shard)!.send(json));
 * await relay.close();
 */
export class CommandRelay {
  readonly #client: RedisClient;
  readonly #owned: boolean;
  readonly #reader: RedisClient;
  readonly #streams: string[];
  readonly #send: SendOnShard;
  readonly #logger: Logger | null;
  #closed = false;
  readonly #running: Promise<void>;
  /** Commands relayed (sent or refused). */
  relayed = 0;

  constructor(options: { readonly redis: RedisInput; readonly prefix?: string; readonly logger?: Logger | null }, shards: readonly number[], send: SendOnShard) {
    const keys = busKeys(options.prefix ?? DEFAULT_BUS_PREFIX);
    const { client, owned } = redisConnection(options.redis);
    this.#client = client;
    this.#owned = owned;
    this.#reader = client.duplicate();
    this.#reader.on('error', () => undefined);
    this.#streams = shards.map((shard) => keys.commands(shard));
    this.#send = send;
    this.#logger = options.logger ?? null;
    this.#running = this.#run(shards);
  }

  /** Stops reading commands and closes the connections it made. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#reader.disconnect();
    await this.#running;
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect());
  }

  async #run(shards: readonly number[]): Promise<void> {
    let ids: string[] | null = null;
    while (!this.#closed) {
      try {
        if (ids === null) {
          const [seconds, micros] = await this.#client.time();
          const start = `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)}-0`;
          ids = this.#streams.map(() => start);
        }
        const reply = (await this.#reader.xread('COUNT', 256, 'BLOCK', 1_000, 'STREAMS', ...this.#streams, ...ids));
        for (const [stream, entries] of reply ?? []) {
          const at = this.#streams.indexOf(stream);
          for (const [id, fields] of entries) {
            ids[at] = id;
            this.#relay(shards[at] as number, fieldsOf(fields));
          }
        }
      } catch (error) {
        if (this.#closed) return;
        this.#logger?.warn({ err: (error as Error).message, retryMs: RETRY_MS }, 'reading commands from Redis failed: retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  #relay(shard: number, { request, reply, json }: Record<string, string | undefined>): void {
    if (request === undefined || reply === undefined || json === undefined) return;
    this.relayed += 1;
    void this.#send(shard, json).then(
      () => this.#answer(reply, ['request', request]),
      (error: Error & { code?: unknown }) => this.#answer(reply, ['request', request, 'error', typeof error.code === 'string' ? error.code : 'SEND_FAILED', 'message', error.message]),
    );
  }

  #answer(reply: string, fields: string[]): void {
    void this.#client
      .multi()
      .xadd(reply, 'MAXLEN', '~', REPLY_CAP, '*', ...fields)
      .pexpire(reply, REPLY_TTL_MS)
      .exec()
      .catch((error: Error) => this.#logger?.warn({ err: error.message }, 'answering a command on Redis failed: its consumer will time out'));
  }
}
