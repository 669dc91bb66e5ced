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

/** A child process started by {@link launcher}, its stdout read as JSON lines. */
export interface Launched {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  stderr(): string;
}

/**
 * Returns `launch(args, env)`, which starts `node args…` collecting its stdout JSON lines;
 * whatever is still running after each test is SIGKILLed.
 */
export function launcher(): (args: string[], env?: NodeJS.ProcessEnv) => Launched {
  const running = new Set<ChildProcess>();
  afterEach(() => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    running.clear();
  });
  return (args, env = {}) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    running.add(child);
    const lines: Record<string, unknown>[] = [];
    let rest = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as Record<string, unknown>);
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return { child, lines, stderr: () => stderr };
  };
}
