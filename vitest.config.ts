import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The examples' own tests run too: an example that rots fails the suite.
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Most test files wait on sockets and timers, not the CPU: two at once even on two cores
    // (vitest's default would run them one by one there).
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
