// Small building blocks shared by every screen: loading/error/empty states, forms, times.
import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import type { Schemas } from "./api/client";

export type Admin = Schemas["AdminUser"];

export interface SessionInfo {
  admin: Admin;
  orgId: string;
  /** Viewers read only; the server enforces it, the UI hides what would be refused. */
  canChange: boolean;
}

export const Session = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo {
  const s = useContext(Session);
  if (!s) throw new Error("useSession outside a signed-in page");
  return s;
}

export type Loaded<T> =
  | { state: "loading"; reload: () => void }
  | { state: "error"; error: string; reload: () => void }
  | { state: "ready"; data: T; reload: () => void };

/** Load data when `deps` change; `reload()` fetches again (keeping the old data on screen). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [result, setResult] = useState<
    { state: "loading" } | { state: "error"; error: string } | { state: "ready"; data: T }
  >({ state: "loading" });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setResult({ state: "ready", data }),
      (e: unknown) => live && setResult({ state: "error", error: errorText(e) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...result, reload } as Loaded<T>;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Render loading, error (with retry) or the data. */
export function Async<T>(props: { value: Loaded<T>; children: (data: T) => ComponentChildren }) {
  const v = props.value;
  if (v.state === "loading") return <Loading />;
  if (v.state === "error") return <ErrorBox message={v.error} retry={v.reload} />;
  return <>{props.children(v.data)}</>;
}

export function Loading(props: { label?: string }) {
  return (
    <p class="muted loading" role="status" aria-live="polite">
      {props.label ?? "Loading…"}
    </p>
  );
}

export function ErrorBox(props: { message: string; retry?: () => void }) {
  return (
    <div class="notice error" role="alert">
      <span>{props.message}</span>
      {props.retry && (
        <button type="button" class="link" onClick={props.retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice(props: { kind?: "ok" | "error" | "info"; children: ComponentChildren }) {
  return (
    <div class={`notice ${props.kind ?? "info"}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty muted">{props.children}</p>;
}

/** Run an async action with busy and error state, e.g. a form submit. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

/** A time in the viewer's time zone; accepts ISO strings and epoch milliseconds. */
export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : dateTime.format(d);
}

export function formatClock(value: string | number | Date): string {
  return timeOnly.format(new Date(value));
}

/** `<input type="datetime-local">` value for a Date, in local time. */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function Field(props: { label: string; hint?: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="label">{props.label}</span>
      {props.children}
      {props.hint && <span class="hint muted">{props.hint}</span>}
    </label>
  );
}

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · meetplane`;
  }, [props.title]);
  return (
    <section class="page">
      <header class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

/** Previous/next for the API's 0-based pages (`next` exists only when another page does). */
export function Pager(props: { page: number; hasNext: boolean; onPage: (page: number) => void }) {
  if (props.page === 0 && !props.hasNext) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={props.page === 0} onClick={() => props.onPage(props.page - 1)}>
        ← Previous
      </button>
      <span class="muted">Page {props.page + 1}</span>
      <button type="button" disabled={!props.hasNext} onClick={() => props.onPage(props.page + 1)}>
        Next →
      </button>
    </nav>
  );
}

/** Confirm a destructive action with the browser's own dialog (keyboard accessible). */
export function confirmed(question: string): boolean {
  return window.confirm(question);
}
