import type { ProductDescription } from "../../models/runtime/describer.js";
import type { ProductVersion } from "../../shared/ledger/product-history.js";
import { MAX_PHOTOS, MAX_TEXT } from "../limits.js";
import { Confidence, CsrfField, may, Photos, runUrl, When, type PageContext } from "./layout.js";
import { reasonLabel } from "./review-pages.js";

/** The describe page: upload 1–3 photos (and the artisan's text) and see what the model makes of them. */
export function DescribePage(props: { ctx: PageContext; accept: string; result?: ProductDescription }) {
  return (
    <>
      <p>What an artisan gets while listing a product: the same model and batches as <code>POST /v1/describe</code>.</p>
      <form
        method="post"
        action={`/console/describe?_csrf=${encodeURIComponent(props.ctx.csrf)}`}
        enctype="multipart/form-data"
        hx-post="/console/describe"
        hx-encoding="multipart/form-data"
        hx-target="#result"
        hx-indicator="#describing"
      >
        <p>
          <label for="d-photos">Photos (1 to {MAX_PHOTOS}, the main one first)</label>
          <input id="d-photos" name="photos" type="file" accept={props.accept} multiple required />
        </p>
        <p>
          <label for="d-text">The artisan's text (optional: a result that contradicts it goes to review)</label>
          <textarea id="d-text" name="text" rows={3} maxLength={MAX_TEXT}></textarea>
        </p>
        <button type="submit">Describe</button> <span id="describing" class="indicator">Describing…</span>
      </form>
      <section id="result" aria-live="polite">
        {props.result && <DescribeResult result={props.result} />}
      </section>
    </>
  );
}

/** A description with its attributes, confidences, review decision and model. */
export function DescribeResult(props: { result: ProductDescription }) {
  const r = props.result;
  return (
    <div class="result">
      <h2>Description</h2>
      <p class="text" id="described-text">
        {r.description}
      </p>
      <table>
        <caption>Attributes</caption>
        <thead>
          <tr>
            <th scope="col">Attribute</th>
            <th scope="col">Label</th>
            <th scope="col">Confidence</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(r.attributes).map(([name, a]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>
                {a.label}
                {a.stated ? " (as the artisan states)" : ""}
              </td>
              <td>
                <Confidence value={a.confidence} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        {r.review.decision === "apply" ? (
          <span class="ok">Could be published as is.</span>
        ) : (
          <span class="warn">Needs a person: {r.review.reasons.map(reasonLabel).join(", ")}.</span>
        )}{" "}
        Model {r.model.name} {r.model.version}; {r.photosUsed} photo{r.photosUsed === 1 ? "" : "s"} used.
      </p>
    </div>
  );
}

/** A product's description history, newest first, with each review decision; a reviewer may roll the current one back. */
export function ProductPage(props: { productId: string; photoCount: number; versions: ProductVersion[]; ctx: PageContext; notice?: string }) {
  const { ctx } = props;
  const current = props.versions.find((v) => v.current);
  return (
    <>
      {props.notice && <p class="notice">{props.notice}</p>}
      <Photos productId={props.productId} count={props.photoCount} size="large" />
      {current && may(ctx, "reviewer") && (
        <form method="post" action={`/console/products/${encodeURIComponent(props.productId)}/rollback`}>
          <CsrfField csrf={ctx.csrf} />
          <button type="submit" class="danger">
            Roll back version {current.versionId} (restore the text it replaced)
          </button>
        </form>
      )}
      {props.versions.length === 0 ? (
        <p>Facet has not described this product yet.</p>
      ) : (
        <table class="history">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Run and model</th>
              <th scope="col">Status</th>
              <th scope="col">Text</th>
              <th scope="col">Decision</th>
            </tr>
          </thead>
          <tbody>
            {props.versions.map((v) => (
              <tr key={v.versionId} class={v.current ? "current" : undefined}>
                <th scope="row">
                  {v.versionId}
                  {v.current ? " (current)" : ""}
                  <div class="muted">
                    <When at={v.createdAt} />
                  </div>
                </th>
                <td>
                  <a href={runUrl(v.runId)}>{v.runId}</a>
                  <div class="muted">model {v.modelVersion}</div>
                </td>
                <td>
                  {v.status}
                  {v.reasons.length > 0 && <div class="muted">{v.reasons.map(reasonLabel).join(", ")}</div>}
                </td>
                <td class="text">{v.description}</td>
                <td>
                  {v.decision ? (
                    <>
                      {v.decision.kind} by {v.decision.by}, <When at={v.decision.at} />
                      {v.decision.text !== null && v.decision.text !== v.description && <p class="text">Applied: {v.decision.text}</p>}
                      {Object.keys(v.decision.attributes).length > 0 && (
                        <p class="muted">
                          Corrected:{" "}
                          {Object.entries(v.decision.attributes)
                            .map(([k, label]) => `${k} → ${String(label)}`)
                            .join(", ")}
                        </p>
                      )}
                    </>
                  ) : (
                    <span class="muted">–</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Signing in: an API token (facet token create) opens a session. */
export function SignInPage(props: { csrf: string; next: string; error?: string }) {
  return (
    <>
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <form method="post" action="/console/sign-in" class="sign-in">
        <CsrfField csrf={props.csrf} />
        <input type="hidden" name="next" value={props.next} />
        <p>
          <label for="token">API token</label>
          <input id="token" name="token" type="password" autoComplete="off" required maxLength={200} />
        </p>
        <p class="muted">
          An operator makes one with <code>facet token create --role reviewer --name YOUR-NAME</code>.
        </p>
        <button type="submit">Sign in</button>
      </form>
    </>
  );
}

/** An error on a page load: what went wrong, and a way back. */
export function ErrorPage(props: { status: number; message: string }) {
  return (
    <>
      <p class="error">
        {props.status}: {props.message}
      </p>
      <p>
        <a href="/console/runs">Back to the runs</a>
      </p>
    </>
  );
}
