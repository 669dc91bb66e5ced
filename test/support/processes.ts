/**
 * Child processes in tests: killed as a crash would kill them, by PID, and awaited.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** SIGKILLs `child` by its PID and resolves once it has exited. */
export async function killHard(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  process.kill(child.pid as number, 'SIGKILL');
  await exited;
}
