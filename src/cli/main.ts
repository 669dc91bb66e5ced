#!/usr/bin/env node
/**
 * The `gloaming` command: `demo` (what `npm start` runs) and `fake-gateway` (the
 * simulator standalone, for clients in other processes or languages).
 */
import { FakeGateway } from '../testing/fake-gateway.js';
import { UsageError, gatewayOptions, parseFlags } from './args.js';
import { formatEntry } from './log-format.js';

const USAGE = `usage: gloaming <command> [options]

commands:
  demo           run the gateway simulator with a live log (what npm start runs)
  fake-gateway   serve the simulator; prints {"url","resumeUrl","restUrl","port"} as one JSON line

simulator options (both commands):
  --port N  --token T  --shards N  --max-concurrency N  --guilds N
  --rate N|max  --seed N  --heartbeat-interval MS  --identify-interval MS
fake-gateway:  --log            print a readable log to stderr
demo:          --json           NDJSON instead of text
               --duration S     stop after S seconds (default: until Ctrl-C)`;

/** Resolves when SIGINT or SIGTERM arrives, or after `seconds` if given. */
function untilStopped(seconds?: number): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearTimeout(timer);
      resolve();
    };
    const timer = seconds === undefined ? undefined : setTimeout(stop, seconds * 1000);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

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

async function demoCommand(args: string[]): Promise<void> {
  const { values } = parseFlags(args, { json: { type: 'boolean' }, duration: { type: 'string' } });
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration must be a positive number of seconds, got ${JSON.stringify(values.duration)}`);
  const json = values.json === true;
  const gateway = await FakeGateway.start(gatewayOptions(values, { shards: 4, maxConcurrency: 2, guilds: 40, rate: 5, logDispatches: false }));
  const print = (text: string, record: object): void => {
    process.stdout.write(json ? `${JSON.stringify(record)}\n` : `${text}\n`);
  };
  print(
    `gloaming FakeGateway listening\n  gateway  ${gateway.url}\n  resume   ${gateway.resumeUrl}\n  REST     ${gateway.restUrl}/gateway/bot\n` +
      `Point any gateway client at it (token: any non-empty string). Ctrl-C stops.`,
    { type: 'listening', url: gateway.url, resumeUrl: gateway.resumeUrl, restUrl: gateway.restUrl },
  );
  gateway.log.on('entry', (entry) => {
    const line = formatEntry(entry);
    if (line !== null) print(line, entry);
  });
  const summary = setInterval(() => {
    const sessions = gateway.sessions();
    const attached = sessions.filter((session) => session.state === 'attached').length;
    const dispatched = sessions.reduce((sum, session) => sum + session.sequence, 0);
    print(`-- ${gateway.connections().length} connections, ${attached} live sessions, ${dispatched} dispatches so far`, {
      type: 'summary',
      connections: gateway.connections().length,
      liveSessions: attached,
      dispatches: dispatched,
    });
  }, 5_000);
  await untilStopped(duration);
  clearInterval(summary);
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
