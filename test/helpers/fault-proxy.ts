import http from "node:http";

/**
 * An HTTP proxy in front of a test server that fails chosen requests: the first `failures`
 * GETs whose path contains `match` get `status` with an S3-style error body; everything
 * else is forwarded unchanged (Host header included, so S3 signatures still verify).
 */
export async function startFaultProxy(target: string, rule: { match: string; failures: number; status?: number; code?: string }) {
  const upstream = new URL(target);
  let injected = 0;
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url?.includes(rule.match) && injected < rule.failures) {
      injected++;
      res.writeHead(rule.status ?? 503, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${rule.code ?? "SlowDown"}</Code><Message>injected failure</Message></Error>`);
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected: () => injected,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
