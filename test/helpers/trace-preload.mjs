// Preloaded with `node --import` into a process under test: records every child process, network
// connection, environment read and file opened, to the file named by RESTORABLE_TRACE_FILE.
import childProcess from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const traceFile = process.env.RESTORABLE_TRACE_FILE;
const appendFileSync = fs.appendFileSync;
const log = (kind, detail) => appendFileSync(traceFile, `${JSON.stringify({ kind, detail })}\n`);

for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = childProcess[name];
  childProcess[name] = function traced(...args) {
    log('exec', `${name} ${String(args[0])}`);
    return original.apply(this, args);
  };
}
for (const name of [
  'readFileSync',
  'openSync',
  'readFile',
  'open',
  'createReadStream',
  'statSync',
  'existsSync',
]) {
  const original = fs[name];
  fs[name] = function traced(...args) {
    log('fs', `${name} ${args[0] instanceof URL ? args[0].pathname : String(args[0])}`);
    return original.apply(this, args);
  };
}
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function traced(...args) {
  log('net', JSON.stringify(args[0]));
  return originalConnect.apply(this, args);
};
const originalLookup = dns.lookup;
dns.lookup = function traced(...args) {
  log('net', `lookup ${String(args[0])}`);
  return originalLookup.apply(this, args);
};
syncBuiltinESMExports();

const env = process.env;
process.env = new Proxy(env, {
  get(target, key) {
    if (typeof key === 'string') log('env', key);
    return target[key];
  },
});
