#!/usr/bin/env node
/**
 * The `gloaming` command: `demo` (what `npm start` runs), `run` (the gateway service) and
 * `fake-gateway` (the simulator standalone, for clients in other processes or languages).
 */
import { GatewayBotError } from '../fleet/gateway-bot.js';
import { FakeGateway } from '../testing/fake-gateway.js';
import { VERSION } from '../version.js';
import { UsageError, gatewayOptions, parseFlags } from './args.js';
import { demoCommand } from './demo.js';
import { RUN_USAGE, runCommand } from './run.js';
import { untilStopped } from './until-stopped.js';
import { formatEntry } from './log-format.js';

/** The standalone simulator's default traffic: enough to see events flow, little enough to read. */
const FAKE_GATEWAY_RATE = 5;

const COMMANDS = `commands:
  demo           a fleet of shards, live (what npm start runs): an in-process FakeGateway,
                 or Discord when DISCORD_TOKEN is set, or any gateway with --rest-url
  run            the gateway service: shards on a Redis queue, events to Redis Streams
  fake-gateway   serve the simulator; prints {"url","resumeUrl","restUrl","port"} as one JSON line`;

const SIMULATOR_OPTIONS = `simulator options:
  --port N  --token T  --shards N  --max-concurrency N  --guilds N  --seed N
  --rate N|max                dispatches per second per session, or as fast as the client reads
  --heartbeat-interval MS  --identify-interval MS
  --preset discord|spacebar   play Discord (default) or Spacebar's gateway (READY at 0, no RESUME, ...)`;

const USAGE = `usage: gloaming <command> [options]   (gloaming <command> --help, gloaming --version)

${COMMANDS}`;

const COMMAND_USAGE: Record<string, string> = {
  demo: `usage: gloaming demo [options]

A fleet of real shards identifying through the queue, read through one merged stream, live.
Against an in-process FakeGateway; against Discord when DISCORD_TOKEN is set.

  --shards N (16)  --concurrency N (4)  --duration S  --json (NDJSON on stdout)
  --workers N      run the shards on N worker threads (a WorkerFleet); the screen shows each one's worker
  --sessions FILE  save sessions on stop, resume them on start
                   (default gloaming-sessions.json with DISCORD_TOKEN)
  --rest-url URL   ask this REST base for /gateway/bot instead
  --metrics HOST:PORT  serve /metrics (Prometheus) and /healthz there, e.g. 127.0.0.1:9464
  --log-level L    trace, debug, info, warn (default), error, fatal or silent: JSON lines on stderr

${SIMULATOR_OPTIONS}`,
  run: RUN_USAGE,
  'fake-gateway': `usage: gloaming fake-gateway [options]

Serves the simulator until SIGINT or SIGTERM; prints {"url","resumeUrl","restUrl","port"}.

  --log   print a readable log to stderr

${SIMULATOR_OPTIONS} (default --rate ${FAKE_GATEWAY_RATE})`,
};

async function fakeGatewayCommand(args: string[]): Promise<void> {
  const { values } = parseFlags(args, { log: { type: 'boolean' } });
  const gateway = await FakeGateway.start(gatewayOptions(values, { rate: FAKE_GATEWAY_RATE }));
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
  if (command !== undefined && COMMAND_USAGE[command] !== undefined && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${COMMAND_USAGE[command]}\n`);
    return;
  }
  switch (command) {
    case 'demo':
      return demoCommand(args);
    case 'run':
      return runCommand(args);
    case 'fake-gateway':
      return fakeGatewayCommand(args);
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return;
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
    // option errors: ConfigError is a TypeError, FakeGateway's are RangeError or TypeError
    process.stderr.write(`gloaming: ${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof GatewayBotError) {
    process.stderr.write(`gloaming: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`gloaming: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
});
