/**
 * The benchmarks' pre-compressed connection streams, as `receive-server.ts` serves them:
 * FakeGateway's realistic traffic (World seed 1, 100 guilds, all intents, message content),
 * generated and compressed once before anything is timed.
 */
import { join } from 'node:path';
import { ZlibContext } from '../src/codec/zlib-context.js';
import { ALL_INTENTS, receivesDispatch } from '../src/intents.js';
import { Random } from '../src/testing/random.js';
import { World } from '../src/testing/world.js';
import { HEARTBEAT_INTERVAL_MS, MARKER_ID, writeStream } from './receive-shared.js';

/** What one stream's dispatches look like (HELLO and READY left out). */
export interface StreamStats {
  meanJson: number;
  meanCompressed: number;
  interactions: number;
  guildCreates: number;
}

/** Streams of one length: `slices` connections, each with its own `events` dispatches. */
export interface StreamSpec {
  readonly events: number;
  readonly slices: number;
}

/**
 * Generates the dispatches once and writes, per spec, one pre-compressed stream per slice:
 * HELLO, READY, then `events` dispatches (the last the end marker; 0: HELLO and READY only).
 * Slice i takes the i-th run of `events - 1` generated dispatches, so the 16 shards of a run
 * receive different events, as real shards do, and together the same mix as one shard.
 * Every slice starts with the same HELLO and READY, so their compressed bytes match up to
 * the first dispatch (the server sends HELLO before it knows the shard). `port` is the
 * bench server's, for READY's resume URL; the files go into `dataDir`.
 */
export function writeStreams(dataDir: string, port: number, specs: readonly StreamSpec[]): { files: Record<string, string[]>; stats: Map<number, StreamStats> } {
  const needed = Math.max(...specs.map(({ events, slices }) => slices * Math.max(0, events - 1)));
  const world = new World({ seed: 1, guilds: 100 });
  const rng = new Random(2);
  const allowed = (t: string, inGuild: boolean): boolean => receivesDispatch(ALL_INTENTS, t, inGuild);
  const bodies: { t: string; d: string }[] = [];
  let markerBody: string | null = null;
  while (bodies.length < needed || markerBody === null) {
    const event = world.nextDispatch(0, 1, rng, allowed, true);
    if (event === null) continue;
    if (markerBody === null && event.t === 'INTERACTION_CREATE') markerBody = JSON.stringify({ ...(event.d as object), id: MARKER_ID });
    if (bodies.length < needed) bodies.push({ t: event.t, d: JSON.stringify(event.d) });
  }
  const hello = JSON.stringify({ t: null, s: null, op: 10, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS, _trace: ['["gloaming-bench",{"micros":0}]'] } });
  const ready = JSON.stringify({
    t: 'READY',
    s: 1,
    op: 0,
    d: {
      v: 10,
      user: world.bot,
      guilds: world.guildIds.map((id) => ({ id, unavailable: true })),
      session_id: 'gloaming-bench-session',
      resume_gateway_url: `ws://127.0.0.1:${port}/resume`,
      application: { id: world.applicationId, flags: 0 },
      _trace: ['["gloaming-bench",{"micros":0}]'],
    },
  });
  const dispatch = (i: number, t: string, d: string): string => `{"t":"${t}","s":${i + 2},"op":0,"d":${d}}`;
  const files: Record<string, string[]> = {};
  const stats = new Map<number, StreamStats>();
  for (const { events, slices } of specs) {
    const dispatches: string[] = [];
    let compressedBytes = 0;
    files[String(events)] = Array.from({ length: slices }, (_, slice) => {
      const deflate = new ZlibContext('deflate');
      const messages = [hello, ready];
      const first = slice * (events - 1);
      for (let i = 0; i < events - 1; i++) {
        const body = bodies[first + i] as { t: string; d: string };
        messages.push(dispatch(i, body.t, body.d));
      }
      if (events > 0) messages.push(dispatch(events - 1, 'INTERACTION_CREATE', markerBody));
      const compressed = messages.map((message) => deflate.process(Buffer.from(message)));
      deflate.close();
      for (let i = 2; i < messages.length; i++) dispatches.push(messages[i] as string); // spread overflows the stack past ~100k
      compressedBytes += compressed.slice(2).reduce((sum, m) => sum + m.length, 0);
      const file = join(dataDir, `stream-${events}-${slice}.bin`);
      writeStream(file, compressed);
      return file;
    });
    if (events > 0) {
      stats.set(events, {
        meanJson: dispatches.reduce((sum, m) => sum + Buffer.byteLength(m), 0) / dispatches.length,
        meanCompressed: compressedBytes / dispatches.length,
        interactions: dispatches.filter((m) => m.startsWith('{"t":"INTERACTION_CREATE"')).length,
        guildCreates: dispatches.filter((m) => m.startsWith('{"t":"GUILD_CREATE"')).length,
      });
    }
  }
  return { files, stats };
}
