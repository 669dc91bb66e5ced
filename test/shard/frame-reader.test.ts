// The binary-frame fast path must deliver exactly what ws would, in order, and leave every other frame to ws.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { readBinaryFrames } from '../../src/shard/frame-reader.js';

/** One server-to-client frame (unmasked unless asked). */
function frame(opcode: number, payload: Buffer | string, options: { fin?: boolean; mask?: boolean } = {}): Buffer {
  const data = Buffer.from(payload);
  const first = ((options.fin ?? true) ? 0x80 : 0) | opcode;
  const maskBit = options.mask ? 0x80 : 0;
  let header: Buffer;
  if (data.length < 126) header = Buffer.from([first, maskBit | data.length]);
  else if (data.length < 65_536) header = Buffer.from([first, maskBit | 126, data.length >> 8, data.length & 0xff]);
  else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (!options.mask) return Buffer.concat([header, data]);
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(data.map((byte, i) => byte ^ (key[i % 4] as number)));
  return Buffer.concat([header, key, masked]);
}

const binary = (text: string): Buffer => frame(0x2, text);

interface Pair {
  client: WebSocket;
  /** The server's raw socket, to write frames by hand. */
  raw: Socket;
  server: WebSocket;
  /** What the client received: fast-path messages and ws's own, in one sequence. */
  got: string[];
  closed: Promise<{ code: number }>;
}

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A self-signed certificate for 127.0.0.1, for the test over TLS only. */
const tls = { key: readFileSync(new URL('../fixtures/localhost-key.pem', import.meta.url)), cert: readFileSync(new URL('../fixtures/localhost-cert.pem', import.meta.url)) };

/** A connected pair; with `fast` false the client is plain ws, to compare against; `secure` uses wss:. */
async function connect(maxPayload = 1024 * 1024, fast = true, secure = false): Promise<Pair> {
  const https = secure ? createServer(tls).listen(0, '127.0.0.1') : null;
  const wss = https === null ? new WebSocketServer({ port: 0, perMessageDeflate: false }) : new WebSocketServer({ server: https, perMessageDeflate: false });
  servers.push(wss);
  await new Promise((resolve) => (https ?? wss).once('listening', resolve));
  if (https !== null) wss.once('close', () => https.close());
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', (socket) => socket.once('message', () => resolve(socket))));
  const port = ((https ?? wss).address() as AddressInfo).port;
  const client = new WebSocket(`${secure ? 'wss' : 'ws'}://127.0.0.1:${port}`, { perMessageDeflate: false, maxPayload, rejectUnauthorized: false });
  const got: string[] = [];
  client.on('message', (data: Buffer, isBinary: boolean) => got.push(`${isBinary ? 'ws-binary' : 'ws-text'}:${data.toString()}`));
  client.on('error', () => undefined);
  const closed = new Promise<{ code: number }>((resolve) => client.once('close', (code: number) => resolve({ code })));
  await new Promise<void>((resolve) =>
    client.once('open', () => {
      if (fast) readBinaryFrames(client, maxPayload, (data) => got.push(`fast:${data.toString()}`));
      client.send('ready');
      resolve();
    }),
  );
  const server = await serverSide;
  return { client, raw: (server as unknown as { _socket: Socket })._socket, server, got, closed };
}

/** Writes the bytes in pieces of `size`, each in its own socket read. */
async function writeInPieces(raw: Socket, bytes: Buffer, size: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += size) {
    raw.write(bytes.subarray(at, at + size));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
};

describe('readBinaryFrames', () => {
  it('delivers whole binary frames itself, from one read or split across many', async () => {
    const { raw, got } = await connect();
    const big = 'x'.repeat(70_000);
    raw.write(Buffer.concat([binary('a'), binary('b'), binary('y'.repeat(300))]));
    await writeInPieces(raw, Buffer.concat([binary('c'), binary(big), binary('d')]), 1000);
    await writeInPieces(raw, Buffer.concat([binary('e'), binary('f')]), 1);
    await until(() => got.length === 8);
    expect(got).toEqual(['fast:a', 'fast:b', `fast:${'y'.repeat(300)}`, 'fast:c', `fast:${big}`, 'fast:d', 'fast:e', 'fast:f']);
  });

  it('reads the same frames over TLS (wss:, as Discord serves)', async () => {
    const { raw, got } = await connect(1024 * 1024, true, true);
    const big = 'q'.repeat(70_000);
    raw.write(Buffer.concat([binary('a'), frame(0x1, 'text'), binary(big)]));
    await writeInPieces(raw, Buffer.concat([binary('b'), binary('c')]), 3);
    await until(() => got.length === 5);
    expect(got).toEqual(['fast:a', 'ws-text:text', `fast:${big}`, 'fast:b', 'fast:c']);
  });

  it('leaves text, fragmented messages and pings to ws, in order', async () => {
    const { raw, server, got } = await connect();
    const pong = new Promise<string>((resolve) => server.once('pong', (data: Buffer) => resolve(data.toString())));
    raw.write(
      Buffer.concat([
        binary('1'),
        frame(0x1, 'text'),
        frame(0x2, 'frag-', { fin: false }),
        frame(0x9, 'ping!'),
        frame(0x0, 'mid-', { fin: false }),
        frame(0x0, 'end'),
        binary('2'),
      ]),
    );
    await until(() => got.length === 4);
    expect(got).toEqual(['fast:1', 'ws-text:text', 'ws-binary:frag-mid-end', 'fast:2']);
    expect(await pong).toBe('ping!');
  });

  it("hands the close handshake to ws and reads nothing after a close frame", async () => {
    const { raw, got, closed } = await connect();
    const close = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')]); // 4000
    raw.write(Buffer.concat([binary('before'), frame(0x8, close), binary('after')]));
    expect((await closed).code).toBe(4000);
    expect(got).toEqual(['fast:before']);
  });

  it('delivers what a paused socket still holds when it is destroyed exactly once, as ws does', async () => {
    const big = binary('w'.repeat(5000));
    const outcomes: string[][] = [];
    for (const fast of [true, false]) {
      const pair = await connect(1024 * 1024, fast);
      // An incomplete frame is read (and held) before the pause, the rest waits in the socket.
      pair.raw.write(Buffer.concat([binary('a'), big.subarray(0, 100)]));
      await until(() => pair.got.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      pair.client.pause();
      pair.raw.write(Buffer.concat([big.subarray(100), binary('b'), big.subarray(0, 100)]));
      await new Promise((resolve) => setTimeout(resolve, 50));
      (pair.client as unknown as { _socket: Socket })._socket.destroy();
      await pair.closed;
      outcomes.push(pair.got.map((entry) => entry.replace(/^(fast|ws-binary):/, 'binary:')));
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[0]).toEqual(['binary:a', `binary:${'w'.repeat(5000)}`, 'binary:b']);
  });

  it('leaves frames ws refuses to ws, which ends the connection as it would without the reader', async () => {
    const cases: [string, number, Buffer][] = [
      ['oversized', 100, binary('z'.repeat(101))],
      ['masked', 1024, frame(0x2, 'masked', { mask: true })],
      ['RSV1 set', 1024, Buffer.from([0xc2, 0x01, 0x41])],
      ['reserved opcode', 1024, frame(0x3, 'x')],
      ['continuation without a start', 1024, frame(0x0, 'x')],
    ];
    for (const [name, maxPayload, bad] of cases) {
      const outcomes: { code: number; got: string[] }[] = [];
      for (const fast of [true, false]) {
        const pair = await connect(maxPayload, fast);
        pair.raw.write(Buffer.concat([binary('ok'), bad, binary('never')]));
        const { code } = await pair.closed;
        outcomes.push({ code, got: pair.got.map((entry) => entry.replace(/^(fast|ws-binary):/, 'binary:')) });
      }
      expect(outcomes[0], name).toEqual(outcomes[1]);
      expect(outcomes[0]?.got, name).toEqual(['binary:ok']);
    }
  });
});
