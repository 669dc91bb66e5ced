// What nextEvent yields: the wanted dispatch types only, unknown opcodes and event names
// skipped (nextMessage keeps everything), sequences exact throughout.
import { GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { eventTypesForIntents } from '../../src/codec/event-types.js';
import { resolveShardConfig } from '../../src/config.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('event types', () => {
  it('nextEvent yields only the wanted dispatches; sequences stay exact and nextMessage has all', async () => {
    const g = await start({ rate: 0, guilds: 2 });
    const { shard } = open(g, { eventTypes: eventTypesForIntents(0) }); // READY, INTERACTION_CREATE, …: no GUILD_CREATE
    const first = await shard.nextEvent(); // HELLO
    expect(first.op).toBe(GatewayOpcodes.Hello);
    expect((await shard.nextEvent()).t).toBe('READY');
    g.dispatch(0, 'MESSAGE_CREATE', { id: '1', guild_id: g.world.guildIds[0], content: 'skipped' });
    g.dispatch(0, 'INTERACTION_CREATE', { id: '2' });
    const interaction = await shard.nextEvent();
    expect(interaction).toMatchObject({ t: 'INTERACTION_CREATE', s: 5 }); // after READY and two GUILD_CREATEs and the message
    expect(shard.session?.sequence).toBe(5);
  });

  it('eventTypes must hold dispatch names', () => {
    expect(() => resolveShardConfig({ token: 't', intents: 1, eventTypes: ['MESAGE_CREATE' as never] })).toThrow(/eventTypes/);
  });
  it('unknown opcodes and event names are skipped by nextEvent and kept by nextMessage', async () => {
    const g = await start({ rate: 0, guilds: 0 });
    const { shard } = open(g);
    const texts: string[] = [];
    while (shard.state.kind !== 'Active') {
      const message = await shard.nextMessage();
      if (message.type === 'text') texts.push(message.text);
    }
    g.inject({ type: 'unknown-opcode', op: 99 });
    g.inject({ type: 'unknown-event', t: 'FUTURE_EVENT' });
    g.dispatch(0, 'INTERACTION_CREATE', { id: '1' });
    const event = await shard.nextEvent();
    expect(event).toMatchObject({ op: GatewayOpcodes.Dispatch, t: 'INTERACTION_CREATE', s: 3 });
    expect(shard.session?.sequence).toBe(3); // the unknown event's sequence counted
    g.inject({ type: 'unknown-opcode', op: 98 });
    const raw = await shard.nextMessage();
    expect(raw).toEqual({ type: 'text', text: '{"t":null,"s":null,"op":98,"d":null}' });
  });
});
