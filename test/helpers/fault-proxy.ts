import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does to a request instead of forwarding it. */
export type Fault =
  | { status: number; code?: string } // an S3-style XML error response
  | 'reset' // the connection is destroyed without a response
  | 'hang'; // the request is never answered

export interface RecordedRequest {
  method: string;
  /** The decoded path, `/<bucket>/<key>`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
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
  /** Applies `fault` to the next `times` requests (default 1; Infinity for all) that `when` accepts. */
  fail(fault: Fault, options?: { times?: number; when?: (request: RecordedRequest) => boolean }): void;
  /** Lets `handler` answer requests itself (for S3 features the upstream lacks); undefined forwards. */
  answer(handler: ((request: RecordedRequest) => Reply | undefined) | undefined): void;
  /** Forgets faults, handler and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

interface Rule {
  fault: Fault;
  remaining: number;
  when: (request: RecordedRequest) => boolean;
}

/** A loopback HTTP proxy in front of `upstream` (an `http://host:port` URL) that records and breaks requests. */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];
  let rules: Rule[] = [];
  let handler: ((request: RecordedRequest) => Reply | undefined) | undefined;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    requests.push(recorded);

    const rule = rules.find((candidate) => candidate.remaining > 0 && candidate.when(recorded));
    if (rule) {
      rule.remaining -= 1;
      if (rule.fault === 'hang') return;
      if (rule.fault === 'reset') {
        req.socket.destroy();
        return;
      }
      const code = rule.fault.code ?? 'ServiceUnavailable';
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test proxy</Message></Error>`;
      res.writeHead(rule.fault.status, { 'content-type': 'application/xml' });
      res.end(recorded.method === 'HEAD' ? undefined : body);
      return;
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
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    forward.end(recorded.body);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    fail(fault, options = {}) {
      rules.push({ fault, remaining: options.times ?? 1, when: options.when ?? (() => true) });
    },
    answer(next) {
      handler = next;
    },
    reset() {
      rules = [];
      handler = undefined;
      requests.length = 0;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
