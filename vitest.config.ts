import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests beside the code, and end-to-end tests that start real
// processes and mounts. E2E files run one at a time: they share FUSE, ports and 2 cores.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{proto,client,fuse,server,cli}/src/**/*.test.ts', 'native/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
