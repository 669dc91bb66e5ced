// Backpressure: a consumer that stops reading stops the socket, and reading again delivers
// everything once.
import { GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('backpressure', () => {
  it('a consumer that stops reading stops the socket; reading again delivers everything once', async () => {
    const g = await start({ rate: 'max' });
    const { shard } = open(g, { maxBufferedMessages: 200 });
    const sequences: number[] = [];
    const read = async (count: number): Promise<void> => {
      while (sequences.length < count) {
        const event = await shard.nextEvent();
        if (event.op === GatewayOpcodes.Dispatch) sequences.push(event.s);
      }
    };
    await read(500);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const generated = g.sessions()[0]!.sequence;
    // The server kept producing (kernel buffers take megabytes), but the shard decoded only
    // what it hands out plus its bounded buffer (and the rest of the last socket read, which
    // ws decodes whole: up to 64 KiB, about 270 messages here): the rest waits in the socket.
    expect(generated).toBeGreaterThan(2_000);
    expect(shard.inflaterMetrics.messages).toBeLessThan(500 + 200 + 300);
    await read(generated + 1000);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
  });
});
