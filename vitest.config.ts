import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Most test files spend their time waiting on the processes they start (the CLI, git, gpg, s3rver,
    // PostgreSQL): two files at once keep two cores busy. Vitest's default (cores - 1) runs them one by one
    // on a 2-core machine, about 13 minutes where two at a time take about 9.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
  },
});
