// Chat widgets (ImbaChat): settings, the secret key (shown once), the users-info URL check,
// and the embed snippet.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import {
  Async,
  Empty,
  ErrorBox,
  Field,
  Notice,
  Page,
  Pager,
  confirmed,
  formatTime,
  useAction,
  useLoad,
  useSession,
} from "../ui";
import { CheckForm, EditForm, TOP, WIDGET, type Widget, origins } from "./widget_forms";

type Shown = { name: string; secretKey: string; why: string };

const PAGE_SIZE = 25;

export function Widgets(_props: { params: string[] }) {
  const { orgId, canChange } = useSession();
  const [page, setPage] = useState(0);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<Shown | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/widgets", { params: { path: { orgId }, query: { page, count: PAGE_SIZE } } })),
    [orgId, page],
  );
  const changed = (message: string) => {
    setNotice(message);
    list.reload();
  };
  return (
    <Page
      title="Chat widgets"
      actions={
        canChange && (
          <button type="button" class="primary" aria-expanded={creating} onClick={() => setCreating(!creating)}>
            {creating ? "Close form" : "New widget"}
          </button>
        )
      }
    >
      {secret && (
        <div class="card" role="status">
          <h2 style={{ marginTop: 0 }}>Secret key of “{secret.name}” ({secret.why})</h2>
          <p class="secret">{secret.secretKey}</p>
          <p class="muted small">
            Shown once: store it now in your site's settings, it cannot be shown again. Your site signs user
            tokens with it (HS256).
          </p>
          <button type="button" onClick={() => setSecret(null)}>
            I have stored it — hide
          </button>
        </div>
      )}
      {canChange && creating && (
        <CreateForm
          orgId={orgId}
          onCreated={(w) => {
            setCreating(false);
            setSecret({ name: w.name, secretKey: w.secretKey, why: "new widget" });
            changed(`Created widget “${w.name}”.`);
          }}
        />
      )}
      {notice && <Notice kind="ok">{notice}</Notice>}
      <Async value={list}>
        {(data) =>
          data.content.length === 0 ? (
            <Empty>{page === 0 ? "No chat widgets yet." : "No more widgets."}</Empty>
          ) : (
            data.content.map((w) => (
              <WidgetCard
                key={w.widgetId}
                widget={w}
                orgId={orgId}
                canChange={canChange}
                onChanged={changed}
                onSecret={(s) => setSecret(s)}
              />
            ))
          )
        }
      </Async>
      {list.state === "ready" && <Pager page={page} hasNext={Boolean(list.data._links.next)} onPage={setPage} />}
    </Page>
  );
}

function CreateForm(props: { orgId: string; onCreated: (w: Schemas["WidgetWithSecret"]) => void }) {
  const [f, setF] = useState({ name: "", widgetId: "", origins: "", url: "", login: "", password: "", key: "" });
  const set = (k: keyof typeof f) => (e: { currentTarget: { value: string } }) =>
    setF({ ...f, [k]: e.currentTarget.value });
  const create = useAction();
  const opt = (v: string) => (v.trim() ? v.trim() : undefined);
  const submit = (e: Event) => {
    e.preventDefault();
    void create.run(async () => {
      const made = await must(
        api.POST("/v1/orgs/{orgId}/widgets", {
          params: { path: { orgId: props.orgId } },
          body: {
            name: f.name.trim(),
            widgetId: opt(f.widgetId),
            secretKey: opt(f.key),
            allowedOrigins: origins(f.origins),
            usersInfoUrl: opt(f.url),
            apiLogin: opt(f.login),
            apiPassword: f.password ? f.password : undefined,
          },
        }),
      );
      props.onCreated(made.content);
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-label="New chat widget">
      <h2 style={{ marginTop: 0 }}>New chat widget</h2>
      <div class="row" style={TOP}>
        <Field label="Name">
          <input required value={f.name} onInput={set("name")} />
        </Field>
        <Field label="Users-info URL" hint="Your site's endpoint that describes users.">
          <input type="url" value={f.url} onInput={set("url")} placeholder="https://example.com/imbachat/users" />
        </Field>
        <Field label="API login" hint="Basic-auth login sent to the users-info URL.">
          <input value={f.login} onInput={set("login")} autoComplete="off" />
        </Field>
        <Field label="API password">
          <input type="password" value={f.password} onInput={set("password")} autoComplete="new-password" />
        </Field>
      </div>
      <Field label="Allowed origins" hint="One per line, e.g. https://example.com; * allows any site.">
        <textarea rows={3} value={f.origins} onInput={set("origins")} />
      </Field>
      <details style={{ marginBottom: "0.75rem" }}>
        <summary>Moving an existing ImbaChat widget</summary>
        <div class="row" style={{ ...TOP, marginTop: "0.5rem" }}>
          <Field label="Widget id (optional)" hint="Keep the old id: 1-64 of A-Z a-z 0-9 _ -.">
            <input value={f.widgetId} onInput={set("widgetId")} pattern="[A-Za-z0-9_\-]{1,64}" />
          </Field>
          <Field label="Secret key (optional)" hint="Keep the old key: 32-256 characters.">
            <input type="password" value={f.key} onInput={set("key")} minLength={32} maxLength={256} autoComplete="off" />
          </Field>
        </div>
      </details>
      {create.error && <ErrorBox message={create.error} />}
      <button type="submit" class="primary" disabled={create.busy}>
        {create.busy ? "Creating…" : "Create widget"}
      </button>
    </form>
  );
}

function WidgetCard(props: {
  widget: Widget;
  orgId: string;
  canChange: boolean;
  onChanged: (message: string) => void;
  onSecret: (s: Shown) => void;
}) {
  const w = props.widget;
  const [mode, setMode] = useState<"view" | "edit" | "check">("view");
  const act = useAction();
  const path = { orgId: props.orgId, widgetId: w.widgetId };
  const snippet = `<script src="${location.origin}${w.scriptPath}"></script>`;
  const [copied, setCopied] = useState(false);
  const copy = () => navigator.clipboard.writeText(snippet).then(() => setCopied(true), () => setCopied(false));
  const remove = () => {
    if (!confirmed(`Delete the widget “${w.name}”? Its dialogs and cached users are removed too.`)) return;
    void act.run(async () => {
      await must(api.DELETE(WIDGET, { params: { path } }));
      props.onChanged(`Deleted widget “${w.name}”.`);
    });
  };
  const rotate = () => {
    if (!confirmed(`Rotate the secret key of “${w.name}”? User tokens signed with the old key stop working at once.`))
      return;
    void act.run(async () => {
      const r = await must(api.POST("/v1/orgs/{orgId}/widgets/{widgetId}/secret-key", { params: { path } }));
      props.onSecret({ name: w.name, secretKey: r.content.secretKey, why: "rotated" });
      props.onChanged(`Rotated the secret key of “${w.name}”.`);
    });
  };
  const ui = w.usersInfo;
  return (
    <article class="card" aria-labelledby={`w-${w.widgetId}`}>
      <div class="row" style={{ alignItems: "baseline" }}>
        <h2 id={`w-${w.widgetId}`} style={{ margin: 0 }}>
          {w.name}
        </h2>
        <code class="muted">{w.widgetId}</code>
        <span class={`badge ${ui.status}`} title={ui.error ?? undefined}>
          users-info: {ui.status}
        </span>
      </div>
      {ui.status === "failing" && (
        <Notice kind="error">
          {ui.errorCode && <code>{ui.errorCode}</code>} {ui.error ?? "the users-info URL failed"} (since{" "}
          {formatTime(ui.lastFailureAt)})
        </Notice>
      )}
      <dl class="small" style={{ display: "grid", gridTemplateColumns: "max-content 1fr", gap: "0.2rem 0.75rem" }}>
        {(
          [
            ["Users-info URL", w.usersInfoUrl ? <code>{w.usersInfoUrl}</code> : "—"],
            ["API login", `${w.apiLogin ?? "—"} · password ${w.apiPasswordSet ? "set" : "not set"}`],
            ["Allowed origins", w.allowedOrigins.length ? w.allowedOrigins.join(", ") : "none"],
            ["Last users-info success", formatTime(ui.lastOkAt)],
            ["Updated", formatTime(w.updatedAt)],
          ] as const
        ).map(([term, value]) => (
          <Fragment key={term}>
            <dt class="muted">{term}</dt>
            <dd style={{ margin: 0 }}>{value}</dd>
          </Fragment>
        ))}
      </dl>
      <p class="small" style={{ margin: "0.75rem 0 0.25rem" }}>
        <strong>Embed snippet</strong>
      </p>
      <div class="row" style={{ alignItems: "center" }}>
        <code class="secret" style={{ flex: "1 1 16rem" }}>
          {snippet}
        </code>
        {navigator.clipboard && (
          <button type="button" onClick={copy}>
            {copied ? "Copied" : "Copy snippet"}
          </button>
        )}
      </div>
      {act.error && <ErrorBox message={act.error} />}
      {props.canChange && (
        <div class="row" style={{ marginTop: "0.75rem" }}>
          <button type="button" aria-expanded={mode === "edit"} onClick={() => setMode(mode === "edit" ? "view" : "edit")}>
            {mode === "edit" ? "Close editor" : "Edit"}
          </button>
          <button type="button" aria-expanded={mode === "check"} onClick={() => setMode(mode === "check" ? "view" : "check")}>
            {mode === "check" ? "Close check" : "Check users-info URL"}
          </button>
          <button type="button" onClick={rotate} disabled={act.busy}>
            Rotate secret key
          </button>
          <button type="button" class="danger" onClick={remove} disabled={act.busy}>
            Delete
          </button>
        </div>
      )}
      {props.canChange && mode === "edit" && (
        <EditForm
          widget={w}
          orgId={props.orgId}
          onSaved={() => {
            setMode("view");
            props.onChanged(`Saved widget “${w.name}”.`);
          }}
        />
      )}
      {props.canChange && mode === "check" && (
        <CheckForm widget={w} orgId={props.orgId} onChecked={() => props.onChanged(`Checked “${w.name}”.`)} />
      )}
    </article>
  );
}
