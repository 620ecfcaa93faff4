import { defineConfig } from 'vitest/config';

// 2-core machine: integration tests start real PostgreSQL, Redis, dbman nodes and k6,
// so test files run one at a time. Unit tests are fast enough that this costs little.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
