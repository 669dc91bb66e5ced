// Testing a bot with FakeGateway under vitest: a real gateway on 127.0.0.1, a real shard,
// and the gateway's own log to check what the bot did.
//   npx vitest run examples/testing-your-bot
import { afterEach, expect, it } from 'vitest';
import { FakeGateway } from '../../src/testing/index.js';
import { startBot } from './bot.js';

let gateway: FakeGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

it('sets its presence when told "!status idle"', async () => {
  gateway = await FakeGateway.start({ guilds: 1 });
  const bot = startBot({ token: 'test-token', gatewayUrl: gateway.url });
  await gateway.log.waitFor((entry) => entry.type === 'dispatch' && entry.t === 'READY');
  const [guild] = gateway.world.guildIds;
  gateway.dispatch(0, 'MESSAGE_CREATE', { id: '1', channel_id: '2', guild_id: guild, author: { id: '3', username: 'tester' }, content: '!status idle' });
  await gateway.log.waitFor((entry) => entry.type === 'command' && entry.op === 3);
  expect(gateway.sessions()[0]?.presence).toMatchObject({ status: 'idle' });
  await bot.stop();
});
