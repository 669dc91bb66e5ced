// A shard config and its session as plain data: through JSON and through a real
// postMessage, the other side builds the same shard, and it resumes the session.
import { MessageChannel } from 'node:worker_threads';
import { GatewayDispatchEvents, PresenceUpdateStatus } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { shardConfigFromData, shardConfigToData } from '../src/config-data.js';
import type { ShardConfigData } from '../src/config-data.js';
import { ConfigError, Token, resolveShardConfig } from '../src/config.js';
import type { ShardConfig } from '../src/config.js';
import { InMemoryQueue } from '../src/queue/in-memory-queue.js';
import { CloseFrame } from '../src/shard/close-codes.js';
import { Session } from '../src/shard/session.js';
import { startGateway } from './support/gateway.js';
import { configFor, shardsPerTest } from './support/shard.js';
import { MemoryLogger } from './support/memory-logger.js';

const start = startGateway();
const open = shardsPerTest();

/** `value` as the other end of a MessagePort receives it: the structured clone a worker gets. */
async function posted<T>(value: T): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  try {
    const received = new Promise<T>((resolve) => port2.once('message', resolve));
    port1.postMessage(value);
    return await received;
  } finally {
    port1.close();
    port2.close();
  }
}

const everything: ShardConfig = {
  token: new Token('Bot MTIz.plain.data'),
  intents: 513,
  largeThreshold: 120,
  presence: { status: PresenceUpdateStatus.Idle, activities: [{ name: 'tests', type: 0 }], afk: false, since: null },
  identifyProperties: { os: 'linux', browser: 'bot', device: 'bot' },
  gatewayUrl: 'wss://gateway.example/some/path',
  compression: null,
  userAgent: 'TestBot (https://example.test, 1.0)',
  ratelimitMessages: false,
  eventTypes: new Set([GatewayDispatchEvents.MessageCreate, GatewayDispatchEvents.GuildCreate]),
  session: new Session('abc', 42, 'wss://resume.example'),
  maxInflatedSize: 1 << 20,
  maxBufferedMessages: 64,
  timeouts: { hello: 3_000 },
  backoff: { initial: 50, jitter: false },
  maxIdentifyFailures: 3,
};

describe('a shard config as plain data', () => {
  it('survives JSON and postMessage, and the other side resolves to the same config', async () => {
    const data = shardConfigToData(everything, { includeToken: true });
    for (const copy of [JSON.parse(JSON.stringify(data)) as unknown, await posted(data)]) {
      const rebuilt = shardConfigFromData(copy);
      expect(shardConfigToData(rebuilt, { includeToken: true })).toEqual(data);
      const [theirs, ours] = [resolveShardConfig(rebuilt), resolveShardConfig(everything)];
      expect(theirs.token.reveal()).toBe('MTIz.plain.data');
      expect({ ...theirs, token: null, session: theirs.session?.toJSON() }).toEqual({ ...ours, token: null, session: ours.session?.toJSON() });
    }
    expect(data).toMatchObject({ token: 'MTIz.plain.data', session: { id: 'abc', sequence: 42, resumeUrl: 'wss://resume.example' }, timeouts: { hello: 3_000, connect: 15_000 } });
  });

  it('a session saved on one side is resumed by a shard built from the posted data on the other', async () => {
    const gateway = await start();
    const first = open(gateway, { queue: null });
    await first.reader.until(() => first.reader.events.some((event) => event.t === GatewayDispatchEvents.GuildCreate));
    const session = await first.shard.close(CloseFrame.RESUME);
    expect(session).not.toBeNull();

    const data = await posted(shardConfigToData({ ...configFor(gateway), queue: null, session }, { includeToken: true }));
    const second = open(gateway, { ...shardConfigFromData(data), queue: new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: 0 }) });
    await second.reader.until(() => second.shard.state.kind === 'Active');
    expect(gateway.log.ofType('resume')).toMatchObject([{ session: session!.id, sequence: session!.sequence }]);
    expect(gateway.log.ofType('identify')).toHaveLength(1);
  });

  it('says what is wrong: no includeToken, a queue, a broken session, not an object, a bad option', () => {
    const bad = (run: () => unknown): ConfigError => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).not.toContain('MTIz');
        return error as ConfigError;
      }
      throw new Error('expected a ConfigError');
    };
    const data = shardConfigToData(everything, { includeToken: true });
    expect(bad(() => shardConfigToData(everything, {} as { includeToken: true })).option).toBe('includeToken');
    expect(bad(() => shardConfigToData({ ...everything, queue: new InMemoryQueue(1) }, { includeToken: true })).option).toBe('queue');
    expect(bad(() => shardConfigToData({ ...everything, logger: new MemoryLogger() }, { includeToken: true })).option).toBe('logger');
    expect(bad(() => shardConfigFromData({ ...data, session: { id: '', sequence: 1, resumeUrl: null } })).option).toBe('session');
    expect(bad(() => shardConfigFromData('{"token":"x"}')).message).toContain('plain-data form');
    expect(bad(() => shardConfigFromData({ ...data, largeThreshold: 9_000 } satisfies ShardConfigData)).option).toBe('largeThreshold');
  });
});
