import * as core from '@actions/core';
import { run } from './main.ts';

// See cli.ts: set before libuv's thread pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';
run().catch((error: unknown) => core.setFailed(error instanceof Error ? error.message : String(error)));
