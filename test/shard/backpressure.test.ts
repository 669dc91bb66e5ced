// Backpressure: a consumer that stops reading stops the socket, and reading again delivers
// everything once. Polling: what is buffered can be read without waiting.
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { ShardError } from '../../src/shard/errors.js';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('backpressure', () => {
  it('a consumer that stops reading stops the socket; reading again delivers everything once', async () => {
    const g = await start({ rate: 'max' });
    const { shard } = open(g, { maxBufferedMessages: 200 });
    const sequences: number[] = [];
    const read = async (count: number): Promise<void> => {
      while (sequences.length < count) {
        const event = await shard.nextEvent();
        if (event.op === GatewayOpcodes.Dispatch) sequences.push(event.s);
      }
    };
    await read(500);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const generated = g.sessions()[0]!.sequence;
    // The server kept producing (kernel buffers take megabytes), but the shard decoded only
    // what it hands out plus its bounded buffer (and the rest of the last socket read, which
    // ws decodes whole: up to 64 KiB, about 270 messages here): the rest waits in the socket.
    expect(generated).toBeGreaterThan(2_000);
    expect(shard.inflaterMetrics.messages).toBeLessThan(500 + 200 + 300);
    await read(generated + 1000);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
  });

  it('pollEvent and pollMessage hand out what is buffered without waiting, peeked or taken, and throw once the stream ended', async () => {
    const g = await start({ rate: 0, guilds: 0 });
    const { shard } = open(g);
    expect(shard.pollEvent()).toBeUndefined(); // the first read connects the shard; nothing is there yet
    while ((await shard.nextEvent()).t !== GatewayDispatchEvents.Ready);
    for (let n = 0; n < 5; n++) g.dispatch(0, 'INTERACTION_CREATE', { id: `i${n}` });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const peeked = shard.pollEvent({ peek: true });
    expect(shard.pollEvent({ peek: true })).toBe(peeked); // left in place
    expect(shard.pollEvent()).toBe(peeked);
    expect(shard.pollMessage({ wantedOnly: true })).toMatchObject({ type: 'text', text: expect.stringContaining('"i1"') });
    const rest: unknown[] = [];
    for (let event = shard.pollEvent(); event !== undefined; event = shard.pollEvent()) rest.push(event.t === GatewayDispatchEvents.InteractionCreate ? event.d.id : event.op);
    expect(rest).toEqual(['i2', 'i3', 'i4']);
    expect([peeked?.t, peeked?.t === GatewayDispatchEvents.InteractionCreate ? peeked.d.id : null]).toEqual([GatewayDispatchEvents.InteractionCreate, 'i0']);
    expect(shard.pollEvent()).toBeUndefined();
    await shard.close();
    const drained = (): unknown => {
      for (;;) if (shard.pollMessage() === undefined) return undefined;
    };
    expect(() => drained()).toThrow(ShardError);
  });
});
