import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Flow tests start real servers and hash passwords with argon2; two cores are shared.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
