// Hostile input through a real socket: a corpus of malformed frames and payloads, then
// seeded fuzzing, sent by FakeGateway (`raw-frame`) to a live shard. Every case must end
// in an error item, a reconnect or a harmless skip, never a crash or a hang, and the
// event sent after it must still arrive, exactly once.
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../src/codec/inflate.js';
import type { ShardErrorCode } from '../../src/shard/errors.js';
import { Random } from '../../src/testing/index.js';
import type { Fault, FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import type { Reader } from '../support/shard.js';
import { expectEverySequenceOnce, shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 2, rate: 0, heartbeatInterval: 30_000 });
const open = shardsPerTest();
const fastReconnect = { backoff: { initial: 10, max: 50 }, timeouts: { hello: 2_000, ready: 2_000 } };

type RawFrame = Extract<Fault, { type: 'raw-frame' }>;
/** A reconnect, a skip without a word, or an error item's code with the shard staying connected. */
type Outcome = ShardErrorCode | 'reconnect' | 'skipped';

/** How the shard dealt with what came after `from` in its stream. */
function outcomeSince(reader: Reader, from: number): Outcome {
  const items = reader.events.slice(from);
  if (items.some((event) => event.op === 'close')) return 'reconnect';
  const error = items.find((event) => event.op === 'error');
  return error === undefined ? 'skipped' : error.d.code;
}

let markers = 0;

/** Sends a MESSAGE_CREATE after the hostile frame and waits until the consumer reads it. */
async function markerArrives(gateway: FakeGateway, reader: Reader): Promise<void> {
  const content = `marker-${++markers}`;
  gateway.dispatch(0, GatewayDispatchEvents.MessageCreate, { id: String(markers), channel_id: '1', guild_id: gateway.world.guildIds[0], content });
  await reader.until(() => reader.events.some((event) => event.t === GatewayDispatchEvents.MessageCreate && event.d.content === content), 10_000);
}

/** Sends one hostile frame to the shard's live connection and checks the shard got past it. */
async function survives(gateway: FakeGateway, reader: Reader, frame: Omit<RawFrame, 'type'>): Promise<Outcome> {
  await reader.until(() => reader.shard.state.kind === 'Active');
  const from = reader.events.length;
  expect(gateway.inject({ type: 'raw-frame', ...frame }, { shard: 0 })).toBe(1);
  await markerArrives(gateway, reader);
  return outcomeSince(reader, from);
}

const ack = '{"t":null,"s":null,"op":11,"d":null}';

/** Payloads that are JSON but not what the protocol allows, each with what the shard must do. */
const wrongShapes: [name: string, data: string | Uint8Array, expected: Outcome][] = [
  ['not JSON', '{"t":"MESSAGE_CREATE","s":', 'reconnect'],
  ['an array', '[0,1,2]', 'NOT_A_PAYLOAD'],
  ['a string', '"op"', 'NOT_A_PAYLOAD'],
  ['null', 'null', 'NOT_A_PAYLOAD'],
  ['op missing', '{"t":null,"s":null,"d":{}}', 'NOT_A_PAYLOAD'],
  ['op a string', '{"t":null,"s":null,"op":"11","d":null}', 'NOT_A_PAYLOAD'],
  ['op unknown', '{"t":null,"s":null,"op":99,"d":null}', 'skipped'],
  ['op huge', '{"t":null,"s":null,"op":1e400,"d":null}', 'skipped'],
  ['dispatch with s a string', '{"t":"MESSAGE_CREATE","s":"5","op":0,"d":{"content":"x"}}', 'SEQUENCE_INVALID'],
  ['dispatch with s null', '{"t":"MESSAGE_CREATE","s":null,"op":0,"d":{"content":"x"}}', 'SEQUENCE_INVALID'],
  ['dispatch with s missing', '{"t":"MESSAGE_CREATE","op":0,"d":{"content":"x"}}', 'SEQUENCE_INVALID'],
  ['dispatch with s huge', '{"t":"MESSAGE_CREATE","s":1e400,"op":0,"d":{}}', 'SEQUENCE_INVALID'],
  ['dispatch with s past 2^53', '{"t":"MESSAGE_CREATE","s":99999999999999999999,"op":0,"d":{}}', 'SEQUENCE_INVALID'],
  ['dispatch with s negative', '{"t":"MESSAGE_CREATE","s":-3,"op":0,"d":{}}', 'SEQUENCE_INVALID'],
  ['dispatch with s a fraction', '{"t":"MESSAGE_CREATE","s":2.5,"op":0,"d":{}}', 'SEQUENCE_INVALID'],
  ['dispatch repeating sequence 1', '{"t":"MESSAGE_CREATE","s":1,"op":0,"d":{"content":"again"}}', 'SEQUENCE_REPEATED'],
  ['dispatch with t a number', '{"t":7,"s":null,"op":0,"d":{}}', 'SEQUENCE_INVALID'],
  ['a second HELLO', '{"t":null,"s":null,"op":10,"d":{"heartbeat_interval":41250}}', 'reconnect'],
  ['HELLO without d', '{"t":null,"s":null,"op":10}', 'reconnect'],
  ['op 9 without d', '{"t":null,"s":null,"op":9}', 'reconnect'],
  ['op 9 with d a string', '{"t":null,"s":null,"op":9,"d":"true"}', 'reconnect'],
  ['op 7 with a body', '{"t":null,"s":null,"op":7,"d":{"x":[1,2]}}', 'reconnect'],
  ['op 1 with d an object', '{"t":null,"s":null,"op":1,"d":{"s":1}}', 'skipped'],
  ['op 11 with d a string', '{"t":null,"s":null,"op":11,"d":"ok"}', 'skipped'],
  ['invalid UTF-8 inside a string', Buffer.from([...Buffer.from('{"t":null,"s":null,"op":11,"d":"'), 0xff, 0xc3, 0x28, ...Buffer.from('"}')]), 'skipped'],
  ['deeply nested', `{"t":null,"s":null,"op":11,"d":${'['.repeat(5000)}${']'.repeat(5000)}}`, 'skipped'],
];

/** A payload that does not compress well, so a cut or a flipped byte lands inside its data. */
const noisy = (() => {
  const rng = new Random(5);
  const noise = Buffer.from(Array.from({ length: 1_500 }, () => rng.int(0, 256))).toString('base64');
  return `{"t":null,"s":null,"op":99,"d":"${noise}"}`;
})();

/** Frames that break the transport itself (compression, framing, encoding). */
function brokenFrames(compression: Compression): [name: string, frame: Omit<RawFrame, 'type'>][] {
  const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13, 0x37, 0x80, 0xff]);
  const frames: [string, Omit<RawFrame, 'type'>][] = [
    ['random bytes', { data: garbage, encode: false }],
    ['one byte', { data: Buffer.from([0x78]), encode: false }],
    ['invalid UTF-8 in a text frame', { data: garbage, encode: false, binary: false }],
  ];
  if (compression === null) return frames;
  frames.push(
    ['uncompressed text in a text frame', { data: ack, encode: false, binary: false }],
    ['a truncated message', { data: noisy, truncate: 1_000 }],
    ['a corrupt message', { data: noisy, corruptAt: 5 }],
    ['a message cut to nothing', { data: ack, truncate: 0 }],
  );
  if (compression === 'zlib-stream') frames.push(['random bytes ending in the flush suffix', { data: Buffer.concat([garbage, Buffer.from([0, 0, 0xff, 0xff])]), encode: false }]);
  return frames;
}

/** A seeded hostile frame: random bytes, mangled JSON, or a real message cut or corrupted. */
function fuzzFrame(rng: Random, compression: Compression): Omit<RawFrame, 'type'> {
  const bytes = (length: number): Buffer => Buffer.from(Array.from({ length }, () => rng.int(0, 256)));
  const bases = [ack, '{"t":null,"s":null,"op":1,"d":null}', '{"t":null,"s":null,"op":99,"d":{"a":[1,2,{"b":"c"}]}}', `{"op":11,"d":"${'x'.repeat(3000)}"}`];
  const mangle = (text: string): string => {
    const chars = [...text];
    for (let edits = rng.int(1, 6); edits > 0; edits--) {
      const at = rng.int(0, chars.length + 1);
      const kind = rng.int(0, 3);
      if (kind === 0) chars.splice(at, 1);
      else if (kind === 1) chars.splice(at, 0, String.fromCharCode(rng.int(0, 0x3000)));
      else chars.splice(at, 1, rng.pick(['{', '}', '"', ':', ',', '[', ']', '\\', '0', '-', 'e', 'n']));
    }
    return chars.join('');
  };
  switch (rng.int(0, compression === null ? 3 : 5)) {
    case 0:
      return { data: bytes(rng.int(1, 2_000)), encode: false, binary: rng.chance(0.8) };
    case 1:
      return { data: mangle(rng.pick(bases)) };
    case 2:
      return { data: bytes(rng.int(1, 300)) };
    case 3:
      return { data: rng.pick(bases), truncate: rng.int(0, 30) };
    default:
      return { data: rng.pick(bases), corruptAt: rng.int(0, 60) };
  }
}

describe.each([['zlib-stream'], ['zstd-stream'], [null]] as [Compression][])('hostile input with compression %s', (compression) => {
  it('the corpus: each case is an error item, a reconnect or a skip, and the next event arrives once', async () => {
    const gateway = await start();
    const { reader } = open(gateway, { compression, ...fastReconnect });
    for (const [name, data, expected] of wrongShapes) {
      expect(await survives(gateway, reader, { data }), name).toBe(expected);
    }
    for (const [name, frame] of brokenFrames(compression)) {
      expect(await survives(gateway, reader, frame), name).not.toBe('skipped');
    }
    expectEverySequenceOnce(reader);
    expect(reader.error).toBeNull();
    expect(gateway.log.ofType('identify')).toHaveLength(1);
  }, 30_000);

  it('fuzzing: 200 seeded hostile frames, never a crash, a hang or a lost event', async () => {
    const gateway = await start();
    const { reader } = open(gateway, { compression, ...fastReconnect });
    const rng = new Random({ 'zlib-stream': 1, 'zstd-stream': 2, none: 3 }[compression ?? 'none']);
    const outcomes: Partial<Record<Outcome, number>> = {};
    for (let i = 0; i < 200; i++) {
      const outcome = await survives(gateway, reader, fuzzFrame(rng, compression));
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    console.info(`fuzz ${String(compression)}: ${JSON.stringify(outcomes)}`);
    expectEverySequenceOnce(reader);
    expect(reader.error).toBeNull();
    expect(200 - (outcomes.skipped ?? 0)).toBeGreaterThan(100);
  }, 90_000);
});

describe('malformed HELLO and READY', () => {
  it('a first HELLO without a usable heartbeat_interval is refused and the shard reconnects', async () => {
    const gateway = await start();
    const { shard, reader } = open(gateway, fastReconnect);
    await reader.until(() => shard.state.kind === 'Active');
    for (const d of ['{}', '{"heartbeat_interval":0}', '{"heartbeat_interval":-5}', '{"heartbeat_interval":"41250"}', '{"heartbeat_interval":1e12}', 'null']) {
      const from = reader.events.length;
      const connections = gateway.log.ofType('connect').length;
      gateway.inject({ type: 'withhold-hello' });
      gateway.inject({ type: 'drop' }, { shard: 0 });
      const connect = await gateway.log.waitFor((entry) => entry.type === 'connect' && gateway.log.ofType('connect').length > connections);
      gateway.inject({ type: 'raw-frame', data: `{"t":null,"s":null,"op":10,"d":${d}}` }, { connection: connect.connection });
      await markerArrives(gateway, reader);
      const errors = reader.events.slice(from).flatMap((event) => (event.op === 'error' ? [event.d] : []));
      expect(errors.some((error) => error.code === 'PROTOCOL_VIOLATION' && error.message.includes('heartbeat_interval')), d).toBe(true);
    }
    expectEverySequenceOnce(reader);
    expect(gateway.log.ofType('identify')).toHaveLength(1);
    expect(gateway.log.ofType('resume').length).toBeGreaterThanOrEqual(6);
  }, 30_000);

  it('a READY without a usable session is refused and the shard identifies again', async () => {
    const gateway = await start();
    const { shard, reader } = open(gateway, fastReconnect);
    await reader.until(() => shard.state.kind === 'Active');
    const readies: [s: string, d: string][] = [
      ['1', 'null'],
      ['1', '{}'],
      ['1', '{"session_id":42}'],
      ['1', '{"session_id":"abc","resume_gateway_url":7}'],
      ['null', '{"session_id":"abc"}'],
      ['-1', '{"session_id":"abc"}'],
      ['0.5', '{"session_id":"abc"}'],
    ];
    for (const [s, d] of readies) {
      const from = reader.events.length;
      const identifies = gateway.log.ofType('identify').length;
      gateway.inject({ type: 'withhold-ready' }, { shard: 0 });
      gateway.inject({ type: 'invalid-session', resumable: false }, { shard: 0 });
      const identify = await gateway.log.waitFor((entry) => entry.type === 'identify' && gateway.log.ofType('identify').length > identifies);
      gateway.inject({ type: 'raw-frame', data: `{"t":"READY","s":${s},"op":0,"d":${d}}` }, { connection: identify.connection });
      // The refused READY's session is abandoned: the marker must go to the next one.
      await reader.until(() => shard.state.kind === 'Active' && gateway.log.ofType('identify').length > identifies + 1);
      await markerArrives(gateway, reader);
      const errors = reader.events.slice(from).flatMap((event) => (event.op === 'error' ? [event.d] : []));
      expect(errors.some((error) => error.code === 'PROTOCOL_VIOLATION' && error.message.startsWith('READY')), `s ${s}, d ${d}`).toBe(true);
    }
    expect(reader.events.filter((event) => event.t === GatewayDispatchEvents.Ready).every((event) => typeof event.d.session_id === 'string')).toBe(true);
    expectEverySequenceOnce(reader);
    expect(reader.error).toBeNull();
    expect(shard.session?.id).toBe(gateway.sessions().find((session) => session.state === 'attached')?.id);
  }, 60_000);
});

describe('messages over maxInflatedSize', () => {
  it.each([['zlib-stream'], ['zstd-stream']] as [Compression][])('%s: skipped without a reconnect, its sequence counted so no resume replays it', async (compression) => {
    const gateway = await start();
    const { shard, reader } = open(gateway, { compression, maxInflatedSize: 64 * 1024, ...fastReconnect });
    await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length === 3); // READY and 2 guilds
    const from = reader.events.length;
    // Once whole, once split over 16 frames (zlib-stream then meets the cap while buffering).
    for (const pieces of [1, 16]) {
      if (pieces > 1) gateway.inject({ type: 'split-message', pieces }, { shard: 0 });
      gateway.inject({ type: 'huge-guild-create', bytes: 300_000 }, { shard: 0 });
      await markerArrives(gateway, reader);
    }
    const since = reader.events.slice(from);
    expect(since.some((event) => event.op === 'close')).toBe(false);
    const errors = since.flatMap((event) => (event.op === 'error' ? [event.d] : []));
    expect(errors.map((error) => [error.code, error.reconnecting])).toEqual([['MESSAGE_TOO_LARGE', false], ['MESSAGE_TOO_LARGE', false]]);
    for (const { message } of errors) expect(message).toMatch(/of 3\d{5} bytes exceeds the 65536 byte limit: discarded \(GUILD_CREATE, sequence \d+\)/);
    expect(since.some((event) => event.t === GatewayDispatchEvents.GuildCreate)).toBe(false);
    // A resume now starts after the skipped message: it is not sent again.
    gateway.inject({ type: 'drop' }, { shard: 0 });
    await markerArrives(gateway, reader);
    expect(gateway.log.ofType('dispatch').filter((entry) => entry.replay).map((entry) => entry.t)).toEqual([GatewayDispatchEvents.MessageCreate]);
    // An oversized repeat of an old sequence must not move the resume point back.
    const errorsBefore = reader.events.filter((event) => event.op === 'error').length;
    gateway.inject({ type: 'raw-frame', data: `{"t":"GUILD_CREATE","s":1,"op":0,"d":"${'x'.repeat(300_000)}"}` }, { shard: 0 });
    await reader.until(() => reader.events.filter((event) => event.op === 'error').length > errorsBefore);
    gateway.inject({ type: 'drop' }, { shard: 0 });
    await markerArrives(gateway, reader);
    const sequences = reader.sequences();
    expect(new Set(sequences).size).toBe(sequences.length);
  }, 30_000);
});

describe('a message that is not JSON', () => {
  it('invalid JSON is reported, and a resume replaces the connection in case its context is out of step', async () => {
    const g = await start({ rate: 0, guilds: 3, heartbeatInterval: 41_250 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    g.inject({ type: 'invalid-json' });
    g.dispatch(0, 'INTERACTION_CREATE', { id: '1' });
    await reader.until(() => reader.events.some((e) => e.t === GatewayDispatchEvents.InteractionCreate));
    expect(reader.events.filter((e) => e.op === 'error').map((e) => e.d)).toMatchObject([{ kind: 'Deserializing', code: 'MESSAGE_NOT_JSON', reconnecting: true }]);
    expect(g.log.ofType('connect')).toHaveLength(2);
    expect(g.log.ofType('resume')).toHaveLength(1);
    expect(g.log.ofType('identify')).toHaveLength(1);
  });
});
