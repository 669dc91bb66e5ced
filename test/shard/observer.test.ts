// The shard observer: a recorder built on its calls alone reconstructs what the gateway saw
// (identifies, resumes, every session's sequences) through a run of faults, and an observer
// that throws does not disturb the shard.
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { createRange } from '../../src/fleet/create.js';
import { ShardEventStream } from '../../src/fleet/merged-stream.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { describeCause } from '../../src/shard/disconnect.js';
import type { DisconnectCause } from '../../src/shard/disconnect.js';
import type { Fault } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { Recorder, rangesUpTo, toRanges } from '../support/recorder.js';
import { configFor, shardsPerTest } from '../support/shard.js';
import { until } from '../support/until.js';

const start = startGateway();
const open = shardsPerTest();

describe('the shard observer', () => {
  it('a recorder on its calls alone reconstructs the identifies, resumes and per-session sequences the gateway logged', async () => {
    const g = await start({ shards: 4, rate: 50, identifyInterval: 0, heartbeatInterval: 400 });
    const shards = createRange({ start: 0, end: 4 }, 4, configFor(g, { maxInflatedSize: 100_000, queue: new InMemoryQueue(4, 1000, 86_400_000, 1000, { intervalMs: 0 }) }));
    const recorder = new Recorder();
    for (const shard of shards) shard.observe(recorder);
    const read = (async () => {
      for await (const item of new ShardEventStream(shards)) void item;
    })();
    const faults: Fault[] = [
      { type: 'drop' },
      { type: 'reconnect' },
      { type: 'invalid-session', resumable: false },
      { type: 'invalid-session', resumable: true },
      { type: 'stop-acks' },
      { type: 'invalid-json' },
      { type: 'close', code: 4000 },
      { type: 'close', code: 4009 },
      { type: 'huge-guild-create', bytes: 200_000 },
    ];
    const settled = (): boolean => shards.every((shard) => shard.state.kind === 'Active');
    await until(settled);
    for (const [index, fault] of faults.entries()) {
      const before = g.log.ofType('identify').length + g.log.ofType('resume').length;
      g.inject(fault, { shard: index % 4 });
      if (fault.type === 'huge-guild-create') await until(() => recorder.errorCodes.includes('MESSAGE_TOO_LARGE'));
      else await until(() => g.log.ofType('identify').length + g.log.ofType('resume').length > before && settled());
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const saved = await Promise.all(shards.map((shard) => shard.close(CloseFrame.RESUME)));
    await read;

    expect(recorder.identifies.sort()).toEqual(g.log.ofType('identify').map((entry) => entry.shard).sort());
    expect(recorder.resumes).toEqual(g.log.ofType('resume').map(({ shard, session }) => ({ shard, session })));
    expect(recorder.resumes.length).toBeGreaterThanOrEqual(5);
    const sessions = g.log.ofType('identify').map((entry) => entry.session);
    expect([...recorder.sessions.keys()].sort()).toEqual([...sessions].sort());
    // Every sequence the gateway sent, up to the last one the shard received: what it sent
    // after that went out with a session that ended (op 9, a close) or was still in flight at close.
    for (const session of sessions) {
      const recorded = recorder.sessions.get(session)?.sequences ?? [];
      const last = recorded.at(-1)?.[1] ?? 0;
      expect(recorded, session).toEqual(rangesUpTo(toRanges(g.log.sequencesSent(session)), last));
      expect(last, session).toBeGreaterThan(recorded[0]?.[0] ?? 0);
    }
    const live = saved.filter((session) => session !== null);
    expect(live.length, JSON.stringify(shards.map((shard) => shard.state))).toBe(4);
    for (const session of live) expect(recorder.sessions.get(session.id)?.sequences.at(-1)?.[1]).toBe(session.sequence);
    expect(recorder.errorCodes).toEqual(['ZOMBIE', 'MESSAGE_NOT_JSON', 'MESSAGE_TOO_LARGE']);
    const faultCauses: DisconnectCause[] = [
      { kind: 'CloseCode', code: 1006, reason: '' },
      { kind: 'Reconnect' },
      { kind: 'InvalidSession', resumable: false },
      { kind: 'InvalidSession', resumable: true },
      { kind: 'Zombie' },
      { kind: 'InvalidPayload', problem: 'a message that was not JSON' },
      { kind: 'CloseCode', code: 4000, reason: 'closed by fault injection' },
      { kind: 'CloseCode', code: 4009, reason: 'closed by fault injection' },
    ];
    expect(recorder.reconnectCauses).toEqual(faultCauses);
    expect(recorder.closeCauses).toEqual([...faultCauses, ...Array.from({ length: 4 }, () => ({ kind: 'UserClose', code: CloseFrame.RESUME.code }))]);
    expect(recorder.reconnectCauses.map(describeCause)).toEqual([
      'close 1006',
      'op 7 (reconnect)',
      'op 9 (invalid session)',
      'op 9 (invalid session, resumable)',
      'no heartbeat ACK',
      'a message that was not JSON',
      'close 4000 ("closed by fault injection")',
      'close 4009 ("closed by fault injection")',
    ]);
  });

  it('an observer that throws is reported and the shard carries on; a stopped observer hears nothing more', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const states: string[] = [];
      const stopBroken = shard.observe({
        stateChanged: () => {
          throw new Error('observer bug');
        },
      });
      const stop = shard.observe({ stateChanged: (_shard, state) => states.push(state.kind) });
      await reader.until(() => reader.events.some((event) => event.t === GatewayDispatchEvents.GuildCreate));
      expect(states).toEqual(['Identifying', 'Active']);
      stop();
      g.inject({ type: 'drop' });
      await reader.until(() => shard.state.kind === 'Active' && g.log.ofType('resume').length === 1);
      expect(states).toEqual(['Identifying', 'Active']);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.some((message) => message.includes("a shard observer's stateChanged threw: observer bug"))).toBe(true);
      stopBroken();
    } finally {
      process.off('warning', onWarning);
    }
  });
});
