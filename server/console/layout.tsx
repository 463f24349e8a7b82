import type { ComponentChildren } from "preact";
import { render } from "preact-render-to-string";
import { roleAllows, type Role } from "../../shared/ledger/api-tokens.js";
import type { Caller } from "../auth.js";

/**
 * The console's page frame and the small pieces every page uses. Pages are Preact components
 * rendered to HTML on the server (escaping every value); htmx (served from this process, no
 * CDN) swaps fragments in place, and console.js adds the keyboard shortcuts and shows errors.
 */

export type Section = "runs" | "review" | "describe" | "products";

export interface PageContext {
  caller: Caller;
  /** This request's CSRF token: sent by htmx as a header and by plain forms as `_csrf`. */
  csrf: string;
}

/** A whole page, as the HTML document string the browser gets. */
export function page(title: string, section: Section | undefined, ctx: PageContext | undefined, body: ComponentChildren): string {
  return `<!doctype html>${render(<Layout title={title} section={section} ctx={ctx}>{body}</Layout>)}`;
}

/** A fragment htmx swaps into the page. */
export function fragment(body: ComponentChildren): string {
  return render(<>{body}</>);
}

const SECTIONS: Array<{ id: Section; href: string; label: string }> = [
  { id: "runs", href: "/console/runs", label: "Runs" },
  { id: "review", href: "/console/review", label: "Review queue" },
  { id: "describe", href: "/console/describe", label: "Describe" },
];

function Layout(props: { title: string; section: Section | undefined; ctx: PageContext | undefined; children: ComponentChildren }) {
  const { ctx } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {/* No inline styles (the CSP forbids them) and no eval'd attributes. */}
        <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"selfRequestsOnly":true}' />
        <title>{`${props.title} · Facet`}</title>
        <link rel="stylesheet" href="/console/static/console.css" />
        <script src="/console/static/htmx.min.js" defer></script>
        <script src="/console/static/console.js" defer></script>
      </head>
      <body hx-headers={ctx ? JSON.stringify({ "x-csrf-token": ctx.csrf }) : undefined}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">Facet</span>
          {ctx && (
            <nav aria-label="Console">
              <ul>
                {SECTIONS.map((s) => (
                  <li key={s.id}>
                    <a href={s.href} aria-current={props.section === s.id ? "page" : undefined}>
                      {s.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {ctx && (
            <form class="find" method="get" action="/console/products" role="search">
              <label for="find-product">Product id</label>
              <input id="find-product" name="id" required maxLength={500} />
              <button type="submit">Open</button>
            </form>
          )}
          {ctx && (
            <form class="who" method="post" action="/console/sign-out">
              <span>
                {ctx.caller.name} ({ctx.caller.role})
              </span>
              <CsrfField csrf={ctx.csrf} />
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <div id="flash" role="alert" aria-live="assertive"></div>
        <main id="main" tabIndex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** The hidden CSRF field of a plain (non-htmx) form. */
export function CsrfField(props: { csrf: string }) {
  return <input type="hidden" name="_csrf" value={props.csrf} />;
}

/** Whether the caller's role reaches `needed` (to show or hide controls; the server checks again). */
export function may(ctx: PageContext, needed: Role): boolean {
  return roleAllows(ctx.caller.role, needed);
}

/** A confidence as a percentage, with a meter for sighted users and the figure for everyone. */
export function Confidence(props: { value: number; low?: number }) {
  const pct = Math.round(props.value * 100);
  return (
    <span class={props.low !== undefined && props.value < props.low ? "conf low" : "conf"}>
      <meter min={0} max={1} value={props.value} aria-hidden="true"></meter> {pct}%
    </span>
  );
}

/** A product's photo thumbnails, shown through the server by product id and index. */
export function Photos(props: { productId: string; count: number; size?: "small" | "large" }) {
  const n = Math.min(props.count, 3);
  if (n === 0) return <p class="muted">No photos</p>;
  return (
    <div class={`photos ${props.size ?? "small"}`}>
      {Array.from({ length: n }, (_, i) => (
        <img key={i} src={photoUrl(props.productId, i)} alt={`Photo ${i + 1} of product ${props.productId}`} loading="lazy" />
      ))}
    </div>
  );
}

export function photoUrl(productId: string, index: number): string {
  return `/console/photos/${encodeURIComponent(productId)}/${index}`;
}

export function productUrl(productId: string): string {
  return `/console/products/${encodeURIComponent(productId)}`;
}

export function runUrl(runId: string): string {
  return `/console/runs/${encodeURIComponent(runId)}`;
}

/** A date as the browser's local time would not be known on the server: ISO, to the second, UTC. */
export function When(props: { at: Date | null }) {
  if (!props.at) return <span class="muted">–</span>;
  const iso = props.at.toISOString();
  return <time dateTime={iso}>{`${iso.slice(0, 19).replace("T", " ")} UTC`}</time>;
}
