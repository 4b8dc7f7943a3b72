// Chat widgets: the forms that edit a widget and check its users-info URL, and what the
// widgets screen (widgets.tsx) shares with them.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { ErrorBox, Field, Notice, useAction } from "../ui";

export type Widget = Schemas["Widget"];
type CheckResult = Schemas["UsersInfoCheckResult"];

/** Fields with hints line up at their labels. */
export const TOP = { alignItems: "flex-start" };
export const WIDGET = "/v1/orgs/{orgId}/widgets/{widgetId}" as const;

/** One origin per line (or comma separated), blanks dropped. */
export const origins = (text: string) =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

export function EditForm(props: { widget: Widget; orgId: string; onSaved: () => void }) {
  const w = props.widget;
  const [name, setName] = useState(w.name);
  const [url, setUrl] = useState(w.usersInfoUrl ?? "");
  const [login, setLogin] = useState(w.apiLogin ?? "");
  const [password, setPassword] = useState("");
  const [clearPassword, setClearPassword] = useState(false);
  const [originText, setOriginText] = useState(w.allowedOrigins.join("\n"));
  const save = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    // Send only what changed: a changed URL, login or password clears the cached users.
    const body: Schemas["WidgetPatch"] = {};
    if (name.trim() !== w.name) body.name = name.trim();
    if (url.trim() !== (w.usersInfoUrl ?? "")) body.usersInfoUrl = url.trim();
    if (login.trim() !== (w.apiLogin ?? "")) body.apiLogin = login.trim();
    if (clearPassword) body.apiPassword = "";
    else if (password) body.apiPassword = password;
    const newOrigins = origins(originText);
    if (newOrigins.join("\n") !== w.allowedOrigins.join("\n")) body.allowedOrigins = newOrigins;
    void save.run(async () => {
      if (Object.keys(body).length > 0) {
        await must(api.PATCH(WIDGET, { params: { path: { orgId: props.orgId, widgetId: w.widgetId } }, body }));
      }
      props.onSaved();
    });
  };
  return (
    <form onSubmit={submit} aria-label={`Edit ${w.name}`} style={{ marginTop: "1rem" }}>
      <div class="row" style={TOP}>
        <Field label="Name">
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Users-info URL" hint="Empty clears it.">
          <input type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </Field>
        <Field label="API login" hint="Empty clears it.">
          <input value={login} onInput={(e) => setLogin(e.currentTarget.value)} autoComplete="off" />
        </Field>
        <Field
          label="New API password"
          hint={w.apiPasswordSet ? "A password is set; leave empty to keep it." : "No password set."}
        >
          <input
            type="password"
            value={password}
            disabled={clearPassword}
            autoComplete="new-password"
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
      </div>
      {w.apiPasswordSet && (
        <label style={{ display: "block", marginBottom: "0.75rem" }}>
          <input type="checkbox" checked={clearPassword} onChange={(e) => setClearPassword(e.currentTarget.checked)} />{" "}
          Remove the API password
        </label>
      )}
      <Field label="Allowed origins" hint="One per line; * allows any site.">
        <textarea rows={3} value={originText} onInput={(e) => setOriginText(e.currentTarget.value)} />
      </Field>
      {save.error && <ErrorBox message={save.error} />}
      <button type="submit" class="primary" disabled={save.busy}>
        {save.busy ? "Saving…" : "Save changes"}
      </button>
    </form>
  );
}

export function CheckForm(props: { widget: Widget; orgId: string; onChecked: () => void }) {
  const [ids, setIds] = useState("");
  const [result, setResult] = useState<CheckResult | null>(null);
  const check = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const userIds = ids.split(/[\s,]+/).filter(Boolean);
    void check.run(async () => {
      const r = await must(
        api.POST("/v1/orgs/{orgId}/widgets/{widgetId}/users-info/check", {
          params: { path: { orgId: props.orgId, widgetId: props.widget.widgetId } },
          body: { userIds },
        }),
      );
      setResult(r);
      props.onChecked();
    });
  };
  return (
    <div style={{ marginTop: "1rem" }}>
      <form class="inline" onSubmit={submit} aria-label={`Check the users-info URL of ${props.widget.name}`}>
        <Field label="Site user ids" hint="1-100 ids of users on your site, separated by spaces or commas.">
          <input required value={ids} onInput={(e) => setIds(e.currentTarget.value)} placeholder="1 2 3" />
        </Field>
        <button type="submit" class="primary" disabled={check.busy} style={{ marginBottom: "0.75rem" }}>
          {check.busy ? "Checking…" : "Run check"}
        </button>
      </form>
      {check.error && <ErrorBox message={check.error} />}
      {result && (
        <>
          <Notice kind={result.ok ? "ok" : "error"}>
            {result.ok ? "The site answered correctly." : "The check failed:"}{" "}
            {result.errorCode && <code>{result.errorCode}</code>} {result.error}
          </Notice>
          {result.problems.length > 0 && (
            <ul class="small">
              {result.problems.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
            </ul>
          )}
          {result.users.length > 0 && (
            <ul class="small" aria-label="Users the site described">
              {result.users.map((u) => (
                <li key={u.userId}>
                  <code>{u.userId}</code> {u.name} <span class="badge">{u.source}</span>
                  {u.profileUrl && <code class="muted"> {u.profileUrl}</code>}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}
