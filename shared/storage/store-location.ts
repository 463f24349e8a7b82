import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { PermanentError } from "../errors/index.js";

/** Where S3 is and how to address it: the S3_* settings every store shares. */
export interface S3Settings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
}

/** `s3://bucket/prefix` as a bucket and a key prefix ("" or ending in "/"), and the URL written canonically. */
export function parseS3Url(url: string): { bucket: string; prefix: string; url: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new PermanentError("config_invalid", `bad S3 URL ${url} (expected s3://bucket or s3://bucket/prefix)`);
  const bucket = match[1] as string;
  const prefix = (match[2] as string).replace(/\/+$/, "");
  return { bucket, prefix: prefix ? `${prefix}/` : "", url: `s3://${bucket}${prefix ? `/${prefix}` : ""}` };
}

/**
 * A key (or, with `folder`, a folder prefix: "" for the root or ending in "/") must stay inside
 * its store: relative, with no empty, `.` or `..` segments. Returns it unchanged.
 */
export function checkKey(key: string, { folder = false }: { folder?: boolean } = {}): string {
  if (folder && key === "") return key;
  const body = folder ? key.replace(/\/$/, "") : key;
  const ok = body !== "" && (!folder || key.endsWith("/")) && !key.startsWith("/") && body.split("/").every((p) => p !== "" && p !== "." && p !== "..");
  if (!ok) {
    const what = folder ? "folder prefix (relative, ending in '/')" : "relative path";
    throw new PermanentError("object_key_invalid", `object key ${JSON.stringify(key)} is not a ${what} inside the store`);
  }
  return key;
}

/**
 * An S3 client for `settings`, with what its store's access pattern adds (attempts, timeouts:
 * object-store.ts). Checksums only where S3 requires them: uploads travel over TLS and would
 * otherwise each compute one, and photo GETs bypass the client's middleware (s3-get.ts); a
 * damaged photo fails to decode.
 */
export function createS3Client(settings: S3Settings, options: Pick<S3ClientConfig, "maxAttempts" | "requestHandler">): S3Client {
  return new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...options,
  });
}
