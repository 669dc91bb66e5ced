#!/usr/bin/env node
/**
 * The `gloaming` command: `demo` (what `npm start` runs) and `fake-gateway` (the
 * simulator standalone, for clients in other processes or languages).
 */
import { FakeGateway } from '../testing/fake-gateway.js';
import { UsageError, gatewayOptions, parseFlags } from './args.js';
import { demoCommand } from './demo.js';
import { untilStopped } from './until-stopped.js';
import { formatEntry } from './log-format.js';

const USAGE = `usage: gloaming <command> [options]

commands:
  demo           a fleet of shards, live (what npm start runs): an in-process FakeGateway,
                 or Discord when DISCORD_TOKEN is set, or any gateway with --rest-url
  fake-gateway   serve the simulator; prints {"url","resumeUrl","restUrl","port"} as one JSON line

demo:          --shards N (16)  --concurrency N (4)  --json (NDJSON)  --duration S
               --sessions FILE  save sessions on stop, resume them on start
                                (default gloaming-sessions.json with DISCORD_TOKEN)
               --rest-url URL   ask this REST base for /gateway/bot instead
fake-gateway:  --log            print a readable log to stderr
simulator options (both commands):
  --port N  --token T  --shards N  --max-concurrency N  --guilds N
  --rate N|max  --seed N  --heartbeat-interval MS  --identify-interval MS
  --preset discord|spacebar   play Discord (default) or Spacebar's gateway (READY at 0, no RESUME, ...)`;

async function fakeGatewayCommand(args: string[]): Promise<void> {
  const { values } = parseFlags(args, { log: { type: 'boolean' } });
  const gateway = await FakeGateway.start(gatewayOptions(values));
  if (values.log === true) {
    gateway.log.on('entry', (entry) => {
      const line = formatEntry(entry);
      if (line !== null) process.stderr.write(`${line}\n`);
    });
  }
  process.stdout.write(`${JSON.stringify({ url: gateway.url, resumeUrl: gateway.resumeUrl, restUrl: gateway.restUrl, port: gateway.port })}\n`);
  await untilStopped();
  await gateway.close();
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'demo':
      return demoCommand(args);
    case 'fake-gateway':
      return fakeGatewayCommand(args);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`gloaming: ${error.message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (error instanceof RangeError || error instanceof TypeError) {
    process.stderr.write(`gloaming: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`gloaming: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
});
