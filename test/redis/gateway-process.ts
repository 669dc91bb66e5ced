/**
 * `gloaming fake-gateway --log` as its own OS process, as bots on other machines would meet
 * it: its URL from its first stdout line, what happened from its log on stderr.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Milliseconds since midnight (UTC) of a log line's `HH:MM:SS.mmm`. */
const timeOf = (line: string): number => {
  const [h, m, s] = (line.slice(0, 12).split(':') as [string, string, string]).map(Number) as [number, number, number];
  return ((h * 60 + m) * 60 + s) * 1000;
};

export class GatewayProcess {
  readonly #lines: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    let rest = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = rest + chunk.toString();
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      this.#lines.push(...lines);
    });
  }

  static async start(args: string[]): Promise<GatewayProcess> {
    const child = spawn(process.execPath, [BIN, 'fake-gateway', '--port', '0', '--log', '--rate', '5', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const { url } = JSON.parse(line.toString().split('\n')[0] as string) as { url: string };
    return new GatewayProcess(child, url);
  }

  /** The time now, on the log's clock. */
  now(): number {
    return timeOf(new Date().toISOString().slice(11, 23));
  }

  /** Every accepted IDENTIFY: which shard, when. */
  identifies(): { shard: number; at: number }[] {
    return this.#lines.flatMap((line) => {
      const match = / identify shard \[(\d+), \d+\]/.exec(line);
      return match === null ? [] : [{ shard: Number(match[1]), at: timeOf(line) }];
    });
  }

  /** The shards of every accepted RESUME. */
  resumes(): number[] {
    return this.#lines.flatMap((line) => {
      const match = / resume shard (\d+) /.exec(line);
      return match === null ? [] : [Number(match[1])];
    });
  }

  /** Refused identifies and resumes (op 9), as logged. */
  rejected(): string[] {
    return this.#lines.filter((line) => line.includes(' rejected: '));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}
