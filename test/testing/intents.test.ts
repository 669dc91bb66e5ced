// Intents filter what the simulator dispatches (protocol.md sections 9 and 11), and the intent tables in src/intents.ts.
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { ALL_INTENTS, DISPATCH_INTENTS, PRIVILEGED_INTENTS } from '../../src/intents.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { RawClient } from '../support/raw-client.js';
import type { Payload } from '../support/raw-client.js';

const GUILDS = 1;
const GUILD_PRESENCES = 256;
const GUILD_MESSAGES = 512;
const DIRECT_MESSAGES = 4096;
const MESSAGE_CONTENT = 32768;

const start = startGateway({ identifyInterval: 0 });

/** Heartbeats and returns the dispatches that arrive before the ACK (the simulator writes in order). */
async function dispatchesUntilAck(client: RawClient): Promise<Payload[]> {
  client.send({ op: 1, d: null });
  const seen: Payload[] = [];
  await client.until((item) => {
    if (item.kind !== 'payload') return false;
    if (item.payload.op === 0) seen.push(item.payload);
    return item.payload.op === 11;
  });
  return seen;
}

/**
 * Identifies with `intents` on a `'max'` gateway and collects dispatches until `count`
 * after READY have arrived, then closes the gateway (not the client: see traffic.test.ts
 * on what a client-side close does to a `'max'` session).
 */
async function traffic(g: FakeGateway, intents: number, count: number): Promise<{ ready: { user: { id: string } }; events: Payload[] }> {
  const client = await RawClient.connect(g.url);
  const ready = (await client.ready({ intents })) as unknown as { user: { id: string } };
  await client.waitUntil(() => client.received.length > count + 1, 10_000);
  await g.close();
  return { ready, events: client.dispatches().slice(1) };
}

interface Message {
  guild_id?: string;
  content: string;
  embeds: unknown[];
  attachments: unknown[];
  components?: unknown[];
  mentions: { id: string }[];
}

describe('intents filter traffic', () => {
  it('with GUILDS only, traffic never holds messages, presences or typing', async () => {
    const g = await start({ guilds: 20, seed: 3, rate: 'max' });
    const { events } = await traffic(g, GUILDS, 2000);
    const names = new Set(events.map((p) => p.t));
    for (const t of ['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'PRESENCE_UPDATE', 'TYPING_START', 'MESSAGE_REACTION_ADD',
      'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_ADD', 'VOICE_STATE_UPDATE']) {
      expect(names.has(t), t).toBe(false);
    }
    // Only GUILDS events and those that need no intent (protocol.md section 11).
    const allowed = new Set(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE', 'GUILD_ROLE_CREATE', 'GUILD_ROLE_UPDATE', 'GUILD_ROLE_DELETE',
      'CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE', 'CHANNEL_PINS_UPDATE', 'THREAD_CREATE', 'THREAD_UPDATE', 'THREAD_DELETE',
      'THREAD_LIST_SYNC', 'THREAD_MEMBER_UPDATE', 'THREAD_MEMBERS_UPDATE', 'STAGE_INSTANCE_CREATE', 'STAGE_INSTANCE_UPDATE',
      'STAGE_INSTANCE_DELETE', 'VOICE_CHANNEL_STATUS_UPDATE', 'VOICE_CHANNEL_START_TIME_UPDATE', 'READY', 'RESUMED', 'RATE_LIMITED',
      'USER_UPDATE', 'VOICE_SERVER_UPDATE', 'INTERACTION_CREATE', 'APPLICATION_COMMAND_PERMISSIONS_UPDATE', 'ENTITLEMENT_CREATE',
      'ENTITLEMENT_UPDATE', 'ENTITLEMENT_DELETE', 'SUBSCRIPTION_CREATE', 'SUBSCRIPTION_UPDATE', 'SUBSCRIPTION_DELETE',
      'GUILD_MEMBERS_CHUNK', 'SOUNDBOARD_SOUNDS', 'CHANNEL_INFO']);
    for (const t of names) expect(allowed.has(t as string), t as string).toBe(true);
  });

  it('with a rate, GUILDS-only traffic is filtered the same way', async () => {
    const g = await start({ guilds: 20, seed: 3, rate: 200 });
    const client = await RawClient.connect(g.url);
    await client.ready({ intents: GUILDS });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const names = new Set(client.dispatches().map((p) => p.t));
    expect(g.sessions()[0]?.sequence).toBeGreaterThan(21); // READY, 20 GUILD_CREATEs and some traffic
    for (const t of ['MESSAGE_CREATE', 'PRESENCE_UPDATE', 'TYPING_START']) expect(names.has(t), t).toBe(false);
  });

  it('with GUILD_MESSAGES but not MESSAGE_CONTENT, guild messages arrive empty unless they mention the bot', async () => {
    const g = await start({ guilds: 20, seed: 5, rate: 'max' });
    const { ready, events } = await traffic(g, GUILDS | GUILD_MESSAGES, 3000);
    const messages = events.filter((p) => p.t === 'MESSAGE_CREATE' || p.t === 'MESSAGE_UPDATE').map((p) => p.d as Message);
    expect(messages.length).toBeGreaterThan(1000);
    let mentioning = 0;
    for (const message of messages) {
      expect(message.guild_id).toBeDefined(); // no DMs without DIRECT_MESSAGES
      if (message.mentions.some((user) => user.id === ready.user.id)) {
        mentioning += 1;
        continue;
      }
      expect(message.content).toBe('');
      expect(message.embeds).toEqual([]);
      expect(message.attachments).toEqual([]);
      expect(message.components ?? []).toEqual([]);
    }
    const mentioned = messages.filter((message) => message.mentions.some((user) => user.id === ready.user.id));
    expect(mentioning).toBeGreaterThan(0);
    expect(mentioned.filter((message) => message.content !== '').length).toBe(mentioned.length);
  });

  it('with MESSAGE_CONTENT, guild message content is mostly there', async () => {
    const g = await start({ guilds: 20, seed: 5, rate: 'max' });
    const { events } = await traffic(g, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT, 2000);
    const messages = events.filter((p) => p.t === 'MESSAGE_CREATE').map((p) => p.d as Message);
    expect(messages.length).toBeGreaterThan(500);
    const withContent = messages.filter((message) => message.content !== '').length;
    expect(withContent / messages.length).toBeGreaterThan(0.9);
  });
});

describe('intents filter gateway.dispatch', () => {
  it('delivers PRESENCE_UPDATE only to a session with GUILD_PRESENCES', async () => {
    const g = await start({ guilds: 5 });
    const without = await RawClient.connect(g.url);
    await without.ready({ intents: GUILDS });
    const withPresences = await RawClient.connect(g.url);
    const ready = await withPresences.ready({ intents: GUILDS | GUILD_PRESENCES });
    await dispatchesUntilAck(without);
    await dispatchesUntilAck(withPresences);

    const guildId = (ready.guilds[0] as { id: string }).id;
    const presence = { guild_id: guildId, user: { id: '80351110224678912' }, status: 'idle', activities: [], client_status: { web: 'idle' } };
    const sequences = g.dispatch(0, 'PRESENCE_UPDATE', presence);
    expect(sequences).toHaveLength(1);

    expect(await dispatchesUntilAck(without)).toEqual([]);
    const got = await dispatchesUntilAck(withPresences);
    expect(got).toEqual([{ op: 0, t: 'PRESENCE_UPDATE', s: sequences[0], d: presence }]);
  });

  it('routes MESSAGE_CREATE by GUILD_MESSAGES in a guild and by DIRECT_MESSAGES without a guild_id', async () => {
    const g = await start({ guilds: 5 });
    const guildOnly = await RawClient.connect(g.url);
    const ready = await guildOnly.ready({ intents: GUILD_MESSAGES });
    const dmOnly = await RawClient.connect(g.url);
    await dmOnly.ready({ intents: DIRECT_MESSAGES });

    const inGuild = { id: '1', channel_id: '2', guild_id: (ready.guilds[0] as { id: string }).id, content: 'in a guild' };
    const inDm = { id: '3', channel_id: '4', content: 'in a DM' };
    expect(g.dispatch(0, 'MESSAGE_CREATE', inGuild)).toHaveLength(1);
    expect(g.dispatch(0, 'MESSAGE_CREATE', inDm)).toHaveLength(1);
    expect((await dispatchesUntilAck(guildOnly)).map((p) => p.d)).toEqual([inGuild]);
    expect((await dispatchesUntilAck(dmOnly)).map((p) => p.d)).toEqual([inDm]);
  });

  it('sends dispatches that need no intent to every session', async () => {
    const g = await start({ guilds: 5 });
    const none = await RawClient.connect(g.url);
    await none.ready({ intents: 0 });
    const update = { id: '42', username: 'renamed', discriminator: '0', global_name: null, avatar: null };
    expect(g.dispatch(0, 'USER_UPDATE', update)).toHaveLength(1);
    expect((await dispatchesUntilAck(none)).map((p) => p.t)).toEqual(['USER_UPDATE']);
  });
});

describe('without GUILDS', () => {
  it('sends no GUILD_CREATE after READY', async () => {
    const g = await start({ guilds: 10 });
    const client = await RawClient.connect(g.url);
    const ready = await client.ready({ intents: GUILD_MESSAGES });
    expect(ready.guilds.length).toBe(10);
    expect(await dispatchesUntilAck(client)).toEqual([]);
    expect(g.sessions()[0]?.sequence).toBe(1);
    expect(client.dispatches().map((p) => p.t)).toEqual(['READY']);
  });

  it('sends one GUILD_CREATE per guild with GUILDS', async () => {
    const g = await start({ guilds: 10 });
    const client = await RawClient.connect(g.url);
    const ready = await client.ready({ intents: GUILDS });
    const created = await dispatchesUntilAck(client);
    expect(created.map((p) => p.t)).toEqual(Array(10).fill('GUILD_CREATE'));
    expect(created.map((p) => (p.d as { id: string }).id)).toEqual(ready.guilds.map((guild) => guild.id));
  });
});

describe('src/intents.ts', () => {
  it('ALL_INTENTS and PRIVILEGED_INTENTS have the values protocol.md gives', () => {
    expect(ALL_INTENTS).toBe(53608447);
    expect(PRIVILEGED_INTENTS).toBe(33026);
    expect(PRIVILEGED_INTENTS).toBe(2 | 256 | 32768);
    // bits 17-19 and 22-23 are undefined
    for (const bit of [17, 18, 19, 22, 23]) expect(ALL_INTENTS & (1 << bit)).toBe(0);
  });

  it('DISPATCH_INTENTS covers the 79 dispatch events exactly', () => {
    const names = Object.keys(DISPATCH_INTENTS);
    expect(names).toHaveLength(79);
    expect(new Set(names)).toEqual(new Set(Object.values(GatewayDispatchEvents)));
  });
});
