// Supervision: a worker that exits unasked (terminated, or its module's handler throws) is
// started again and its shards resume, so the loop reads every sequence once and no identify
// is spent; one that keeps exiting is given up with an error item per shard. A whole fleet
// closed in one process resumes in the next.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { sessionsFromJSON } from '../../src/fleet/sessions.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { ShardEvent } from '../../src/shard/events.js';
import type { WorkerFleetItem } from '../../src/workers/worker-fleet.js';
import { startGateway } from '../support/gateway.js';
import { configFor } from '../support/shard.js';
import { until } from '../support/until.js';
import { allActive, fleetFor } from './fleet.js';
import { FleetReader, sessionProblems } from './fleet-reader.js';

const start = startGateway({ identifyInterval: 0, guilds: 8, rate: 40, shards: 8, maxConcurrency: 8 });
const handler = new URL('./fixtures/throwing-handler.ts', import.meta.url);

describe('a worker that exits unasked', () => {
  it('terminated mid-stream: started again, its shards resume with zero identifies, every sequence read once', async () => {
    const g = await start();
    const fleet = fleetFor(g);
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet) && reader.dispatches > 300, 15_000);
    const terminated = fleet.workers[0]?.shardIds ?? [];
    await fleet.workers[0]?.thread?.terminate();
    const resumesBefore = g.log.ofType('resume').length;
    await until(() => fleet.workers[0]?.restarts === 1 && g.log.ofType('resume').length >= resumesBefore + terminated.length && allActive(fleet), 15_000);
    const readBefore = reader.dispatches;
    await until(() => reader.dispatches > readBefore + 300, 15_000);
    await fleet.close(CloseFrame.RESUME);
    await reader.done;

    expect(g.log.ofType('identify')).toHaveLength(8);
    expect(g.log.ofType('resume').map((entry) => entry.shard).sort()).toEqual([...terminated].sort());
    expect(reader.errors().filter(([, code]) => code === 'WORKER_EXITED').map(([shard]) => shard).sort()).toEqual([...terminated].sort());
    expect(reader.sequences.size).toBe(8);
    expect(sessionProblems(reader.sequences, g)).toEqual([]);
  }, 60_000);

  it.each([
    ['throws', 'boom', 'handler bug'],
    ['calls process.exit', 'exit', 'exit code 3'],
    ['runs out of memory under resourceLimits', 'oom', 'memory limit'],
  ])("whose module's handler %s: started again, the event that ended it handed over once, zero identifies", async (_what, id, why) => {
    const g = await start();
    const marker = join(mkdtempSync(join(tmpdir(), 'gloaming-')), 'thrown');
    const fleet = fleetFor(g, { module: `${handler.href}?marker=${encodeURIComponent(marker)}`, resourceLimits: { maxOldGenerationSizeMb: 64 } });
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet) && reader.dispatches > 100, 15_000);
    g.dispatch(3, 'INTERACTION_CREATE', { id });
    const isIt = (event: ShardEvent): boolean => event.op === GatewayOpcodes.Dispatch && event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === id;
    await until(() => reader.items.some(({ event }) => isIt(event)), 15_000);
    const readBefore = reader.dispatches;
    await until(() => reader.dispatches > readBefore + 100, 15_000);
    await fleet.close(CloseFrame.RESUME);
    await reader.done;

    const holder = fleet.shards.get(3)?.worker ?? -1;
    expect(fleet.workers[holder]?.restarts).toBe(1);
    const exited = reader.items.filter(({ event }) => event.op === 'error' && event.d.code === 'WORKER_EXITED');
    expect(exited.length).toBe(fleet.workers[holder]?.shardIds.length);
    expect(exited[0]?.event.op === 'error' && exited[0].event.d.message).toContain(why);
    expect(reader.items.filter(({ event }) => isIt(event))).toHaveLength(1);
    expect(g.log.ofType('identify')).toHaveLength(8);
    expect(sessionProblems(reader.sequences, g)).toEqual([]);
  }, 60_000);

  it('while an async handler holds the first event of a session whose READY was filtered out: resumed, not identified, the event handed over once', async () => {
    const g = await start({ shards: 1, guilds: 0, rate: 0 });
    const marker = join(mkdtempSync(join(tmpdir(), 'gloaming-')), 'held');
    const fleet = fleetFor(g, {
      workers: 1,
      config: { ...configFor(g), eventTypes: ['INTERACTION_CREATE'] },
      module: `${new URL('./fixtures/holding-handler.ts', import.meta.url).href}?marker=${encodeURIComponent(marker)}`,
    });
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet), 15_000);
    g.dispatch(0, 'INTERACTION_CREATE', { id: 'hold' });
    const held = (): number => reader.items.filter(({ event }) => event.op === GatewayOpcodes.Dispatch && event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === 'hold').length;
    await until(() => fleet.workers[0]?.restarts === 1 && held() === 1, 15_000);
    await fleet.close();
    await reader.done;
    expect(g.log.ofType('identify')).toHaveLength(1);
    expect(g.log.ofType('resume')).toHaveLength(1);
    expect(held()).toBe(1);
  }, 30_000);

  it('that keeps exiting is given up after the cap: a fatal error item per shard, no identify storm, the others go on', async () => {
    const g = await start();
    const fleet = fleetFor(g, { module: handler, restarts: { max: 2, windowMs: 60_000 } });
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet) && reader.dispatches > 100, 15_000);
    g.dispatch(3, 'INTERACTION_CREATE', { id: 'boom' }); // replayed to every restart, which throws again
    const holder = fleet.shards.get(3)?.worker ?? -1;
    const given = fleet.workers[holder]?.shardIds ?? [];
    await until(() => reader.errors().filter(([, code]) => code === 'WORKER_GAVE_UP').length === given.length, 20_000);
    const others = [...fleet.shards.values()].filter((shard) => shard.worker !== holder);
    const readBefore = reader.dispatches;
    await until(() => reader.dispatches > readBefore + 100, 15_000);
    await expect(fleet.shards.get(3)?.send('{"op":3}')).rejects.toMatchObject({ code: 'SEND_AFTER_CLOSE' });
    const states = others.map((shard) => shard.state.kind);
    await fleet.close();
    await reader.done;

    expect(fleet.workers[holder]?.restarts).toBe(2);
    const gaveUp = reader.items.filter(({ event }) => event.op === 'error' && event.d.code === 'WORKER_GAVE_UP');
    expect(gaveUp.map(({ shard }) => shard.id.number).sort()).toEqual([...given].sort());
    expect(gaveUp[0]?.event.op === 'error' && gaveUp[0].event.d).toMatchObject({ kind: 'FatallyClosed', reconnecting: false, message: expect.stringContaining('3 times') });
    expect(g.log.ofType('identify')).toHaveLength(8);
    expect(states).toEqual(others.map(() => 'Active'));
  }, 60_000);
});

describe('a whole fleet restarted', () => {
  it('in another process resumes every session with zero identifies, and no sequence is read twice or missed across the two', async () => {
    const g = await start({ shards: 4, maxConcurrency: 4 });
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/fleet-process.ts', import.meta.url)), g.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    const first = JSON.parse(output) as { sessions: unknown; read: Record<string, number[]> };
    const sessions = sessionsFromJSON(first.sessions);
    expect(sessions.size).toBe(4);

    const fleet = fleetFor(g, { sessions });
    const reader = new FleetReader(fleet, sessions);
    await until(() => allActive(fleet) && reader.dispatches > 200, 15_000);
    await fleet.close(CloseFrame.RESUME);
    await reader.done;

    expect(g.log.ofType('identify')).toHaveLength(4);
    expect(g.log.ofType('resume')).toHaveLength(4);
    const both = new Map(Object.entries(first.read).map(([session, read]) => [session, [...read, ...(reader.sequences.get(session) ?? [])]]));
    expect(both.size).toBe(4);
    expect(sessionProblems(both, g)).toEqual([]);
  }, 60_000);
});

describe('shards that end for good', () => {
  it('are left out when their worker restarts; a worker whose shards all ended is closed; the loop ends with the last shard', async () => {
    const g = await start({ shards: 4, maxConcurrency: 4 });
    const fleet = fleetFor(g);
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet), 15_000);
    const fatal = (): [number, string][] => reader.errors().filter(([, code]) => code === 'FATAL_CLOSE_CODE');
    // Worker 0 holds shards 0 and 2, worker 1 shards 1 and 3.
    g.inject({ type: 'close', code: 4014 }, { shard: 1 });
    await until(() => fatal().length === 1);
    await fleet.workers[1]?.thread?.terminate();
    await until(() => fleet.workers[1]?.restarts === 1 && fleet.shards.get(3)?.state.kind === 'Active' && g.log.ofType('resume').length === 1, 15_000);
    expect(fleet.shards.get(1)?.state.kind).toBe('FatallyClosed');
    g.inject({ type: 'close', code: 4014 }, { shard: 0 });
    g.inject({ type: 'close', code: 4014 }, { shard: 2 });
    await until(() => fatal().length === 3 && fleet.workers[0]?.thread === null, 15_000);
    expect(fleet.workers[0]?.restarts).toBe(0);
    g.inject({ type: 'close', code: 4014 }, { shard: 3 });
    await reader.done; // every shard ended: the stream ends without close()
    expect(fatal().map(([shard]) => shard).sort()).toEqual([0, 1, 2, 3]);
    expect(g.log.ofType('identify')).toHaveLength(4); // the ended shard 1 was not started again with worker 1
    await until(() => fleet.workers.every((worker) => worker.thread === null), 15_000);
  }, 60_000);
});

describe('a forwarded dispatch that is not whole JSON', () => {
  it('cut short: its worker receives it again, as a local shard would, and the loop gets it once', async () => {
    const g = await start({ shards: 1, guilds: 1, rate: 0 });
    const fleet = fleetFor(g, { workers: 1 });
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet) && reader.dispatches >= 2, 15_000);
    g.inject({ type: 'raw-frame', data: '{"op":0,"t":"INTERACTION_CREATE","s":3,"d":{"id":"cut sh' }, { shard: 0 });
    await until(() => reader.errors().some(([, code]) => code === 'DISPATCH_NOT_JSON'));
    g.dispatch(0, 'INTERACTION_CREATE', { id: 'after' });
    const after = (): WorkerFleetItem[] => reader.items.filter(({ event }) => event.op === GatewayOpcodes.Dispatch && event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === 'after');
    await until(() => after().length === 1, 15_000);
    await fleet.close();
    await reader.done;
    expect(g.log.ofType('resume')).toHaveLength(1);
    expect(sessionProblems(reader.sequences, g)).toEqual([]);
  }, 30_000);
});
