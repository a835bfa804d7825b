#!/usr/bin/env node
// The corpus of bench/backup: deterministic (seeded) files that look like what gets backed up.
//
//   node bench/backup.d/corpus.mjs generate <corpus-dir> <pristine-dump> [scale=1] [seed=1]
//   node bench/backup.d/corpus.mjs edit <corpus-dir> <pristine-dump> [seed=1]
//   node bench/backup.d/corpus.mjs reset <corpus-dir> <pristine-dump>
//
// generate (re)writes <corpus-dir> with, at scale 1 (about 512 MiB):
//   db/dump.sql        ~256 MiB of `INSERT INTO ... VALUES (...);` lines (four tables, varied rows):
//                      compressible, as a mysqldump --skip-extended-insert is
//   blobs/*.bin        ~192 MiB of random bytes in three files (AES-CTR key stream): incompressible
//   files/NN/NN/...    16,000 small text files (~4 KiB on average: prose, JSON, logs, CSV) in nested dirs
// and keeps a copy of the dump at <pristine-dump>, from which `edit` and `reset` work.
// edit: the dump becomes the pristine one with 50 lines changed in place (spread over the whole file)
//   and 5 lines inserted, and a new 4 MiB random file appears (blobs/new-upload.bin). The same every time.
// reset: back to the generated state (pristine dump, no new file).
// Each command prints one JSON line: what it did.
import { createCipheriv, createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { random } from '../random.mjs';

const USAGE = `usage:
  node bench/backup.d/corpus.mjs generate <corpus-dir> <pristine-dump> [scale=1] [seed=1]
  node bench/backup.d/corpus.mjs edit <corpus-dir> <pristine-dump> [seed=1]
  node bench/backup.d/corpus.mjs reset <corpus-dir> <pristine-dump>`;

const MiB = 1024 * 1024;
const DUMP = 'db/dump.sql';
const NEW_FILE = 'blobs/new-upload.bin';
const NEW_FILE_BYTES = 4 * MiB;
const EDITED_LINES = 50;
const INSERTED_LINES = 5;

/** Random-looking bytes that cost nothing to make: the AES-256-CTR key stream of a seeded key. */
function keyStream(label, bytes, write) {
  const key = createHash('sha256').update(label).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(bytes, 4 * MiB));
  for (let left = bytes; left > 0; left -= zeros.length) {
    write(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
  }
}

/** Writes ASCII strings to a file through a 4 MiB buffer. */
function writer(path) {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const buffer = Buffer.allocUnsafe(4 * MiB);
  let used = 0;
  let total = 0;
  const flush = () => {
    if (used > 0) writeSync(fd, buffer, 0, used);
    used = 0;
  };
  return {
    write(text) {
      if (used + text.length > buffer.length) flush();
      if (text.length > buffer.length) writeSync(fd, text, null, 'latin1');
      else used += buffer.latin1Write(text, used);
      total += text.length; // ASCII only: characters are bytes
    },
    writeBuffer(chunk) {
      flush();
      writeSync(fd, chunk);
      total += chunk.length;
    },
    get bytes() {
      return total;
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Radia',
  'Edsger',
  'Frances',
  'John',
  'Karen',
  'Leslie',
  'Niklaus',
  'Sophie',
  'Tim',
  'Whitfield',
  'Yukihiro',
  'Guido',
  'Anita',
  'Bjarne',
  'Hedy',
  'Joan',
  'Marie',
  'Omar',
  'Priya',
  'Chen',
  'Fatima',
  'Mateo',
  'Olga',
  'Kwame',
  'Aiko',
  'Lars',
];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Perlman',
  'Dijkstra',
  'Allen',
  'McCarthy',
  'Jones',
  'Lamport',
  'Wirth',
  'Wilson',
  'Berners-Lee',
  'Diffie',
  'Matsumoto',
  'van Rossum',
  'Borg',
  'Stroustrup',
  'Lamarr',
  'Clarke',
  'Curie',
  'Haddad',
  'Raman',
  'Wei',
  'Okafor',
  'Garcia',
  'Ivanova',
  'Mensah',
  'Tanaka',
  'Nilsson',
  "O'Brien",
];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'corp.example', 'shop.example.co.uk'];
const CITIES = [
  'Lisbon',
  'Berlin',
  'Nairobi',
  'Osaka',
  'Toronto',
  'Lyon',
  'Austin',
  'Bangalore',
  'Melbourne',
  'Oslo',
  'Sao Paulo',
  'Dublin',
  'Seoul',
  'Lagos',
  'Krakow',
  'Denver',
];
const COUNTRIES = ['PT', 'DE', 'KE', 'JP', 'CA', 'FR', 'US', 'IN', 'AU', 'NO', 'BR', 'IE', 'KR', 'NG', 'PL'];
const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'refunded', 'cancelled'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CAD'];
const PRODUCTS = [
  'widget',
  'gadget',
  'sprocket',
  'flange',
  'gizmo',
  'doohickey',
  'bracket',
  'hinge',
  'valve',
  'gasket',
  'adapter',
  'cable',
  'charger',
  'sensor',
  'module',
  'panel',
  'filter',
  'spindle',
  'coupler',
  'lever',
];
const COLOURS = ['red', 'blue', 'green', 'black', 'white', 'silver', 'amber', 'teal', 'graphite'];
const EVENTS = [
  'login',
  'logout',
  'page_view',
  'add_to_cart',
  'checkout',
  'payment_failed',
  'password_reset',
  'search',
  'profile_update',
  'api_call',
];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'okhttp/4.12.0',
  'curl/8.8.0',
];
const WORDS = (
  'the of and to in is that for it as with was on be by this are or from at which an have not but they ' +
  'backup restore snapshot repository retention policy schedule drill recovery point objective time ' +
  'database table index query replica primary failover region bucket object lock encryption key rotate ' +
  'service request latency error budget deploy release rollback incident review owner team on call page ' +
  'customer order invoice payment refund shipment warehouse inventory report export import batch job ' +
  'quickly carefully nightly weekly daily hourly manual automatic verified checked failed passed pending'
).split(' ');

/** Milliseconds since 2024-01-01, as SQL's 'YYYY-MM-DD HH:MM:SS'. */
// (The date of the day is made once a day: Date and toISOString per row took a good part of the dump's time.)
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
let timestampDay = -1;
let timestampDate = '';
function timestamp(ms) {
  const day = Math.floor(ms / 86_400_000);
  if (day !== timestampDay) {
    timestampDay = day;
    timestampDate = new Date(Date.UTC(2024, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
  }
  const second = Math.floor((ms - day * 86_400_000) / 1000);
  return `${timestampDate} ${TWO_DIGITS[Math.floor(second / 3600)]}:${TWO_DIGITS[Math.floor(second / 60) % 60]}:${TWO_DIGITS[second % 60]}`;
}

function sqlString(text) {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The row generators of the dump's tables: each returns the text of one `INSERT` line, newline included. */
function tables(rng) {
  let clock = 0;
  const tick = () => {
    clock += 1 + rng.int(9000);
    return timestamp(clock);
  };
  const name = () => `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
  const money = () => `${rng.int(2000)}.${String(rng.int(100)).padStart(2, '0')}`;
  const ip = () => `${10 + rng.int(200)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
  let customers = 0;
  let orders = 0;
  let items = 0;
  let events = 0;
  return [
    {
      name: 'customers',
      share: 0.15,
      create:
        'CREATE TABLE `customers` (\n  `id` bigint NOT NULL,\n  `name` varchar(120),\n  `email` varchar(200),\n' +
        '  `city` varchar(80),\n  `country` char(2),\n  `created_at` datetime,\n  `api_key` char(32),\n' +
        '  `marketing` tinyint(1),\n  PRIMARY KEY (`id`)\n);\n',
      row() {
        customers += 1;
        const n = name();
        const email = `${n.toLowerCase().replace(/[^a-z]+/g, '.')}${rng.int(1000)}@${rng.pick(DOMAINS)}`;
        return `INSERT INTO \`customers\` VALUES (${customers},${sqlString(n)},${sqlString(email)},${sqlString(rng.pick(CITIES))},'${rng.pick(COUNTRIES)}','${tick()}','${rng.hex(32)}',${rng.int(2)});\n`;
      },
    },
    {
      name: 'orders',
      share: 0.3,
      create:
        'CREATE TABLE `orders` (\n  `id` bigint NOT NULL,\n  `customer_id` bigint,\n  `status` varchar(16),\n' +
        '  `total` decimal(12,2),\n  `currency` char(3),\n  `placed_at` datetime,\n  `note` text,\n' +
        '  PRIMARY KEY (`id`)\n);\n',
      row() {
        orders += 1;
        const note = rng.chance(0.3)
          ? sqlString(Array.from({ length: 3 + rng.int(12) }, () => rng.pick(WORDS)).join(' '))
          : 'NULL';
        return `INSERT INTO \`orders\` VALUES (${orders},${1 + rng.int(Math.max(customers, 1))},'${rng.pick(STATUSES)}',${money()},'${rng.pick(CURRENCIES)}','${tick()}',${note});\n`;
      },
    },
    {
      name: 'order_items',
      share: 0.25,
      create:
        'CREATE TABLE `order_items` (\n  `id` bigint NOT NULL,\n  `order_id` bigint,\n  `sku` varchar(40),\n' +
        '  `description` varchar(200),\n  `quantity` int,\n  `unit_price` decimal(10,2),\n  PRIMARY KEY (`id`)\n);\n',
      row() {
        items += 1;
        const product = rng.pick(PRODUCTS);
        const colour = rng.pick(COLOURS);
        const sku = `${product.slice(0, 3).toUpperCase()}-${colour.slice(0, 2).toUpperCase()}-${String(rng.int(100000)).padStart(5, '0')}`;
        return `INSERT INTO \`order_items\` VALUES (${items},${1 + rng.int(Math.max(orders, 1))},'${sku}',${sqlString(`${colour} ${product}, size ${1 + rng.int(12)}`)},${1 + rng.int(5)},${money()});\n`;
      },
    },
    {
      name: 'events',
      share: 0.3,
      create:
        'CREATE TABLE `events` (\n  `id` bigint NOT NULL,\n  `customer_id` bigint,\n  `kind` varchar(32),\n' +
        '  `at` datetime,\n  `ip` varchar(45),\n  `user_agent` varchar(255),\n  `payload` json,\n' +
        '  PRIMARY KEY (`id`)\n);\n',
      row() {
        events += 1;
        const kind = rng.pick(EVENTS);
        const payload = JSON.stringify({
          session: rng.hex(16),
          path: `/${rng.pick(PRODUCTS)}s/${rng.int(5000)}`,
          ms: rng.int(2500),
          ok: rng.chance(0.93),
        });
        return `INSERT INTO \`events\` VALUES (${events},${1 + rng.int(Math.max(customers, 1))},'${kind}','${tick()}','${ip()}',${sqlString(rng.pick(AGENTS))},${sqlString(payload)});\n`;
      },
    },
  ];
}

function writeDump(path, bytes, rng) {
  const out = writer(path);
  out.write(
    '-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: db.internal    Database: shop\n' +
      '-- ------------------------------------------------------\n\n/*!40101 SET NAMES utf8mb4 */;\n' +
      '/*!40014 SET FOREIGN_KEY_CHECKS=0 */;\n\n',
  );
  for (const table of tables(rng)) {
    out.write(
      `--\n-- Table structure for table \`${table.name}\`\n--\n\nDROP TABLE IF EXISTS \`${table.name}\`;\n`,
    );
    out.write(
      `${table.create}\n--\n-- Dumping data for table \`${table.name}\`\n--\n\nLOCK TABLES \`${table.name}\` WRITE;\n`,
    );
    const until = out.bytes + Math.floor(bytes * table.share);
    while (out.bytes < until) out.write(table.row());
    out.write('UNLOCK TABLES;\n\n');
  }
  out.write('/*!40014 SET FOREIGN_KEY_CHECKS=1 */;\n-- Dump completed on 2026-11-25  3:00:01\n');
  out.close();
  return out.bytes;
}

/** One small text file of about `size` bytes, of one of four kinds. */
function smallFile(rng, size) {
  const kind = rng.int(4);
  const parts = [];
  let length = 0;
  const push = (text) => {
    parts.push(text);
    length += text.length;
  };
  const sentence = () => {
    const words = Array.from({ length: 5 + rng.int(14) }, () => rng.pick(WORDS));
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    return `${words.join(' ')}.`;
  };
  if (kind === 0) {
    push(`# ${rng.pick(PRODUCTS)} ${rng.pick(WORDS)} notes\n\n`);
    while (length < size) push(rng.chance(0.15) ? `\n## ${sentence()}\n\n` : `${sentence()} ${sentence()}\n`);
    return { ext: 'md', text: parts.join('') };
  }
  if (kind === 1) {
    push('{\n');
    while (length < size) {
      push(
        `  "${rng.pick(WORDS)}_${rng.int(1000)}": {"enabled": ${rng.chance(0.5)}, "owner": "${rng.pick(FIRST).toLowerCase()}", "limit": ${rng.int(100000)}, "id": "${rng.hex(12)}"},\n`,
      );
    }
    push('  "version": 1\n}\n');
    return { ext: 'json', text: parts.join('') };
  }
  if (kind === 2) {
    let ms = rng.int(1e9);
    while (length < size) {
      ms += rng.int(5000);
      const level = rng.pick(['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR']);
      push(`${timestamp(ms)} ${level} [${rng.pick(EVENTS)}] req=${rng.hex(8)} ${sentence()}\n`);
    }
    return { ext: 'log', text: parts.join('') };
  }
  push('id,name,city,amount,status\n');
  for (let id = 1; length < size; id += 1) {
    push(
      `${id},${rng.pick(FIRST)} ${rng.pick(LAST)},${rng.pick(CITIES)},${rng.int(100000) / 100},${rng.pick(STATUSES)}\n`,
    );
  }
  return { ext: 'csv', text: parts.join('') };
}

async function generate(corpus, pristine, scale, seed) {
  const started = Date.now();
  const phases = {};
  let phaseStarted = started;
  const phase = (name) => {
    const now = Date.now();
    phases[name] = (now - phaseStarted) / 1000;
    phaseStarted = now;
  };
  const rng = random(seed);
  rmSync(corpus, { recursive: true, force: true });
  mkdirSync(corpus, { recursive: true });
  phase('remove');
  let files = 0;
  let bytes = 0;

  // The dump, written once beside the corpus (the pristine copy) and copied in.
  const dumpBytes = writeDump(pristine, Math.round(256 * MiB * scale), rng);
  mkdirSync(dirname(join(corpus, DUMP)), { recursive: true });
  copyFileSync(pristine, join(corpus, DUMP));
  files += 1;
  bytes += dumpBytes;
  phase('dump');

  // Three incompressible blobs: half, a third and a sixth of 192 MiB.
  const blobTotal = Math.round(192 * MiB * scale);
  const blobs = [
    ['blobs/photos-2026-11.tar', Math.round(blobTotal / 2)],
    ['blobs/attachments.zip', Math.round(blobTotal / 3)],
    ['blobs/model.onnx', 0],
  ];
  blobs[2][1] = blobTotal - blobs[0][1] - blobs[1][1];
  for (const [path, size] of blobs) {
    const out = writer(join(corpus, path));
    keyStream(`restorable-bench blob ${seed} ${path}`, size, (chunk) => out.writeBuffer(chunk));
    out.close();
    files += 1;
    bytes += size;
  }
  phase('blobs');

  // 16,000 small text files, 4 KiB on average (512 B to 11 KiB), 16 top directories of up to 40 each.
  // Creating a file costs more than making its text on some file systems: up to 16 writes at a time.
  const writing = new Set();
  const count = Math.max(1, Math.round(16_000 * scale));
  for (let i = 0; i < count; i += 1) {
    const size = 512 + Math.floor(rng.next() ** 2 * 10_500);
    const { ext, text } = smallFile(rng, size);
    const dir = join(
      corpus,
      'files',
      String(i % 16).padStart(2, '0'),
      String(Math.floor(i / 16) % 40).padStart(2, '0'),
    );
    if (i < 16 * 40) mkdirSync(dir, { recursive: true });
    const write = writeFile(join(dir, `${rng.pick(WORDS)}-${i}.${ext}`), text).then(() =>
      writing.delete(write),
    );
    writing.add(write);
    if (writing.size >= 16) await Promise.race(writing);
    files += 1;
    bytes += text.length;
  }
  await Promise.all(writing);
  phase('small files');
  return {
    command: 'generate',
    corpus,
    scale,
    seed,
    files,
    bytes,
    dumpBytes,
    seconds: (Date.now() - started) / 1000,
    phases,
  };
}

/** Offsets of the start of the line that holds `at` (or the next line) and of its newline. */
function lineAround(buffer, at) {
  let start = at === 0 ? 0 : buffer.lastIndexOf(10, at - 1) + 1;
  let end = buffer.indexOf(10, start);
  // Only `INSERT` lines are edited: move forward to the next one.
  while (end !== -1 && buffer.toString('latin1', start, start + 12) !== 'INSERT INTO ') {
    start = end + 1;
    end = buffer.indexOf(10, start);
  }
  return end === -1 ? null : { start, end };
}

/** The line with the value of its first quoted string replaced: an `UPDATE` as a dump shows it. */
function changed(line, rng) {
  const open = line.indexOf("'");
  const close = open === -1 ? -1 : line.indexOf("'", open + 1);
  const value = `${rng.pick(WORDS)} ${rng.pick(WORDS)} ${rng.int(100000)}`;
  if (close === -1) return line.replace(/\);$/, `,'${value}');`);
  return `${line.slice(0, open + 1)}${value}${line.slice(close)}`;
}

function edit(corpus, pristine, seed) {
  const started = Date.now();
  const rng = random(seed ^ 0x5eed);
  const dump = readFileSync(pristine);
  // Changes, as [offset, bytes to drop, text to put there]: 50 lines replaced in place, each in its own
  // fiftieth of the file, then 5 new lines, each in its own fifth.
  const splices = [];
  for (let i = 0; i < EDITED_LINES; i += 1) {
    const around = lineAround(dump, Math.floor(((i + 0.1 + 0.8 * rng.next()) * dump.length) / EDITED_LINES));
    if (!around) continue;
    const line = dump.toString('latin1', around.start, around.end);
    splices.push([around.start, around.end - around.start, changed(line, rng)]);
  }
  for (let i = 0; i < INSERTED_LINES; i += 1) {
    const around = lineAround(
      dump,
      Math.floor(((i + 0.3 + 0.4 * rng.next()) * dump.length) / INSERTED_LINES),
    );
    if (!around) continue;
    const line = dump.toString('latin1', around.start, around.end);
    splices.push([around.end + 1, 0, `${changed(line, rng)}\n`]);
  }
  splices.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const target = join(corpus, DUMP);
  const temporary = `${target}.bench-tmp`;
  const fd = openSync(temporary, 'w');
  let at = 0;
  let applied = 0;
  for (const [offset, drop, text] of splices) {
    if (offset < at) continue; // two edits of one line (only in tiny corpora): keep the first
    writeSync(fd, dump.subarray(at, offset));
    writeSync(fd, Buffer.from(text, 'latin1'));
    at = offset + drop;
    applied += 1;
  }
  writeSync(fd, dump.subarray(at));
  closeSync(fd);
  renameSync(temporary, target);

  const out = writer(join(corpus, NEW_FILE));
  keyStream(`restorable-bench new file ${seed}`, NEW_FILE_BYTES, (chunk) => out.writeBuffer(chunk));
  out.close();
  return {
    command: 'edit',
    splices: applied,
    newFile: NEW_FILE,
    newBytes: NEW_FILE_BYTES,
    seconds: (Date.now() - started) / 1000,
  };
}

function reset(corpus, pristine) {
  const target = join(corpus, DUMP);
  copyFileSync(pristine, `${target}.bench-tmp`);
  renameSync(`${target}.bench-tmp`, target);
  rmSync(join(corpus, NEW_FILE), { force: true });
  return { command: 'reset' };
}

const [command, corpus, pristine, ...rest] = process.argv.slice(2);
let result;
if (command === 'generate' && corpus && pristine) {
  const scale = Number(rest[0] ?? 1);
  const seed = Number(rest[1] ?? 1);
  if (!(scale > 0) || !Number.isInteger(seed)) {
    console.error(USAGE);
    process.exit(2);
  }
  result = await generate(corpus, pristine, scale, seed);
} else if (command === 'edit' && corpus && pristine) {
  result = edit(corpus, pristine, Number(rest[0] ?? 1));
} else if (command === 'reset' && corpus && pristine) {
  result = reset(corpus, pristine);
} else {
  console.error(USAGE);
  process.exit(2);
}
console.log(JSON.stringify(result));
