import type { ReviewReason } from "../../models/runtime/review-policy.js";
import type { ReviewFilter, ReviewItem } from "../../shared/ledger/review-decisions.js";
import { MAX_TEXT } from "../limits.js";
import { Confidence, CsrfField, may, Photos, productUrl, runUrl, type PageContext } from "./layout.js";

/** Each review reason (models/runtime/review-policy.ts), as a person reads it. */
export const REASON_LABELS: Record<ReviewReason, string> = {
  low_confidence: "Low confidence",
  unfamiliar_photo: "Unfamiliar photo",
  text_incomplete: "Text incomplete",
  contradicts_seller: "Contradicts the artisan",
};

/** The queue's filter, as the ledger takes it. */
export type QueueFilter = Omit<ReviewFilter, "limit" | "afterId" | "versionId">;

/** What a reason code reads as (the code itself for one this console does not name). */
export function reasonLabel(code: string): string {
  return (REASON_LABELS as Record<string, string>)[code] ?? code;
}

/** The labels each attribute may take (the served model's), offered while correcting one. */
export type Vocabulary = ReadonlyArray<{ name: string; labels: readonly string[] }>;

/** The review queue: filters, a bulk approve of what they match, and one card per version. */
export function ReviewPage(props: { items: ReviewItem[]; filter: QueueFilter; vocabulary: Vocabulary; lowBelow: number; ctx: PageContext; notice?: string; next?: number }) {
  const { ctx, filter } = props;
  const filtered = filter.runId !== undefined || filter.reason !== undefined || filter.maxConfidence !== undefined;
  return (
    <>
      {props.notice && <p class="notice">{props.notice}</p>}
      <form class="filters" method="get" action="/console/review" aria-label="Filter the queue">
        <label for="f-run">Run</label>
        <input id="f-run" name="run" value={filter.runId ?? ""} maxLength={200} />
        <label for="f-reason">Reason</label>
        <select id="f-reason" name="reason">
          <option value="">Any</option>
          {Object.entries(REASON_LABELS).map(([code, label]) => (
            <option key={code} value={code} selected={filter.reason === code}>
              {label}
            </option>
          ))}
        </select>
        <label for="f-conf">Confidence at most</label>
        <input id="f-conf" name="max_confidence" type="number" min={0} max={1} step={0.01} value={filter.maxConfidence === undefined ? "" : String(filter.maxConfidence)} />
        <button type="submit">Filter</button>
      </form>
      {may(ctx, "reviewer") && filtered && props.items.length > 0 && (
        <form method="post" action="/console/review/approve" class="bulk">
          <CsrfField csrf={ctx.csrf} />
          {filter.runId !== undefined && <input type="hidden" name="run" value={filter.runId} />}
          {filter.reason !== undefined && <input type="hidden" name="reason" value={filter.reason} />}
          {filter.maxConfidence !== undefined && <input type="hidden" name="max_confidence" value={String(filter.maxConfidence)} />}
          <button type="submit">Approve everything this filter matches</button>
        </form>
      )}
      <p class="keys" id="keys-help">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous product, <kbd>a</kbd> approve the text as shown, <kbd>e</kbd> edit the text, <kbd>r</kbd> reject,{" "}
        <kbd>Esc</kbd> leave the text box.
      </p>
      <Datalists vocabulary={props.vocabulary} />
      {props.items.length === 0 ? (
        <p>Nothing waits for review{filtered ? " with this filter" : ""}.</p>
      ) : (
        <div class="queue" aria-describedby="keys-help">
          {props.items.map((item) => (
            <ReviewCard key={item.versionId} item={item} ctx={ctx} lowBelow={props.lowBelow} />
          ))}
        </div>
      )}
      {props.next !== undefined && (
        <p>
          <a
            href={`/console/review?${new URLSearchParams({
              ...(filter.runId !== undefined ? { run: filter.runId } : {}),
              ...(filter.reason !== undefined ? { reason: filter.reason } : {}),
              ...(filter.maxConfidence !== undefined ? { max_confidence: String(filter.maxConfidence) } : {}),
              after: String(props.next),
            }).toString()}`}
          >
            Next products
          </a>
        </p>
      )}
    </>
  );
}

function Datalists(props: { vocabulary: Vocabulary }) {
  return (
    <>
      {props.vocabulary.map((a) => (
        <datalist key={a.name} id={`labels-${a.name}`}>
          {a.labels.map((l) => (
            <option key={l} value={l} />
          ))}
        </datalist>
      ))}
    </>
  );
}

/** One version waiting for a person: photos, the artisan's text, the generated text (editable) and attributes with confidences. */
export function ReviewCard(props: { item: ReviewItem; ctx: PageContext; lowBelow: number }) {
  const { item, ctx } = props;
  const id = `v-${item.versionId}`;
  const canDecide = may(ctx, "reviewer");
  return (
    <article class="card" id={id} data-version={String(item.versionId)} tabIndex={-1} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>
        <a href={productUrl(item.productId)}>{item.productId}</a>{" "}
        <small>
          {item.category ?? "no category"} · run <a href={runUrl(item.runId)}>{item.runId}</a>
        </small>
      </h2>
      <Photos productId={item.productId} count={item.photoKeys.length} size="large" />
      <p class="reasons">
        Needs a person because:{" "}
        {item.reasons.length === 0 ? "its confidence is below the review threshold" : item.reasons.map(reasonLabel).join(", ")} · lowest confidence of the attributes that gate publishing{" "}
        <Confidence value={item.minConfidence} low={props.lowBelow} />
      </p>
      <div class="texts">
        <section>
          <h3>The artisan's text</h3>
          <p class="text">{item.artisanText ?? <span class="muted">(none)</span>}</p>
        </section>
        <form
          method="post"
          action={`/console/review/${item.versionId}`}
          hx-post={`/console/review/${item.versionId}`}
          hx-target={`#${id}`}
          hx-swap="outerHTML"
        >
          <CsrfField csrf={ctx.csrf} />
          <label for={`${id}-text`}>
            <h3>Generated text (what is published on approve)</h3>
          </label>
          <textarea id={`${id}-text`} name="text" rows={4} maxLength={MAX_TEXT} required readOnly={!canDecide}>
            {item.description}
          </textarea>
          <fieldset class="attrs-edit">
            <legend>Attributes (correct a label to teach the next model)</legend>
            {Object.entries(item.attributes).map(([name, a]) => (
              <p key={name}>
                <label for={`${id}-attr-${name}`}>
                  {name} <Confidence value={a.confidence} low={props.lowBelow} />
                </label>
                <input id={`${id}-attr-${name}`} name={`attr.${name}`} value={a.label} list={`labels-${name}`} maxLength={100} readOnly={!canDecide} />
              </p>
            ))}
          </fieldset>
          <div class="decide">
            <button type="submit" name="decision" value="approve" data-key="a">
              Approve
            </button>
            <button type="submit" name="decision" value="reject" data-key="r" class="danger">
              Reject
            </button>
          </div>
        </form>
      </div>
    </article>
  );
}

/** What a decided card turns into: the decision, who took it, and the text the product shows now. */
export function DecidedCard(props: { versionId: number; productId: string; decision: "approve" | "edit" | "reject"; text: string | null; by: string }) {
  const verb = props.decision === "reject" ? "Rejected" : props.decision === "edit" ? "Edited and approved" : "Approved";
  return (
    <article class="card decided" id={`v-${props.versionId}`} data-decided="true" tabIndex={-1} aria-labelledby={`v-${props.versionId}-title`}>
      <h2 id={`v-${props.versionId}-title`}>
        <a href={productUrl(props.productId)}>{props.productId}</a>: {verb} by {props.by}
      </h2>
      {props.text !== null && <p class="text">{props.text}</p>}
    </article>
  );
}
