/**
 * Child processes in tests: killed as a crash would kill them, by PID, and awaited.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach } from 'vitest';

/** SIGKILLs `child` by its PID and resolves once it has exited. */
export async function killHard(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  process.kill(child.pid as number, 'SIGKILL');
  await exited;
}

/** A child process started by {@link launcher}, its stdout read as JSON lines (or kept as text). */
export interface Launched {
  readonly child: ChildProcess;
  /** Each stdout line as JSON (empty when launched with `json: false`). */
  readonly lines: Record<string, unknown>[];
  /** All of stdout so far. */
  text(): string;
  stderr(): string;
}

/** How {@link launcher} starts a process. */
export interface LaunchOptions {
  readonly cwd?: string;
  /** Whether stdout is JSON lines (default true). */
  readonly json?: boolean;
  /** `env` is the whole environment, not added to this process's. */
  readonly ownEnv?: boolean;
}

/**
 * Returns `launch(args, env, options)`, which starts `node args…` collecting its stdout;
 * whatever is still running after each test is SIGKILLed.
 */
export function launcher(): (args: string[], env?: NodeJS.ProcessEnv, options?: LaunchOptions) => Launched {
  const running = new Set<ChildProcess>();
  afterEach(() => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    running.clear();
  });
  return (args, env = {}, options = {}) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd, env: options.ownEnv === true ? env : { ...process.env, ...env } });
    running.add(child);
    const lines: Record<string, unknown>[] = [];
    let text = '';
    let rest = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (options.json === false) return;
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as Record<string, unknown>);
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return { child, lines, text: () => text, stderr: () => stderr };
  };
}
