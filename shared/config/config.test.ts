import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors/index.js";
import { loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("has working defaults", () => {
    const c = loadConfig({});
    expect(c.BATCH_SIZE).toBe(32);
    expect(c.WORKER_CONCURRENCY).toBe(96);
    expect(c.IMAGE_STORE).toMatch(/^file:\/\/\//);
  });

  it.each([
    [{ BATCH_SIZE: "abc" }, /^BATCH_SIZE="abc": /],
    [{ BATCH_SIZE: "0" }, /^BATCH_SIZE="0": /],
    [{ DATABASE_URL: "mysql://db/x" }, /^DATABASE_URL="mysql:\/\/db\/x": must be a postgres:\/\/ URL$/],
    [{ IMAGE_STORE: "/srv/photos" }, /^IMAGE_STORE="\/srv\/photos": must be s3:\/\/bucket/],
    [{ BATCH_SIZE: "64", WORKER_CONCURRENCY: "8" }, /^WORKER_CONCURRENCY="8": must be at least BATCH_SIZE \(64\)/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL="loud": /],
    [{ CATALOGUE_RELATION: "x; drop table y" }, /^CATALOGUE_RELATION=/],
  ])("refuses %j with one line naming the key", (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });
});
