// Writes a `git fast-import` stream to stdout: a `main` branch with one commit, and an evidence branch of
// BENCH_RECORDS records (default 10,000), one commit per record, exactly as the writer lays them out (records,
// signatures, state.json, the public key), built with the project's own record, canonical-JSON and state code.
// Signatures are real (openpgp.js, the key in $BENCH_KEY_FILE) unless BENCH_SIGN=0, so that `evidence verify`
// can be timed on the same branch.
//
//   node bench/evidence.d/generate.mjs | git fast-import --quiet

import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { buildRecord, recordBytes, recordHash, recordPath } = await import(
  new URL('src/evidence/record.ts', root)
);
const { nextState, stateBytes, STATE_FILE } = await import(new URL('src/evidence/state.ts', root));
const { loadSigner } = await import(new URL('src/evidence/signing.ts', root));

const count = Number(process.env.BENCH_RECORDS ?? 10_000);
const sign = process.env.BENCH_SIGN !== '0';
const branch = process.env.BENCH_BRANCH ?? 'restorable-evidence';
const signer = await loadSigner(
  readFileSync(process.env.BENCH_KEY_FILE, 'utf8'),
  undefined,
  'BENCH_KEY_FILE',
);

const systems = [
  'payments-db',
  'ledger-db',
  'uploads',
  'search-index',
  'auth-db',
  'billing-db',
  'logs',
  'config',
];
const kinds = ['backup', 'backup', 'backup', 'drill', 'prune', 'check'];
// BENCH_CHECK_CONTROLS=1: check records carry a result per shipped control and system, as `check --evidence`
// writes them (about 17 KB each here instead of 1 KB; state.json keeps the newest per control and system,
// which the README's control matrix shows). Off by default, so the figures compare with earlier runs.
const controlIds =
  process.env.BENCH_CHECK_CONTROLS === '1'
    ? readdirSync(new URL('controls/', root))
        .filter((name) => name.endsWith('.yaml'))
        .map((name) => name.replace(/\.yaml$/, ''))
    : [];
const start = Date.UTC(2025, 0, 1);
const chunks = [];
let pending = 0;

async function write(text) {
  const bytes = typeof text === 'string' ? Buffer.from(text) : Buffer.from(text);
  chunks.push(bytes);
  pending += bytes.length;
  if (pending > 1 << 20) await flush();
}
async function flush() {
  if (!process.stdout.write(Buffer.concat(chunks))) await once(process.stdout, 'drain');
  chunks.length = 0;
  pending = 0;
}
const inline = async (path, content) => {
  const bytes = Buffer.from(content);
  await write(`M 100644 inline ${path}\ndata ${bytes.length}\n`);
  await write(bytes);
  await write('\n');
};
const commit = async (ref, when, message) => {
  await write(
    `commit ${ref}\ncommitter Restorable <evidence@restorable.invalid> ${Math.floor(when / 1000)} +0000\n`,
  );
  await write(`data ${Buffer.byteLength(message)}\n${message}\n`);
};

await commit('refs/heads/main', start, 'main');
await inline('README.md', '# the repository whose evidence this is\n');

let state;
let previous = null;
const run = {
  ci: 'github-actions',
  repository: 'acme/payments',
  workflow: 'backups',
  runId: '1',
  actor: 'scheduler',
};
for (let sequence = 0; sequence < count; sequence++) {
  const time = new Date(start + sequence * 3_600_000);
  const kind = kinds[sequence % kinds.length];
  const system = systems[sequence % systems.length];
  const record = buildRecord(
    {
      kind,
      outcome: sequence % 97 === 0 ? 'failure' : 'success',
      systems:
        kind === 'check'
          ? systems.map((name) => ({ name, policy: 'payments' }))
          : [{ name: system, policy: 'payments' }],
      policies: [
        { name: 'payments', file: '.restorable/payments.yaml', blob: 'a'.repeat(40), commit: 'b'.repeat(40) },
      ],
      ...(kind === 'check' && controlIds.length > 0
        ? {
            controls: controlIds.flatMap((id, c) =>
              systems.map((name, i) => ({
                id,
                system: name,
                status: (sequence + c + i) % 41 === 0 ? 'fail' : 'pass',
                severity: 'high',
              })),
            ),
          }
        : {}),
      measurements: {
        files: 1200,
        bytes: 5_000_000 + sequence,
        durationMs: 4200,
        rpo: { targetSeconds: 21600, achievedSeconds: 3600 },
      },
      run: { ...run, runId: String(1_000_000 + sequence) },
    },
    { sequence, previous },
    { time, run, toolVersion: '0.1.0' },
  );
  const bytes = recordBytes(record);
  const sha256 = recordHash(bytes);
  const file = recordPath(record);
  state = nextState(state, record, file, sha256, signer.fingerprint);
  await commit(`refs/heads/${branch}`, time.getTime(), `evidence ${sequence}: ${kind}\n`);
  await inline(file, bytes);
  await inline(
    `${file}.asc`,
    sign ? await signer.sign(bytes) : '-----BEGIN PGP SIGNATURE-----\n(unsigned bench record)\n',
  );
  await inline(STATE_FILE, stateBytes(state));
  if (sequence === 0) await inline(`keys/${signer.fingerprint}.asc`, signer.publicKey);
  previous = sha256;
}
await write('done\n');
await flush();
