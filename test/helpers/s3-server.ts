import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
// s3rver ships no types: this is the part of its API the tests use.
// @ts-expect-error no declaration file
import S3rver from "s3rver";
import { freePort } from "./redis-server.js";
import { waitFor } from "./redis.js";

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** A real S3-compatible HTTP server on a free loopback port, with its own data folder. */
export interface TestS3 {
  endpoint: string;
  client: S3Client;
  settings: { endpoint: string; region: string; forcePathStyle: boolean };
  /** The server's process id with `separateProcess` (benchmarks read its CPU time). */
  pid: number | undefined;
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: Uint8Array | string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Start the server in this process, or (`separateProcess`) as a child process, so that a
 * benchmark doesn't charge the server's own work to the process it measures.
 */
export async function startS3(options: { separateProcess?: boolean } = {}): Promise<TestS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), "facet-s3-"));
  let port: number;
  let pid: number | undefined;
  let stop: () => Promise<void>;
  if (options.separateProcess) {
    port = await freePort();
    const bin = fileURLToPath(new URL("../../node_modules/s3rver/bin/s3rver.js", import.meta.url));
    const child = spawn(process.execPath, [bin, "-d", directory, "-a", "127.0.0.1", "-p", String(port), "--silent"], { stdio: "ignore" });
    pid = child.pid;
    stop = async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    };
    await waitFor("s3rver listening", () => new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => { socket.end(); resolve(true); });
      socket.on("error", () => resolve(false));
    }));
  } else {
    const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory }) as S3rverInstance;
    port = (await server.run()).port;
    stop = () => server.close();
  }
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver accepts its default credentials (S3RVER / S3RVER).
  process.env.AWS_ACCESS_KEY_ID ??= "S3RVER";
  process.env.AWS_SECRET_ACCESS_KEY ??= "S3RVER";
  const settings = { endpoint, region: "us-east-1", forcePathStyle: true };
  const client = new S3Client({ ...settings, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  return {
    endpoint,
    client,
    settings,
    pid,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async close() {
      client.destroy();
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
