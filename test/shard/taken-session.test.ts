// Forwarding from a shard: nextWantedMessage hands out what nextEvent would, as text, and
// takenSession follows the consumer, so resuming it receives exactly what was not taken.
import { describe, expect, it } from 'vitest';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { ShardMessage } from '../../src/shard/events.js';
import { ShardId } from '../../src/shard/shard-id.js';
import { Shard } from '../../src/shard/shard.js';
import { startGateway } from '../support/gateway.js';
import { configFor } from '../support/shard.js';
import { until } from '../support/until.js';

const start = startGateway({ identifyInterval: 0, guilds: 2, rate: 0 });

const textOf = (message: ShardMessage): { op: number; t: string; s: number; d: { id?: string } } => {
  if (message.type !== 'text') throw new Error(`expected a text message, got ${JSON.stringify(message)}`);
  return JSON.parse(message.text) as { op: number; t: string; s: number; d: { id?: string } };
};

describe('the session as taken', () => {
  it('stays behind what was received until the consumer takes it; resuming it delivers the untaken rest exactly once', async () => {
    const g = await start();
    const config = configFor(g, { eventTypes: ['READY', 'INTERACTION_CREATE'] });
    const first = new Shard(ShardId.ONE, config);
    const second: Shard[] = [];
    try {
      // HELLO first (every payload but an unwanted dispatch is wanted), then READY.
      expect(textOf(await first.nextWantedMessage())).toMatchObject({ op: 10 });
      expect(textOf(await first.nextWantedMessage()).t).toBe('READY');
      const sessionId = g.sessions()[0]?.id;
      expect(first.takenSession).toMatchObject({ id: sessionId, sequence: 1 });
      // Interleaved with dispatches nobody wants, which move the resume point all the same.
      for (let i = 1; i <= 20; i++) {
        g.dispatch(0, 'INTERACTION_CREATE', { id: String(i) });
        g.dispatch(0, 'CHANNEL_CREATE', { id: `c${i}`, guild_id: '1' });
      }
      const lastSent = Math.max(...g.log.sequencesSent(sessionId as string));
      await until(() => first.session?.sequence === lastSent);
      const taken = [];
      for (let i = 0; i < 5; i++) taken.push(textOf(await first.nextWantedMessage()));
      expect(taken.map((event) => [event.t, event.d.id])).toEqual(['1', '2', '3', '4', '5'].map((id) => ['INTERACTION_CREATE', id]));
      // The guild creates after READY and the channel creates between were skipped, and counted.
      const resumeFrom = first.takenSession;
      expect(resumeFrom).toMatchObject({ id: sessionId, sequence: taken[4]?.s });
      expect(first.session?.sequence).toBe(lastSent);
      await first.close(CloseFrame.RESUME);

      second.push(new Shard(ShardId.ONE, { ...config, session: resumeFrom }));
      const rest = [];
      while (rest.length < 15) {
        const event = textOf(await second[0]!.nextWantedMessage());
        if (event.op === 0) rest.push(event); // HELLO and heartbeat ACKs are wanted too
      }
      expect(rest.map((event) => event.t === 'INTERACTION_CREATE' && event.d.id)).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 6)));
      expect(second[0]!.takenSession?.sequence).toBe(rest.at(-1)?.s);
      expect(g.log.ofType('identify')).toHaveLength(1);
      expect(g.log.ofType('resume')).toHaveLength(1);
    } finally {
      await Promise.all([first, ...second].map((shard) => shard.close()));
    }
  });
});
