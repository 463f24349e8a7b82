import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors/index.js";
import { checkVersionName, compareVersions, isPreRelease, isVersionName } from "./model-version.js";

describe("compareVersions", () => {
  it("orders numeric parts numerically, releases above their pre-releases, shorter cores lower", () => {
    const shuffled = ["1.10.0", "2.0.0", "1.9.0", "2.0.0-rc.10", "1.0", "2.0.0-rc.2", "1.0.0", "2.0.0-beta", "0.9.12", "10.0.0", "1.0.0-rc.1"];
    expect([...shuffled].sort(compareVersions)).toEqual([
      "0.9.12",
      "1.0",
      "1.0.0-rc.1",
      "1.0.0",
      "1.9.0",
      "1.10.0",
      "2.0.0-beta",
      "2.0.0-rc.2",
      "2.0.0-rc.10",
      "2.0.0",
      "10.0.0",
    ]);
  });

  it("is a total order: text parts above numbers, leading zeros and build metadata only break ties", () => {
    expect(compareVersions("1.x", "1.99")).toBeGreaterThan(0);
    expect(compareVersions("1.010", "1.9")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0+b", "1.0.0+a")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0+build", "1.0.0")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0+build", "1.0.1")).toBeLessThan(0);
    expect(compareVersions("99999999999999999999.0", "99999999999999999998.0")).toBeGreaterThan(0);
    expect(compareVersions("2026.01.05", "2026.1.4")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0", "1.0.0")).toBe(0);
  });
});

describe("version names", () => {
  it("accepts the manifest's characters, refuses paths, hidden names and 'latest'", () => {
    expect(isPreRelease("2.0.0-rc.1")).toBe(true);
    expect(isPreRelease("2.0.0+build-5")).toBe(false);
    for (const ok of ["1.0.0", "v2", "2026.01.05", "1.0.0-rc.1+build_7"]) expect(isVersionName(ok)).toBe(true);
    for (const bad of ["", ".", "..", ".hidden", "../1.0.0", "1.0/x", "latest", "1 0", "ü"]) expect(isVersionName(bad)).toBe(false);
    expect(() => checkVersionName("../etc")).toThrow(ConfigError);
    expect(() => checkVersionName("../etc")).toThrow(/model version "\.\.\/etc" is not a valid version name/);
  });
});
