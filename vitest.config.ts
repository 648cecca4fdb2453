import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real listeners and child processes; two cores
    // are the target machine, so run files two at a time.
    maxWorkers: 2,
    pool: 'forks',
    reporters: ['default'],
  },
});
