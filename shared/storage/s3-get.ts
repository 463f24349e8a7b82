import type { IncomingMessage } from "node:http";
import type { S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { PermanentError } from "../errors/index.js";

/**
 * An S3 GET answered with something other than 200: its HTTP status and S3's error code
 * (`NoSuchKey`, `SlowDown`…, read from the XML body; the status text when there is none).
 */
export class S3GetError extends Error {
  override readonly name = "S3GetError";
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`${code} (${status})`);
  }
}

/** The most of an error body read for its code: S3's error documents are a few hundred bytes. */
const ERROR_BODY_LIMIT = 16_384;

/**
 * GETs of one bucket's objects made with the S3 client's own parts (its credentials chain,
 * endpoint rules, SigV4 signer settings, clock offset and HTTP handler) but not its
 * per-request middleware stack. The worker reads about two photos per product, and on
 * `npm run bench:pipeline` the stack's serialisation, endpoint, retry, checksum and logging
 * middleware cost about 2 ms of CPU per photo (most of it the garbage it leaves), four times
 * the signed request itself. Everything else (PUTs, listings, model files) goes through the
 * client as usual.
 *
 * Resolves the bytes; rejects with S3GetError for an S3 answer, or the HTTP handler's own
 * error (a reset, a refused connection, `AbortError` when `signal` fires).
 */
export function createS3Getter(client: S3Client, bucket: string): (key: string, signal?: AbortSignal) => Promise<Uint8Array> {
  const config = client.config;
  // The bucket's endpoint and signing scheme do not change per key: resolved once, on first use.
  let resolved: Promise<{ url: URL; basePath: string; signer: SignatureV4 }> | undefined;
  const resolve = async () => {
    const custom = config.isCustomEndpoint && config.endpoint ? await config.endpoint() : undefined;
    const region = await config.region();
    const endpoint = config.endpointProvider({
      Bucket: bucket,
      Region: region,
      UseFIPS: await config.useFipsEndpoint(),
      UseDualStack: await config.useDualstackEndpoint(),
      ForcePathStyle: config.forcePathStyle,
      Accelerate: config.useAccelerateEndpoint,
      ...(custom ? { Endpoint: `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ""}${custom.path}` } : {}),
    });
    const schemes = (endpoint.properties?.authSchemes as Array<{ name: string; signingName?: string; signingRegion?: string }> | undefined) ?? [{ name: "sigv4" }];
    const scheme = schemes.find((s) => s.name === "sigv4");
    if (!scheme) {
      // Multi-region access points (SigV4A) and S3 Express directory buckets sign otherwise.
      throw new PermanentError("config_invalid", `bucket ${bucket}: its endpoint signs with ${schemes.map((s) => s.name).join(" or ")}, which photo reads do not support (plain SigV4 only)`);
    }
    const signer = new SignatureV4({
      credentials: config.credentials,
      region: scheme.signingRegion ?? region,
      service: scheme.signingName ?? "s3",
      sha256: config.sha256,
      // S3 signs the path as sent (no second encoding) and needs no payload hash for a GET.
      uriEscapePath: false,
      applyChecksum: false,
    });
    return { url: endpoint.url, basePath: endpoint.url.pathname.replace(/\/$/, ""), signer };
  };

  return async (key, signal) => {
    const { url, basePath, signer } = await (resolved ??= resolve().catch((error: unknown) => {
      resolved = undefined; // a failed resolution (credentials, region) is tried again next time
      throw error;
    }));
    const request = await signer.sign(
      {
        method: "GET",
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: `${basePath}/${key.split("/").map(encodeKeySegment).join("/")}`,
        query: {},
        headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      { signingDate: new Date(Date.now() + (config.systemClockOffset ?? 0)) },
    );
    const { response } = await config.requestHandler.handle(request as Parameters<typeof config.requestHandler.handle>[0], signal ? { abortSignal: signal } : {});
    const body = response.body as IncomingMessage;
    if (response.statusCode === 200) return readAll(body);
    const text = Buffer.from(await readAll(body, ERROR_BODY_LIMIT)).toString("utf8");
    throw new S3GetError(response.statusCode, /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? (response.reason || `HTTP ${response.statusCode}`));
  };
}

/** A key's path segment as S3 expects it: RFC 3986 unreserved characters kept, the rest percent-encoded. */
function encodeKeySegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The body's bytes; once `limit` bytes are kept, further chunks are read and discarded. */
async function readAll(body: IncomingMessage, limit = Infinity): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk);
    size += chunk.byteLength;
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
