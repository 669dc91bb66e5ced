/**
 * What the receive benchmark's orchestrator (`receive.ts`), its traffic server
 * (`receive-server.ts`) and its clients (`clients/*.ts`) agree on: constants, the
 * messages they exchange, and the file format of a pre-compressed connection stream.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { ALL_INTENTS } from '../src/intents.js';

/** The `d.id` of the INTERACTION_CREATE that ends every benchmark stream. */
export const MARKER_ID = 'gloaming-bench-end';
/** Any token: the bench server does not check it. */
export const TOKEN = 'bench.token.not-a-secret';
/** So long that no client heartbeats during a run (the server could not ACK in-stream). */
export const HEARTBEAT_INTERVAL_MS = 3_600_000;
/** The IDENTIFY a floor client sends: the smallest the bench server accepts for shard `id` of `shards`. */
export function floorIdentify(id: number, shards: number): string {
  return JSON.stringify({ op: 2, d: { token: TOKEN, intents: ALL_INTENTS, properties: { os: 'linux', browser: 'floor', device: 'floor' }, shard: [id, shards] } });
}

/** A client's stdout lines that start with this carry a {@link ClientReport}. */
export const REPORT_PREFIX = '@@bench ';

/** What a client process is asked to do (JSON in `argv[2]`). */
export interface ClientArgs {
  /** `throughput`: read every shard's stream to its end marker; `idle`: connect, receive READY, idle. */
  readonly mode: 'throughput' | 'idle';
  /** The gateway URL without query string: `ws://127.0.0.1:PORT/b/<group>/<shards>/<events>`. */
  readonly gatewayUrl: string;
  /** An `api` base for @discordjs/rest whose `/v10/gateway/bot` points at `gatewayUrl`. */
  readonly restApi: string;
  readonly shards: number;
  /** Dispatches each shard receives after READY, the end marker included. */
  readonly events: number;
  /** The pre-compressed streams the connections receive, shard i the i-th (for the in-process limit). */
  readonly streamFiles: readonly string[];
}

/** What a client process reports on stdout. */
export type ClientReport =
  /** All shards are READY and the CPU baseline was just taken: the server may stream. */
  | { readonly type: 'ready' }
  | {
      readonly type: 'result';
      /** User + system CPU of the whole process since `ready`, in µs. */
      readonly cpuUs: number;
      /** Dispatches received over all shards since `ready`. */
      readonly events: number;
      readonly wallMs: number;
      readonly rss: number;
      readonly heapUsed: number;
      /** Dispatches whose `s` was not the previous one plus one (must be 0). */
      readonly seqErrors: number;
    }
  | { readonly type: 'idle'; readonly shards: number; readonly rssBefore: number; readonly rssAfter: number; readonly heapBefore: number; readonly heapAfter: number }
  | { readonly type: 'error'; readonly message: string };

/** Orchestrator to server, over IPC. */
export type ServerRequest =
  /** Stream files by dispatch count: one per shard id (a single one serves every shard). */
  | { readonly type: 'load'; readonly streams: Readonly<Record<string, readonly string[]>> }
  | { readonly type: 'go'; readonly group: string }
  | { readonly type: 'stats' };

/** Server to orchestrator, over IPC. */
/**
 * The next report of `type` from the traffic server (a child process with IPC), after
 * sending `request` if one is given.
 *
 * @throws Error when none comes within 120 s.
 */
export function askServer<T extends ServerReport['type']>(server: ChildProcess, type: T, request?: ServerRequest): Promise<Extract<ServerReport, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bench server sent no ${type} within 120 s`)), 120_000);
    const onMessage = (message: ServerReport): void => {
      if (message.type !== type) return;
      clearTimeout(timer);
      server.off('message', onMessage);
      resolve(message as Extract<ServerReport, { type: T }>);
    };
    server.on('message', onMessage);
    if (request !== undefined) server.send(request);
  });
}

export type ServerReport =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'loaded' }
  | { readonly type: 'stats'; readonly heartbeats: number; readonly connections: number; readonly rejected: number };

/** Writes messages as `[u32 BE length][bytes]` records. */
export function writeStream(file: string, messages: readonly Buffer[]): void {
  const parts: Buffer[] = [];
  for (const message of messages) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(message.length);
    parts.push(length, message);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/** Reads what {@link writeStream} wrote: each message a view into one buffer. */
export function readStream(file: string): Buffer[] {
  const bytes = readFileSync(file);
  const messages: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    messages.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return messages;
}
