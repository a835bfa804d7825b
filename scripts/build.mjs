// Bundles the Action entry (dist/index.js), the CLI (dist/cli.js) and the content worker
// (dist/content-worker.js), a restore's decode worker (dist/blob-decode-worker.js) and a drill's read-back
// worker (dist/readback-worker.js) with esbuild.
// Output must be byte-for-byte reproducible: CI rebuilds it and fails on any difference.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  legalComments: 'none',
  logLevel: 'warning',
  // Some dependencies (ajv) are CommonJS and call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __restorableCreateRequire } from 'node:module';\nconst require = __restorableCreateRequire(import.meta.url);",
  },
};

await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  banner: { js: `#!/usr/bin/env node\n${common.banner.js}` },
});

// The content worker runs in its own thread (src/engine/content-pool.ts loads it from beside the bundle).
await build({ ...common, entryPoints: ['src/engine/content-worker.ts'], outfile: 'dist/content-worker.js' });
// So do a restore's decode thread (src/engine/blob-decoder.ts) and a drill's read-back (src/drill/integrity.ts).
await build({
  ...common,
  entryPoints: ['src/engine/blob-decode-worker.ts'],
  outfile: 'dist/blob-decode-worker.js',
});
await build({ ...common, entryPoints: ['src/drill/readback-worker.ts'], outfile: 'dist/readback-worker.js' });

// The CLI is the package's bin.
const { chmodSync } = await import('node:fs');
chmodSync('dist/cli.js', 0o755);
