/**
 * How a command that serves runs until the user stops it: SIGINT, SIGTERM, a time limit,
 * or its parent process going away.
 */

/** How often the parent is looked for; an orphan stops within about this long. */
const PARENT_CHECK_MS = 500;

/**
 * Resolves when SIGINT or SIGTERM arrives, after `seconds` if given, or once the parent
 * process is gone: `npx gloaming …` runs the command under a shell, and SIGTERM to npx
 * ends npx and the shell but would leave the command serving as an orphan.
 */
export function untilStopped(seconds?: number): Promise<void> {
  return new Promise((resolve) => {
    const parent = process.ppid;
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearTimeout(timer);
      clearInterval(orphaned);
      resolve();
    };
    const timer = seconds === undefined ? undefined : setTimeout(stop, seconds * 1000);
    const orphaned = setInterval(() => {
      if (process.ppid !== parent) stop();
    }, PARENT_CHECK_MS).unref();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
