/**
 * Where an idle shard's memory goes: the extra RSS and heap per connection, after idling,
 * of a bare `ws` socket, of a gloaming shard without transport compression, and of one
 * with zlib-stream. Each variant runs in a fresh process against FakeGateway in another
 * (`test/soak/gateway-process.ts`), connects a few warm-up connections, idles, reads its
 * memory, connects `--shards` more, idles, and reads it again: the difference per
 * connection leaves out what the process pays once (modules, compiled code).
 *
 * Run: npm run bench:idle [-- --shards 1000 --idle-ms 11000]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import WebSocket from 'ws';
import { ALL_INTENTS, Shard } from '../src/index.js';
import type { Compression } from '../src/index.js';

const VARIANTS = ['ws', 'gloaming-uncompressed', 'gloaming-zlib-stream'] as const;
type Variant = (typeof VARIANTS)[number];
const WARM_UP = 10;
const GATEWAY_PROCESS = fileURLToPath(new URL('../test/soak/gateway-process.ts', import.meta.url));

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${process.argv[at + 1]}`);
  return value;
}

/** Connects `count` connections of `variant` and resolves once each is past its handshake (HELLO for ws, READY for shards). */
async function connect(variant: Variant, url: string, count: number, keep: unknown[]): Promise<void> {
  if (variant === 'ws') {
    await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = new WebSocket(`${url}?v=10&encoding=json`, { perMessageDeflate: false });
        keep.push(socket);
        await once(socket, 'message');
      }),
    );
    return;
  }
  const compression: Compression = variant === 'gloaming-zlib-stream' ? 'zlib-stream' : null;
  const noWait = { enqueue: () => Promise.resolve() };
  const firstId = keep.length;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const shard = new Shard([firstId + i, 65_536], { token: 'bench.token', intents: ALL_INTENTS, gatewayUrl: url, allowInsecureUrls: true, compression, queue: noWait });
      keep.push(shard);
      for (;;) {
        const event = await shard.nextEvent();
        if (event.op === GatewayOpcodes.Dispatch && event.t === GatewayDispatchEvents.Ready) break;
      }
      // A consumer waits on the next event, as a bot does.
      void shard.nextEvent();
    }),
  );
}

/** One variant in this process: prints `{ rssKb, heapKb }` per connection as JSON. */
async function measure(variant: Variant, url: string, shards: number, idleMs: number): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async (): Promise<NodeJS.MemoryUsage> => {
    await sleep(idleMs);
    for (let i = 0; i < 4; i++) {
      gc();
      await sleep(50);
    }
    return process.memoryUsage();
  };
  const keep: unknown[] = [];
  await connect(variant, url, WARM_UP, keep);
  const before = await settle();
  await connect(variant, url, shards, keep);
  const after = await settle();
  console.log(JSON.stringify({ rssKb: (after.rss - before.rss) / shards / 1024, heapKb: (after.heapUsed - before.heapUsed) / shards / 1024 }));
  process.exit(0);
}

async function main(): Promise<void> {
  const shards = option('--shards', 1000);
  const idleMs = option('--idle-ms', 11_000);
  const options = { heartbeatInterval: 3_600_000, maxConcurrency: 100_000, identifyInterval: 0, sessionStartLimit: 1_000_000, guilds: 0, rate: 0 };
  const gateway = spawn(process.execPath, ['--import', 'tsx', GATEWAY_PROCESS, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ url }] = (await once(gateway, 'message')) as [{ url: string }];
  console.log(`Extra memory per idle connection, ${shards} connections after ${WARM_UP}, each reading after ${idleMs} ms of idling:\n`);
  console.log('| variant | RSS KB | heap KB |\n|---|---|---|');
  try {
    for (const variant of VARIANTS) {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--variant', variant, '--url', url, '--shards', String(shards), '--idle-ms', String(idleMs)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
      const [code] = (await once(child, 'exit')) as [number];
      if (code !== 0) throw new Error(`variant ${variant} exited with ${code}`);
      const { rssKb, heapKb } = JSON.parse(out) as { rssKb: number; heapKb: number };
      console.log(`| ${variant} | ${rssKb.toFixed(1)} | ${heapKb.toFixed(1)} |`);
    }
  } finally {
    gateway.kill();
  }
}

const variantAt = process.argv.indexOf('--variant');
if (variantAt === -1) {
  await main();
} else {
  const variant = VARIANTS.find((name) => name === process.argv[variantAt + 1]);
  const url = process.argv[process.argv.indexOf('--url') + 1];
  if (variant === undefined || url === undefined) throw new Error(`--variant must be one of ${VARIANTS.join(', ')}, with --url`);
  await measure(variant, url, option('--shards', 1000), option('--idle-ms', 11_000));
}
