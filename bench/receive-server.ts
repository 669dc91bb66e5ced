/**
 * The receive benchmark's traffic server, run as a child process of `receive.ts` so its
 * CPU is not counted. It serves pre-compressed connection streams (one zlib deflate
 * context, Z_SYNC_FLUSH per message: HELLO, READY, then the dispatches, the last of them
 * an end marker) and does almost nothing per message: each stream is framed into
 * websocket frames once at load, and a connection gets slices of that buffer written
 * straight to its TCP socket, at the pace the client reads (socket backpressure).
 *
 * Protocol, just enough: `ws://HOST/b/<group>/<shards>/<events>?…&compress=zlib-stream`
 * gets HELLO at once and, on IDENTIFY, READY from the stream of the shard it names (the
 * streams of one length differ only after READY); the dispatches follow when the orchestrator
 * sends `go` for the group (once the client took its CPU baseline). Heartbeats are
 * counted, never ACKed (HELLO asks for one an hour). `GET /api/b/<group>/<shards>/<events>/v10/gateway/bot`
 * answers like Discord's REST, for @discordjs/ws.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { readStream } from './receive-shared.js';
import type { ServerReport, ServerRequest } from './receive-shared.js';

/** One stream, framed: websocket frames back to back. */
interface FramedStream {
  readonly bytes: Buffer;
  /** End of HELLO's frame. */
  readonly helloEnd: number;
  /** End of READY's frame; the dispatches follow. */
  readonly readyEnd: number;
}

interface Connection {
  readonly socket: Socket;
  /** Set on IDENTIFY; until then HELLO comes from the first stream of the length. */
  stream: FramedStream;
  offset: number;
  identified: boolean;
  pumping: boolean;
}

interface Group {
  readonly connections: Set<Connection>;
  go: boolean;
}

/** Bytes handed to the socket per write; it buffers at most one such slice beyond the kernel's. */
const SLICE = 64 * 1024;
/** By dispatch count: one stream per shard id (taken modulo the count). */
const streams = new Map<number, FramedStream[]>();
const groups = new Map<string, Group>();
let heartbeats = 0;
let connections = 0;
let rejected = 0;
let port = 0;

function report(message: ServerReport): void {
  process.send?.(message);
}

/** Unmasked binary websocket frames (server to client), one per message. */
function frame(messages: readonly Buffer[]): { bytes: Buffer; ends: number[] } {
  const parts: Buffer[] = [];
  const ends: number[] = [];
  let total = 0;
  for (const message of messages) {
    let header: Buffer;
    if (message.length < 126) {
      header = Buffer.from([0x82, message.length]);
    } else if (message.length < 65_536) {
      header = Buffer.from([0x82, 126, message.length >> 8, message.length & 0xff]);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x82;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(message.length), 2);
    }
    parts.push(header, message);
    total += header.length + message.length;
    ends.push(total);
  }
  return { bytes: Buffer.concat(parts, total), ends };
}

function load(files: Readonly<Record<string, readonly string[]>>): void {
  for (const [events, list] of Object.entries(files)) {
    const framed = list.map((file): FramedStream => {
      const { bytes, ends } = frame(readStream(file));
      return { bytes, helloEnd: ends[0] as number, readyEnd: ends[1] as number };
    });
    const first = framed[0] as FramedStream;
    const prefix = first.bytes.subarray(0, first.readyEnd);
    if (framed.some((stream) => !stream.bytes.subarray(0, stream.readyEnd).equals(prefix))) {
      throw new Error(`the ${events}-dispatch streams differ before their first dispatch`);
    }
    streams.set(Number(events), framed);
  }
}

/** The shard id an IDENTIFY names (`d.shard[0]`), 0 without one. */
function shardOf(payload: { d?: unknown }): number {
  const shard = (payload.d as { shard?: unknown } | undefined)?.shard;
  return Array.isArray(shard) && Number.isInteger(shard[0]) ? (shard[0] as number) : 0;
}

/** Writes the rest of the stream as fast as the socket drains. */
function pump(connection: Connection): void {
  connection.pumping = true;
  const { socket, stream } = connection;
  while (connection.offset < stream.bytes.length) {
    if (socket.destroyed) return;
    const end = Math.min(connection.offset + SLICE, stream.bytes.length);
    const flushed = socket.write(stream.bytes.subarray(connection.offset, end));
    connection.offset = end;
    if (!flushed) {
      socket.once('drain', () => pump(connection));
      return;
    }
  }
}

function group(id: string): Group {
  let found = groups.get(id);
  if (found === undefined) {
    found = { connections: new Set(), go: false };
    groups.set(id, found);
  }
  return found;
}

const server = http.createServer((request, response) => {
  const match = /^\/api\/b\/([\w-]+)\/(\d+)\/(\d+)\/v10\/gateway\/bot$/.exec(request.url ?? '');
  if (match === null) {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"404: Not Found","code":0}');
    return;
  }
  const shards = Number(match[2]);
  const body = {
    url: `ws://127.0.0.1:${port}/b/${match[1]}/${match[2]}/${match[3]}`,
    shards,
    session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: Math.max(1, shards) },
  };
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});

const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on('connection', (ws: WebSocket, request: http.IncomingMessage) => {
  ws.on('error', () => undefined);
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const match = /^\/b\/([\w-]+)\/(\d+)\/(\d+)$/.exec(url.pathname);
  const slices = match === null ? undefined : streams.get(Number(match[3]));
  const stream = slices?.[0];
  if (match === null || slices === undefined || stream === undefined || url.searchParams.get('compress') !== 'zlib-stream') {
    rejected += 1;
    ws.close(4000, 'bench server: needs /b/<group>/<shards>/<events> of a loaded stream and compress=zlib-stream');
    return;
  }
  connections += 1;
  const owner = group(match[1] as string);
  // The handshake is done; from here on the server's data goes straight to the socket.
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.setNoDelay(true);
  const connection: Connection = { socket, stream, offset: stream.helloEnd, identified: false, pumping: false };
  owner.connections.add(connection);
  socket.write(stream.bytes.subarray(0, stream.helloEnd));
  ws.on('message', (data: Buffer) => {
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(data.toString()) as { op?: unknown; d?: unknown };
    } catch {
      ws.close(4002, 'Error while decoding payload.');
      return;
    }
    if (payload.op === 2 && !connection.identified) {
      connection.identified = true;
      connection.stream = slices[shardOf(payload) % slices.length] as FramedStream;
      socket.write(connection.stream.bytes.subarray(stream.helloEnd, stream.readyEnd));
      connection.offset = stream.readyEnd;
      if (owner.go) pump(connection);
    } else if (payload.op === 1) {
      heartbeats += 1;
    }
  });
  ws.on('close', () => owner.connections.delete(connection));
});

process.on('message', (message: ServerRequest) => {
  switch (message.type) {
    case 'load':
      load(message.streams);
      report({ type: 'loaded' });
      break;
    case 'go': {
      const owner = group(message.group);
      owner.go = true;
      for (const connection of owner.connections) if (connection.identified && !connection.pumping) pump(connection);
      break;
    }
    case 'stats':
      report({ type: 'stats', heartbeats, connections, rejected });
      break;
  }
});
// The orchestrator went away: so does the server.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
  report({ type: 'listening', port });
});
