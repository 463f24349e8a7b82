import http from "node:http";

/** Forward a request unchanged (Host header included, so S3 signatures still verify). */
function forward(upstream: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
  const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  up.on("error", () => res.destroy());
  req.pipe(up);
}

/**
 * An HTTP proxy in front of a test server that fails chosen requests: the first `failures`
 * GETs whose path contains `match` get `status` with an S3-style error body; everything
 * else is forwarded unchanged (Host header included, so S3 signatures still verify).
 *
 * With `gate`, the GETs whose path contains it (and that are not failed) are forwarded only
 * as far as a budget allows: it starts at 0, `allow(n)` raises it, and requests beyond it wait
 * in the proxy (`held()` counts them) until it is raised. A test paces a run with it.
 */
export async function startFaultProxy(target: string, rule: { match: string; failures: number; status?: number; code?: string; gate?: string }) {
  const upstream = new URL(target);
  let injected = 0;
  let budget = 0;
  const waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url?.includes(rule.match) && injected < rule.failures) {
      injected++;
      res.writeHead(rule.status ?? 503, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${rule.code ?? "SlowDown"}</Code><Message>injected failure</Message></Error>`);
      return;
    }
    if (rule.gate === undefined || req.method !== "GET" || !req.url?.includes(rule.gate)) return forward(upstream, req, res);
    waiting.push(() => forward(upstream, req, res));
    release();
  });
  /** Forward waiting gated requests, oldest first, while the budget lasts. */
  function release(): void {
    while (budget > 0 && waiting.length > 0) {
      budget--;
      waiting.shift()?.();
    }
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected: () => injected,
    /** Gated requests waiting for budget. */
    held: () => waiting.length,
    /** Let `n` more gated requests through: waiting ones first. */
    allow(n: number) {
      budget += n;
      release();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What the chaos proxy does to one request. */
export type ChaosFault = "503" | "500" | "reset" | "delay" | "stall";
const CHAOS_FAULTS: readonly ChaosFault[] = ["503", "500", "reset", "delay", "stall"];

/**
 * An HTTP proxy in front of a test S3 server that, while its fault rate is above 0, fails that
 * share of requests (picked by a seeded draw), with the faults in turn, so that every kind occurs
 * once five requests have failed: a 503 SlowDown, a 500 InternalError, a connection reset before any answer, a delay of up to `delayMs` before
 * forwarding, or a stall of `stallMs` (longer than the client's timeout) and then a reset.
 */
export async function startChaosProxy(target: string, options: { seed: number; delayMs: number; stallMs: number }) {
  const upstream = new URL(target);
  let rate = 0;
  const random = xorshift(options.seed);
  const injected: Record<ChaosFault, number> = { "503": 0, "500": 0, reset: 0, delay: 0, stall: 0 };
  let requests = 0;
  let failed = 0;
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer((req, res) => {
    requests++;
    if (rate === 0 || random() >= rate) return forward(upstream, req, res);
    const fault = CHAOS_FAULTS[failed++ % CHAOS_FAULTS.length] as ChaosFault;
    injected[fault]++;
    switch (fault) {
      case "503":
      case "500": {
        const code = fault === "503" ? "SlowDown" : "InternalError";
        res.writeHead(Number(fault), { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${fault}</Message></Error>`);
        return;
      }
      case "reset":
        req.socket.destroy();
        return;
      case "delay":
        setTimeout(() => forward(upstream, req, res), Math.floor(random() * options.delayMs));
        return;
      case "stall":
        setTimeout(() => req.socket.destroy(), options.stallMs);
        return;
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    /** Share of requests to fail from now on (0 turns faults off). */
    setFaultRate(share: number) {
      rate = share;
    },
    injected: () => ({ ...injected }),
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** xorshift32 in [0, 1): reproducible for a seed, good enough to pick faults and victims. */
export function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}
