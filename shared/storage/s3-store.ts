import { Readable } from "node:stream";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { TransientError } from "../errors/index.js";
import { classified } from "./classified-stream.js";
import { classifyS3Error } from "./classify-s3-error.js";
import type { FolderListing, ReadOptions, WritableObjectStore } from "./object-store.js";
import { createS3Getter } from "./s3-get.js";
import { checkKey, parseS3Url } from "./store-location.js";

export interface S3StoreOptions {
  /**
   * `close()` destroys the client. Default false: a client passed in belongs to whoever
   * created it; `openObjectStore` creates one per store and sets this.
   */
  ownsClient?: boolean;
  /**
   * `get` signs and sends its GET itself (s3-get.ts) instead of going through the client's
   * middleware stack. Default false. For photos, where the stack costs more CPU than the
   * request; it also skips the client's retries, so only for a one-attempt client.
   * `list`, `stream` and `put` always go through the client.
   */
  leanGet?: boolean;
}

/** An S3 prefix (`s3://bucket/prefix`) as an object store: a key is a path under the prefix. */
export class S3Store implements WritableObjectStore {
  readonly url: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly leanGet: ((key: string, signal?: AbortSignal) => Promise<Uint8Array>) | undefined;

  constructor(url: string, client: S3Client, options: S3StoreOptions = {}) {
    const where = parseS3Url(url);
    this.url = where.url;
    this.client = client;
    this.bucket = where.bucket;
    this.prefix = where.prefix;
    this.ownsClient = options.ownsClient ?? false;
    this.leanGet = options.leanGet ? createS3Getter(client, this.bucket) : undefined;
  }

  async get(key: string, options: ReadOptions = {}): Promise<Uint8Array> {
    if (!this.leanGet) return concat(await this.stream(key, options));
    const objectKey = `${this.prefix}${checkKey(key)}`;
    try {
      return await this.leanGet(objectKey, options.signal);
    } catch (cause) {
      throw classifyS3Error(cause, `s3://${this.bucket}/${objectKey}`);
    }
  }

  async list(prefix: string, options: ReadOptions = {}): Promise<FolderListing> {
    const full = `${this.prefix}${checkKey(prefix, { folder: true })}`;
    const listing: FolderListing = { folders: [], files: [] };
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, Delimiter: "/", ...(token ? { ContinuationToken: token } : {}) }),
          options.signal ? { abortSignal: options.signal } : {},
        );
        for (const p of out.CommonPrefixes ?? []) if (p.Prefix) listing.folders.push(p.Prefix.slice(full.length).replace(/\/$/, ""));
        for (const o of out.Contents ?? []) if (o.Key && o.Key.length > full.length) listing.files.push(o.Key.slice(full.length));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (cause) {
      throw classifyS3Error(cause, `s3://${this.bucket}/${full}`);
    }
    return listing;
  }

  async stream(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const objectKey = `${this.prefix}${checkKey(key)}`;
    const where = `s3://${this.bucket}/${objectKey}`;
    let body: unknown;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      body = out.Body;
    } catch (cause) {
      throw classifyS3Error(cause, where);
    }
    // In Node the SDK's body is an http.IncomingMessage; anything else means a misconfigured client.
    if (!(body instanceof Readable)) throw new TransientError("object_read_failed", `${where}: response body is not a Node stream`);
    return classified(body, (cause) => classifyS3Error(cause, where));
  }

  async put(key: string, bytes: Uint8Array, contentType?: string): Promise<void> {
    const objectKey = `${this.prefix}${checkKey(key)}`;
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: bytes, ...(contentType ? { ContentType: contentType } : {}) }),
      );
    } catch (cause) {
      throw classifyS3Error(cause, `s3://${this.bucket}/${objectKey}`);
    }
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }
}

async function concat(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const all: Uint8Array[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return Buffer.concat(all);
}
