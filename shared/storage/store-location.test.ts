import { describe, expect, it } from "vitest";
import { PermanentError } from "../errors/index.js";
import { checkKey, parseS3Url } from "./store-location.js";

describe("parseS3Url", () => {
  it("splits a bucket from its prefix and writes the URL one way", () => {
    expect(parseS3Url("s3://shop")).toEqual({ bucket: "shop", prefix: "", url: "s3://shop" });
    expect(parseS3Url("s3://shop/")).toEqual({ bucket: "shop", prefix: "", url: "s3://shop" });
    expect(parseS3Url("s3://shop/photos/2026//")).toEqual({ bucket: "shop", prefix: "photos/2026/", url: "s3://shop/photos/2026" });
  });

  it("refuses anything else with config_invalid, naming the URL", () => {
    for (const url of ["s3://", "http://shop/photos", "shop/photos"]) {
      expect(() => parseS3Url(url)).toThrow(PermanentError);
      expect(() => parseS3Url(url)).toThrow(`bad S3 URL ${url}`);
    }
  });
});

describe("checkKey", () => {
  it("passes keys and folder prefixes inside the store", () => {
    expect(checkKey("p1/front.jpg")).toBe("p1/front.jpg");
    expect(checkKey("", { folder: true })).toBe("");
    expect(checkKey("demo/1.0.0/", { folder: true })).toBe("demo/1.0.0/");
  });

  it("refuses keys that leave the store or name nothing, as object_key_invalid", () => {
    for (const key of ["", "/etc/passwd", "../x.jpg", "a/../../x", "a//b.jpg", "./a.jpg", "a/"]) {
      expect(() => checkKey(key), key).toThrow(expect.objectContaining({ code: "object_key_invalid" }));
    }
    for (const prefix of ["demo", "/demo/", "../", "a/./"]) {
      expect(() => checkKey(prefix, { folder: true }), prefix).toThrow(/is not a folder prefix \(relative, ending in '\/'\) inside the store/);
    }
  });
});
