/** Client `discordjs-workers`: @discordjs/ws with zlib-sync and `WorkerShardingStrategy`, 2 worker threads. */
import { CompressionMethod, WorkerShardingStrategy } from '@discordjs/ws';
import { runDiscordjs } from './discordjs.js';

await runDiscordjs(CompressionMethod.ZlibSync, (manager, shards) => new WorkerShardingStrategy(manager, { shardsPerWorker: Math.ceil(shards / 2) }));
