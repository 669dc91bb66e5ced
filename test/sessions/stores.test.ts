// Session stores in memory and in a JSON file, and keepSessions saving a live fleet's
// sessions so a restart resumes every shard with zero identifies (FakeGateway log).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { closeAll, createRange } from '../../src/fleet/create.js';
import { ShardEventStream } from '../../src/fleet/merged-stream.js';
import { resumeSessions } from '../../src/fleet/sessions.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { keepSessions } from '../../src/sessions/saver.js';
import { InMemorySessionStore, JsonFileSessionStore } from '../../src/sessions/store.js';
import type { SessionStore } from '../../src/sessions/store.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { Session } from '../../src/shard/session.js';
import { startGateway } from '../support/gateway.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { configFor } from '../support/shard.js';
import { until } from '../support/until.js';

const dir = mkdtempSync(join(tmpdir(), 'gloaming-sessions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const start = startGateway({ identifyInterval: 0, guilds: 4, rate: 50 });

describe.each([
  ['in memory', (): SessionStore => new InMemorySessionStore()],
  ['in a JSON file', (): SessionStore => new JsonFileSessionStore(join(dir, `sessions-${++files}.json`))],
])('a session store %s', (_where, make) => {
  it('loads what it saved, forgets on null, and never moves a session back to an older sequence', async () => {
    const store = make();
    expect(await store.load()).toEqual(new Map());
    await store.save(new Map([[0, new Session('a', 10, null)], [1, new Session('b', 5, 'ws://127.0.0.1:1/r')]]));
    await store.save(new Map([[0, new Session('a', 12, null)]]));
    await store.save(new Map([[0, new Session('a', 7, null)]])); // a save that arrives late
    await store.save(new Map([[1, null]]));
    expect(await store.load()).toEqual(new Map([[0, new Session('a', 12, null)]]));
    await store.save(new Map([[0, new Session('c', 1, null)]])); // a new session replaces the old one
    expect((await store.load()).get(0)?.id).toBe('c');
  });
});

describe('JsonFileSessionStore', () => {
  it('names the file when it is not a sessions file', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"0": {"id": 3}}');
    await expect(new JsonFileSessionStore(file).load()).rejects.toThrow(`${file} is not a sessions file`);
  });
});

describe('keepSessions', () => {
  it('saves on READY and close, so the next fleet resumes every shard with zero identifies', async () => {
    const g = await start({ shards: 4 });
    const file = join(dir, 'fleet.json');
    const store = new JsonFileSessionStore(file);
    const config = configFor(g, { queue: new InMemoryQueue(4, 1000, 86_400_000, 1000, { intervalMs: 0 }) });
    const run = async (): Promise<void> => {
      const shards = createRange({ start: 0, end: 4 }, 4, config, resumeSessions(await store.load()));
      const keeper = keepSessions(shards, store, { intervalMs: 100 });
      const read = (async () => {
        for await (const item of new ShardEventStream(shards)) void item;
      })();
      await until(() => shards.every((shard) => shard.state.kind === 'Active'));
      await until(async () => (await store.load()).size === 4); // saved on READY, not at close
      await new Promise((resolve) => setTimeout(resolve, 300));
      await closeAll(shards, CloseFrame.RESUME);
      await keeper.stop();
      await read;
      const saved = await store.load();
      for (const shard of shards) expect(saved.get(shard.id.number)).toEqual(shard.takenSession);
    };
    await run();
    expect(g.log.ofType('identify')).toHaveLength(4);
    await run();
    expect(g.log.ofType('identify')).toHaveLength(4);
    expect(g.log.ofType('resume')).toHaveLength(4);
  });

  it('forgets the sessions of shards closed with NORMAL', async () => {
    const g = await start({ shards: 1 });
    const store = new InMemorySessionStore();
    const shards = createRange({ start: 0, end: 1 }, 1, configFor(g));
    const keeper = keepSessions(shards, store);
    const read = (async () => {
      for await (const item of new ShardEventStream(shards)) void item;
    })();
    await until(async () => (await store.load()).size === 1);
    await closeAll(shards, CloseFrame.NORMAL);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a sweep sees the closed shard's session as taken
    expect(await store.load()).toEqual(new Map());
    await keeper.stop();
    await read;
    expect(await store.load()).toEqual(new Map());
  });

  it('names an interval that is not a positive integer', () => {
    const store = new InMemorySessionStore();
    expect(() => keepSessions([], store, { intervalMs: 0 })).toThrow(/session save interval must be a positive integer of milliseconds, got 0/);
    expect(() => keepSessions([], store, { intervalMs: 2.5 })).toThrow(RangeError);
  });

  it('a store that hangs does not hang stop(), and a failed save is retried at the next', async () => {
    const g = await start({ shards: 1 });
    const store = new InMemorySessionStore();
    let failures = 1;
    const flaky: SessionStore = {
      load: () => store.load(),
      save: (sessions) => (failures-- > 0 ? Promise.reject(new Error('store down')) : store.save(sessions)),
    };
    const logger = new MemoryLogger();
    const warnings = (): string[] => logger.lines.filter((line) => line.level === 'warn').map((line) => line.msg);
    const shards = createRange({ start: 0, end: 1 }, 1, configFor(g));
    const keeper = keepSessions(shards, flaky, { intervalMs: 100, logger });
    const read = (async () => {
      for await (const item of new ShardEventStream(shards)) void item;
    })();
    await until(async () => (await store.load()).size === 1); // the READY save failed; a later one stored it
    expect(warnings()).toEqual(['saving sessions failed: retrying at the next save (store down)']);
    flaky.save = () => new Promise(() => {});
    await closeAll(shards, CloseFrame.RESUME); // its save hangs
    await read;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stopping = keeper.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    await stopping;
    vi.useRealTimers();
    expect(warnings().at(-1)).toBe('the last save of sessions did not finish within 10000 ms: they may be lost');
  });
});
