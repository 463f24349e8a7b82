import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ProductDescription } from "../../models/runtime/describer.js";
import { ACCEPTED_FORMATS } from "../../models/runtime/preprocess.js";
import { ApiError } from "../api-error.js";
import type { ServerDeps } from "../app.js";
import { MAX_PHOTOS, MAX_TEXT } from "../limits.js";


const attribute = {
  type: "object",
  properties: { label: { type: "string" }, confidence: { type: "number" }, stated: { type: "boolean" } },
} as const;

const describeResponse = {
  type: "object",
  properties: {
    description: { type: "string" },
    attributes: { type: "object", additionalProperties: attribute },
    review: {
      type: "object",
      description: "apply: the text may be published as is; needs_review: a person should look first, for these reasons",
      properties: {
        decision: { type: "string", enum: ["apply", "needs_review"] },
        reasons: { type: "array", items: { type: "string" } },
        contradictions: { type: "array", items: { type: "object", properties: { attribute: { type: "string" }, predicted: { type: "string" }, seller: { type: "array", items: { type: "string" } } } } },
      },
    },
    familiarity: { type: "number", nullable: true },
    model: { type: "object", properties: { name: { type: "string" }, version: { type: "string" } } },
    photos_used: { type: "integer" },
  },
} as const;

/** What the API answers for a described product. */
function describeJson(d: ProductDescription) {
  return {
    description: d.description,
    attributes: Object.fromEntries(Object.entries(d.attributes).map(([name, a]) => [name, { label: a.label, confidence: a.confidence, stated: a.stated }])),
    review: d.review,
    familiarity: d.familiarity,
    model: d.model,
    photos_used: d.photosUsed,
  };
}

/** The request's photos (field `photos`, 1–3 files) and text (field `text`), read within the multipart limits. */
export async function readUpload(request: FastifyRequest): Promise<{ photos: Buffer[]; text: string | undefined }> {
  if (!request.isMultipart()) throw new ApiError(415, "invalid", "send the photos as multipart/form-data (field photos, 1–3 files; optional field text)", "content-type", "multipart");
  const photos: Buffer[] = [];
  let text: string | undefined;
  for await (const part of request.parts()) {
    if (part.type === "file") {
      if (part.fieldname !== "photos") throw new ApiError(400, "invalid", `unexpected file field '${part.fieldname}': photos go in the field 'photos'`, part.fieldname, "unknown_field");
      photos.push(await part.toBuffer());
    } else if (part.fieldname === "text") {
      text = String(part.value);
      if (text.length > MAX_TEXT) throw new ApiError(413, "invalid", `text is ${text.length} characters; at most ${MAX_TEXT}`, "text", "max_length");
    } else {
      throw new ApiError(400, "invalid", `unexpected field '${part.fieldname}' (fields: photos, text)`, part.fieldname, "unknown_field");
    }
  }
  if (photos.length === 0) throw new ApiError(400, "invalid", `no photo: send 1 to ${MAX_PHOTOS} files in the field 'photos'`, "photos", "required");
  return { photos, text: text?.trim() === "" ? undefined : text };
}

/** POST /v1/describe: a description of one product from its photos, for an artisan listing it. */
export function describeRoutes(deps: ServerDeps) {
  return async (app: FastifyInstance) => {
    app.post(
      "/describe",
      {
        config: { role: "reviewer" },
        schema: {
          summary: "Describe one product from 1–3 photos",
          description: `multipart/form-data: field \`photos\` (1–${MAX_PHOTOS} files, primary first; formats: ${[...ACCEPTED_FORMATS].join(", ")}; SVG and PDF are refused) and optional \`text\` (what the artisan wrote: a result that contradicts it needs review). Concurrent requests share the model's batches.`,
          consumes: ["multipart/form-data"],
          response: { 200: describeResponse },
        },
      },
      async (request) => {
        const upload = await readUpload(request);
        const described = await deps.describer.describe({ id: `upload-${randomUUID()}`, photos: upload.photos, ...(upload.text !== undefined ? { text: upload.text } : {}) });
        return describeJson(described);
      },
    );
  };
}
