/** How a command that serves runs until the user stops it: SIGINT, SIGTERM, or a time limit. */

/** Resolves when SIGINT or SIGTERM arrives, or after `seconds` if given. */
export function untilStopped(seconds?: number): Promise<void> {
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
