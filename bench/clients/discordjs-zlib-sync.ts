/** Client `discordjs-zlib-sync`: @discordjs/ws with `CompressionMethod.ZlibSync` (the zlib-sync addon). */
import { CompressionMethod } from '@discordjs/ws';
import { runDiscordjs } from './discordjs.js';

await runDiscordjs(CompressionMethod.ZlibSync);
