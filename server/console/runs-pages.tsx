import type { RunItemView, Attributes } from "../../shared/ledger/run-items-page.js";
import type { Run, RunCounts } from "../../shared/ledger/run.js";
import { Confidence, CsrfField, may, Photos, productUrl, runUrl, When, type PageContext } from "./layout.js";

/** A run with what its progress line shows. */
export interface RunProgressView {
  run: Run;
  counts: RunCounts;
  /** Failed items by reason, most first. */
  failures: Array<{ reason: string; n: number }>;
}

const ACTIVE = new Set(["snapshotting", "running", "paused"]);

/** Products a second since the run started, and the time left at that rate (null while it cannot be told). */
function pace(view: RunProgressView, now = Date.now()): { rate: number | null; etaSeconds: number | null } {
  const { run, counts } = view;
  const finished = counts.done + counts.failed + counts.skipped;
  if (!run.started_at || finished === 0) return { rate: null, etaSeconds: null };
  const end = run.finished_at ? run.finished_at.getTime() : now;
  const seconds = Math.max(1, (end - run.started_at.getTime()) / 1000);
  const rate = finished / seconds;
  return { rate, etaSeconds: run.state === "running" ? Math.round(counts.pending / rate) : null };
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** A run's progress bar, rate, ETA and failures by reason; an active run's refreshes itself every 2 s. */
export function RunProgress(props: { view: RunProgressView }) {
  const { run, counts, failures } = props.view;
  const finished = counts.done + counts.failed + counts.skipped;
  const total = Math.max(counts.total, run.total);
  const { rate, etaSeconds } = pace(props.view);
  const live = ACTIVE.has(run.state);
  return (
    <div
      class="progress"
      id={`progress-${run.id}`}
      hx-get={live ? `${runUrl(run.id)}/progress` : undefined}
      hx-trigger={live ? "every 2s" : undefined}
      hx-swap={live ? "outerHTML" : undefined}
    >
      <progress max={Math.max(total, 1)} value={finished} aria-label={`Run ${run.id} progress`}></progress>
      <span class="figures">
        {finished.toLocaleString("en")} / {total.toLocaleString("en")} finished
        {total > 0 ? ` (${Math.floor((finished / total) * 100)}%)` : ""} · <span class={`state ${run.state}`}>{run.state}</span>
        {rate !== null ? ` · ${rate.toFixed(1)} products/s` : ""}
        {etaSeconds !== null ? ` · about ${duration(etaSeconds)} left` : ""}
      </span>
      {failures.length > 0 && (
        <span class="failures">
          {" "}
          · failed:{" "}
          {failures.map((f, i) => (
            <span key={f.reason}>
              {i > 0 ? ", " : ""}
              <code>{f.reason}</code> {f.n}
            </span>
          ))}
        </span>
      )}
    </div>
  );
}

/** Pause, resume and cancel, for an operator; each a plain form (the ledger refuses an illegal change with its reason). */
function RunControls(props: { run: Run; ctx: PageContext; back: string }) {
  const { run, ctx } = props;
  if (!may(ctx, "operator") || !ACTIVE.has(run.state)) return null;
  const actions = run.state === "paused" ? (["resume", "cancel"] as const) : (["pause", "cancel"] as const);
  return (
    <div class="controls">
      {actions.map((action) => (
        <form key={action} method="post" action={`${runUrl(run.id)}/${action}`}>
          <CsrfField csrf={ctx.csrf} />
          <input type="hidden" name="back" value={props.back} />
          <button type="submit" class={action === "cancel" ? "danger" : undefined} aria-label={`${action[0]?.toUpperCase()}${action.slice(1)} run ${run.id}`}>
            {action[0]?.toUpperCase()}
            {action.slice(1)}
          </button>
        </form>
      ))}
    </div>
  );
}

/** The runs page: start a run (operators), and the latest runs with live progress. */
export function RunsPage(props: { views: RunProgressView[]; ctx: PageContext; notice?: string }) {
  const { ctx } = props;
  return (
    <>
      {props.notice && <p class="notice">{props.notice}</p>}
      {may(ctx, "operator") && <StartRunForm ctx={ctx} />}
      <section aria-labelledby="runs-heading">
        <h2 id="runs-heading">Latest runs</h2>
        {props.views.length === 0 ? (
          <p>No runs yet.</p>
        ) : (
          <table class="runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Model</th>
                <th scope="col">Mode</th>
                <th scope="col">Started</th>
                <th scope="col">Progress</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.views.map((view) => (
                <tr key={view.run.id}>
                  <th scope="row">
                    <a href={runUrl(view.run.id)}>{view.run.id}</a>
                  </th>
                  <td>{view.run.model_version}</td>
                  <td>{view.run.mode}</td>
                  <td>
                    <When at={view.run.started_at} />
                  </td>
                  <td>
                    <RunProgress view={view} />
                  </td>
                  <td>
                    <RunControls run={view.run} ctx={ctx} back="/console/runs" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function StartRunForm(props: { ctx: PageContext }) {
  return (
    <details class="start">
      <summary>Start a run</summary>
      <form method="post" action="/console/runs">
        <CsrfField csrf={props.ctx.csrf} />
        <p>
          <label for="run-model">Model version</label>
          <input id="run-model" name="model" value="latest" required maxLength={100} />
        </p>
        <p>
          <label for="run-category">Category (empty: the whole catalogue)</label>
          <input id="run-category" name="category" maxLength={200} />
        </p>
        <fieldset>
          <legend>Mode</legend>
          <label>
            <input type="radio" name="mode" value="shadow" checked /> Shadow: write versions, publish nothing
          </label>
          <label>
            <input type="radio" name="mode" value="apply" /> Apply: publish what needs no review
          </label>
        </fieldset>
        <button type="submit">Start</button>
      </form>
    </details>
  );
}

export type RunFilter = "all" | "changed" | "low" | "failed";

const FILTERS: Array<{ id: RunFilter; label: string }> = [
  { id: "all", label: "All products" },
  { id: "changed", label: "Changed category" },
  { id: "low", label: "Low confidence" },
  { id: "failed", label: "Failed" },
];

/** A run's detail: its progress, and each product's before and after with attribute changes marked. */
export function RunDetailPage(props: { view: RunProgressView; items: RunItemView[]; filter: RunFilter; next: number | undefined; lowBelow: number; ctx: PageContext }) {
  const { view, ctx } = props;
  const base = runUrl(view.run.id);
  return (
    <>
      <p>
        Model {view.run.model_version} · {view.run.mode} · priority {view.run.priority} · created <When at={view.run.created_at} />
      </p>
      <RunProgress view={view} />
      <RunControls run={view.run} ctx={ctx} back={base} />
      <nav aria-label="Filter products" class="filters">
        <ul>
          {FILTERS.map((f) => (
            <li key={f.id}>
              <a href={f.id === "all" ? base : `${base}?filter=${f.id}`} aria-current={props.filter === f.id ? "page" : undefined}>
                {f.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {props.items.length === 0 ? (
        <p>No products match.</p>
      ) : (
        <table class="items">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Outcome</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
              <th scope="col">Attributes (changes marked)</th>
            </tr>
          </thead>
          <tbody>
            {props.items.map((item) => (
              <ItemRow key={item.seq} item={item} lowBelow={props.lowBelow} />
            ))}
          </tbody>
        </table>
      )}
      {props.next !== undefined && (
        <p>
          <a href={`${base}?${new URLSearchParams({ ...(props.filter !== "all" ? { filter: props.filter } : {}), after: String(props.next) }).toString()}`}>Next products</a>
        </p>
      )}
    </>
  );
}

function ItemRow(props: { item: RunItemView; lowBelow: number }) {
  const { item } = props;
  const v = item.version;
  return (
    <tr>
      <th scope="row">
        <Photos productId={item.productId} count={1} />
        <a href={productUrl(item.productId)}>{item.productId}</a>
      </th>
      <td>
        <span class={`state ${item.state}`}>{item.state}</span>
        {item.reason && (
          <>
            {" "}
            <code>{item.reason}</code>
          </>
        )}
        {v && <div class="muted">{v.status}</div>}
        {item.detail && <div class="muted detail">{item.detail}</div>}
      </td>
      <td class="text">{item.before ?? <span class="muted">(none)</span>}</td>
      <td class="text">{v ? v.description : <span class="muted">(not generated)</span>}</td>
      <td>{v && <AttributeChanges now={v.attributes} before={item.previousAttributes} catalogueCategory={item.category} lowBelow={props.lowBelow} />}</td>
    </tr>
  );
}

/** Each generated attribute with its confidence; one that differs from before (the previous version, or the catalogue's category) is marked with what it was. */
function AttributeChanges(props: { now: Attributes; before: Attributes | null; catalogueCategory: string | null; lowBelow: number }) {
  return (
    <dl class="attrs">
      {Object.entries(props.now).map(([name, a]) => {
        const was = props.before?.[name]?.label ?? (name === "category" ? props.catalogueCategory : null);
        const changed = was !== null && was !== undefined && was !== a.label;
        return (
          <div key={name}>
            <dt>{name}</dt>
            <dd>
              {changed ? (
                <>
                  <mark>{a.label}</mark> <del aria-label={`was ${was}`}>{was}</del>
                </>
              ) : (
                a.label
              )}{" "}
              <Confidence value={a.confidence} low={props.lowBelow} />
            </dd>
          </div>
        );
      })}
    </dl>
  );
}
