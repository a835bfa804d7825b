import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Random } from './random.ts';

/** What the proxy does to a request instead of forwarding it plainly. */
export type Fault =
  | { status: number; code?: string } // an S3-style XML error response
  | 'reset' // the connection is destroyed without a response
  | 'hang' // the request is never answered
  | 'reset-mid-body' // forwarded; the upstream's headers and part of its body are sent, then a TCP reset
  | 'truncate' // forwarded; the headers (full Content-Length) and part of the body are sent, then a clean close
  | { delayMs: number }; // forwarded after a delay

/** The kinds of fault the seeded random mode draws from. */
export const RANDOM_FAULT_KINDS = [
  'InternalError', // 500
  'ServiceUnavailable', // 503
  'SlowDown', // 503
  'reset',
  'reset-mid-body',
  'truncate',
  'delay',
] as const;
export type RandomFaultKind = (typeof RANDOM_FAULT_KINDS)[number];

export interface RandomFaults {
  /** Seeds the draws: the n-th request the proxy sees (that `when` accepts) always gets the same draw. */
  seed: number;
  /** The probability of each kind per request; they must add up to at most 1. */
  rates: Partial<Record<RandomFaultKind, number>>;
  /** The range of a `delay` fault, both ends included (default 50–500 ms). */
  delayMs?: readonly [number, number];
  /** Which requests may be faulted (default: all). */
  when?: (request: RecordedRequest) => boolean;
}

/** One request's draw in the random mode, to replay or explain a run. */
export interface Draw {
  /** The request's position in the proxy's log of requests (0 = the first since the last reset). */
  request: number;
  method: string;
  path: string;
  kind: RandomFaultKind | 'none';
  /** For `delay`: how long. */
  delayMs?: number;
  /** For `reset-mid-body` and `truncate`: the share of the body sent before the cut, in [0.05, 0.95). */
  cutAt?: number;
}

export interface RecordedRequest {
  method: string;
  /** The decoded path, `/<bucket>/<key>`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The request body (empty when the proxy was started with `keepBodies: false`). */
  body: Buffer;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, to use as the S3 endpoint with path-style addressing. */
  endpoint: string;
  /** Every request received, in order, with its headers and body. */
  readonly requests: RecordedRequest[];
  /**
   * What was injected, by kind: the S3 error code of an error response, `reset`, `hang`, `reset-mid-body`,
   * `truncate`, `delay`, and `reset-after-upstream` (a cut drawn for a response without a body: the
   * upstream did the work, and the client never hears of it).
   */
  readonly injected: Map<string, number>;
  /** The random mode's draws, one per request it considered, in order of arrival. */
  readonly draws: Draw[];
  /** Applies `fault` to the next `times` requests (default 1; Infinity for all) that `when` accepts. */
  fail(fault: Fault, options?: { times?: number; when?: (request: RecordedRequest) => boolean }): void;
  /** Faults every request at random with the given rates (rules from `fail` go first); undefined stops it. */
  random(options: RandomFaults | undefined): void;
  /** Lets `handler` answer requests itself (for S3 features the upstream lacks); undefined forwards. */
  answer(handler: ((request: RecordedRequest) => Reply | undefined) | undefined): void;
  /** Forgets faults (rules and the random mode), their counts and draws, the handler and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

interface Rule {
  fault: Fault;
  remaining: number;
  when: (request: RecordedRequest) => boolean;
}

interface RandomMode {
  options: RandomFaults;
  random: Random;
}

/** A cut of the response: how much of the body goes out, and how the connection ends. */
interface Cut {
  kind: 'reset-mid-body' | 'truncate';
  share: number;
}

const ERROR_OF: Partial<Record<RandomFaultKind, { status: number; code: string }>> = {
  InternalError: { status: 500, code: 'InternalError' },
  ServiceUnavailable: { status: 503, code: 'ServiceUnavailable' },
  SlowDown: { status: 503, code: 'SlowDown' },
};

/**
 * A loopback HTTP proxy in front of `upstream` (an `http://host:port` URL) that records and breaks requests.
 * `keepBodies: false` records requests without their bodies (long fault runs move many MiB of packs).
 */
export async function startFaultProxy(
  upstream: string,
  settings: { keepBodies?: boolean } = {},
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];
  const injected = new Map<string, number>();
  const draws: Draw[] = [];
  let rules: Rule[] = [];
  let randomMode: RandomMode | undefined;
  let handler: ((request: RecordedRequest) => Reply | undefined) | undefined;
  const count = (kind: string) => injected.set(kind, (injected.get(kind) ?? 0) + 1);

  /** The fault of a request: the first rule that takes it, else the random mode's draw, else none. */
  const faultFor = (recorded: RecordedRequest, position: number): { fault?: Fault; cutAt?: number } => {
    const rule = rules.find((candidate) => candidate.remaining > 0 && candidate.when(recorded));
    if (rule) {
      rule.remaining -= 1;
      return { fault: rule.fault };
    }
    if (!randomMode || !(randomMode.options.when?.(recorded) ?? true)) return {};
    const draw = drawFault(randomMode, recorded, position);
    draws.push(draw);
    if (draw.kind === 'none') return {};
    if (draw.kind === 'delay') return { fault: { delayMs: draw.delayMs! } };
    if (draw.kind === 'reset' || draw.kind === 'reset-mid-body' || draw.kind === 'truncate') {
      return { fault: draw.kind, cutAt: draw.cutAt };
    }
    return { fault: ERROR_OF[draw.kind] };
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const body = Buffer.concat(chunks);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: req.headers,
      body: settings.keepBodies === false ? Buffer.alloc(0) : body,
    };
    requests.push(recorded);
    const { fault, cutAt } = faultFor(recorded, requests.length - 1);

    let cut: Cut | undefined;
    if (fault === 'hang') {
      count('hang');
      return;
    }
    if (fault === 'reset') {
      count('reset');
      req.socket.destroy();
      return;
    }
    if (fault === 'reset-mid-body' || fault === 'truncate') {
      cut = { kind: fault, share: cutAt ?? 0.5 };
    } else if (fault !== undefined && 'status' in fault) {
      const code = fault.code ?? 'ServiceUnavailable';
      count(code);
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test proxy</Message></Error>`;
      res.writeHead(fault.status, { 'content-type': 'application/xml' });
      res.end(recorded.method === 'HEAD' ? undefined : xml);
      return;
    } else if (fault !== undefined) {
      count('delay');
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    }

    const reply = handler?.(recorded);
    if (reply) {
      res.writeHead(reply.status, { 'content-type': 'application/xml', ...reply.headers });
      res.end(reply.body);
      return;
    }

    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers, // the Host header stays the proxy's, which is what the client signed
        agent,
      },
      (upstreamResponse) => {
        if (!cut) {
          res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(res);
          return;
        }
        const applied = cut;
        const parts: Buffer[] = [];
        upstreamResponse.on('data', (part: Buffer) => parts.push(part));
        upstreamResponse.on('end', () => {
          const whole = Buffer.concat(parts);
          if (whole.length === 0) {
            count('reset-after-upstream');
            req.socket.destroy();
            return;
          }
          count(applied.kind);
          res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          const sent = Math.min(whole.length - 1, Math.floor(whole.length * applied.share));
          res.write(whole.subarray(0, sent), () => cutConnection(req.socket, applied.kind));
        });
      },
    );
    forward.on('error', () => req.socket.destroy());
    forward.end(body);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    injected,
    draws,
    fail(fault, options = {}) {
      rules.push({ fault, remaining: options.times ?? 1, when: options.when ?? (() => true) });
    },
    random(options) {
      if (options) checkRates(options.rates);
      randomMode = options && { options, random: new Random(options.seed) };
    },
    answer(next) {
      handler = next;
    },
    reset() {
      rules = [];
      randomMode = undefined;
      handler = undefined;
      requests.length = 0;
      draws.length = 0;
      injected.clear();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

/**
 * One request's draw. Every request takes the same three numbers from the stream (kind, delay, cut), so the
 * n-th request's draw depends on the seed and n alone.
 */
function drawFault(mode: RandomMode, request: RecordedRequest, position: number): Draw {
  const roll = mode.random.float();
  const [low, high] = mode.options.delayMs ?? [50, 500];
  const delayMs = mode.random.between(low, high);
  const cutAt = 0.05 + 0.9 * mode.random.float();
  let kind: Draw['kind'] = 'none';
  let total = 0;
  for (const candidate of RANDOM_FAULT_KINDS) {
    total += mode.options.rates[candidate] ?? 0;
    if (roll < total) {
      kind = candidate;
      break;
    }
  }
  const draw: Draw = { request: position, method: request.method, path: request.path, kind };
  if (kind === 'delay') draw.delayMs = delayMs;
  if (kind === 'reset-mid-body' || kind === 'truncate') draw.cutAt = cutAt;
  return draw;
}

function checkRates(rates: RandomFaults['rates']): void {
  const values = Object.values(rates);
  if (values.some((rate) => !(rate >= 0)) || values.reduce((sum, rate) => sum + rate, 0) > 1) {
    throw new RangeError(`fault rates must be >= 0 and add up to at most 1: ${JSON.stringify(rates)}`);
  }
}

/**
 * Ends a connection after part of a response went out: a reset (RST, what a crashed peer or middlebox
 * does), or a clean close (FIN) that leaves the body shorter than its Content-Length. The short pause lets
 * the partial body reach the client first: a reset discards whatever is still unsent.
 */
function cutConnection(socket: Socket, kind: Cut['kind']): void {
  setTimeout(() => {
    if (kind === 'truncate') socket.end();
    else socket.resetAndDestroy();
  }, 20);
}
