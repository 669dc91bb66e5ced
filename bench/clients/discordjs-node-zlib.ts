/** Client `discordjs-node-zlib`: @discordjs/ws with `CompressionMethod.ZlibNative` (node:zlib streams). */
import { CompressionMethod } from '@discordjs/ws';
import { runDiscordjs } from './discordjs.js';

await runDiscordjs(CompressionMethod.ZlibNative);
