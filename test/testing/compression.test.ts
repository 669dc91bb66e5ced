// Transport compression as Discord does it: one context per connection, one flush per message.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FakeGateway, zstdAvailable } from '../../src/testing/index.js';
import { RawClient } from '../support/raw-client.js';

let gateway: FakeGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

/** Every websocket message of a connection as raw bytes, beside the decoding client. */
function rawFrames(client: RawClient): Buffer[] {
  const frames: Buffer[] = [];
  client.socket.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(true);
    frames.push(data);
  });
  return frames;
}

describe.each(['zlib-stream', 'zstd-stream'] as const)('%s', (compress) => {
  it('sends one decodable binary message per gateway message on one shared context', async () => {
    gateway = await FakeGateway.start({ guilds: 3 });
    const client = await RawClient.connect(gateway.url, { compress });
    const frames = rawFrames(client);
    await client.ready();
    const guild = gateway.world.guildIds[0]!;
    const message = { id: '1', guild_id: guild, channel_id: '2', content: 'the same words again and again '.repeat(20) };
    gateway.dispatch(0, 'MESSAGE_CREATE', message);
    gateway.dispatch(0, 'MESSAGE_CREATE', message);
    const first = await client.nextOp(0, 'MESSAGE_CREATE');
    const second = await client.nextOp(0, 'MESSAGE_CREATE');
    expect(first.d).toEqual(message);
    expect(second.s).toBe((first.s as number) + 1);
    const [a, b] = frames.slice(-2) as [Buffer, Buffer];
    // a context that persists across messages compresses the repeat to a back-reference
    expect(b.length).toBeLessThan(a.length / 3);
    if (compress === 'zlib-stream') for (const frame of frames) expect([...frame.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
    // flushed, never ended: no later message starts a new zstd frame
    else expect(frames.every((frame) => frame.readUInt32LE(0) !== 0xfd2fb528)).toBe(true);
  });

  it('starts a fresh context on every connection', async () => {
    gateway = await FakeGateway.start({ guilds: 1 });
    const hellos: Buffer[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = new WebSocket(`${gateway.url}?v=10&encoding=json&compress=${compress}`);
      hellos.push(await new Promise<Buffer>((resolve) => socket.once('message', (data: Buffer) => resolve(data))));
      socket.terminate();
    }
    expect(hellos[0]).toEqual(hellos[1]);
    // each connection's first message opens a new stream: a zlib header or the zstd frame magic
    if (compress === 'zlib-stream') expect(hellos[0]![0]).toBe(0x78);
    else expect(hellos[0]!.readUInt32LE(0)).toBe(0xfd2fb528);
  });
});

describe('without compression', () => {
  it('sends text frames of plain JSON', async () => {
    gateway = await FakeGateway.start();
    const socket = new WebSocket(`${gateway.url}?v=10&encoding=json`);
    const [data, isBinary] = await new Promise<[Buffer, boolean]>((resolve) => socket.once('message', (d: Buffer, b: boolean) => resolve([d, b])));
    expect(isBinary).toBe(false);
    expect(JSON.parse(data.toString())).toMatchObject({ op: 10 });
    socket.terminate();
  });
});

it('has zstd-stream available in this installation', () => {
  // zstd-napi is optional for users but required here: CI must exercise zstd-stream.
  expect(zstdAvailable()).toBe(true);
});
