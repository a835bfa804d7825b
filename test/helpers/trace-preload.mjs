// Preloaded with `node --import` into a process under test: records every child process, network
// connection, environment read and file opened, to the file named by RESTORABLE_TRACE_FILE.
//
// Each line is JSON: { kind, detail } plus, for `exec`, the child's whole argv, its cwd and the names (never
// the values) of the variables in the environment it is given. Environment reads are `env` when code asks
// for one variable by name, `env-copy` when it copies the whole environment (a spread or Object.entries:
// the property's descriptor is taken before its value), so that a copy handed to a child is not mistaken
// for code that looks a secret up.
import childProcess from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const traceFile = process.env.RESTORABLE_TRACE_FILE;
const appendFileSync = fs.appendFileSync;
const log = (kind, detail, extra = {}) =>
  appendFileSync(traceFile, `${JSON.stringify({ kind, detail, ...extra })}\n`);

/** The argv, cwd and environment names of a child_process call, whatever its overload. */
function childDetails(name, args) {
  const [first, second, third] = args;
  const list = Array.isArray(second) ? second : [];
  const options = Array.isArray(second) ? third : second;
  const argv =
    name === 'exec' || name === 'execSync' ? [String(first)] : [String(first), ...list.map(String)];
  const opts = options && typeof options === 'object' ? options : {};
  const out = { argv };
  if (opts.cwd !== undefined) out.cwd = String(opts.cwd);
  if (opts.env && typeof opts.env === 'object') out.envKeys = Object.keys(opts.env);
  return out;
}

for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = childProcess[name];
  childProcess[name] = function traced(...args) {
    log('exec', `${name} ${String(args[0])}`, childDetails(name, args));
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
  'readdirSync',
  'readdir',
]) {
  const original = fs[name];
  fs[name] = function traced(...args) {
    log('fs', `${name} ${args[0] instanceof URL ? args[0].pathname : String(args[0])}`);
    return original.apply(this, args);
  };
}
for (const name of ['readFile', 'open', 'readdir', 'opendir']) {
  const original = fs.promises[name];
  fs.promises[name] = function traced(...args) {
    log('fs', `promises.${name} ${args[0] instanceof URL ? args[0].pathname : String(args[0])}`);
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
let describedKey;
process.env = new Proxy(env, {
  getOwnPropertyDescriptor(target, key) {
    describedKey = key;
    return Reflect.getOwnPropertyDescriptor(target, key);
  },
  get(target, key) {
    if (typeof key === 'string') log(key === describedKey ? 'env-copy' : 'env', key);
    describedKey = undefined;
    return target[key];
  },
});
