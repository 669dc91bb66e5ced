/**
 * A private redis-server per test file, stopped by PID after the file's tests. Tests that
 * need Redis fail, never skip, when redis-server is missing.
 */
import { afterAll, beforeAll } from 'vitest';
import { RedisServer } from './redis-server.js';

export { RedisServer } from './redis-server.js';

/** One redis-server for this test file: read `.current` inside tests. */
export function redisPerFile(): { readonly current: RedisServer } {
  const holder: { current: RedisServer } = { current: undefined as unknown as RedisServer };
  beforeAll(async () => {
    holder.current = await RedisServer.start();
  });
  afterAll(async () => {
    await holder.current?.stop();
  });
  return holder;
}
