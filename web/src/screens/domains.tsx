// Domains: the org's DNS names, their room policy and the webhook key that signs deliveries.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import {
  Async, Empty, ErrorBox, Field, Notice, Page, Pager, confirmed, formatTime, useAction, useLoad, useSession,
} from "../ui";
import "./webhooks.css";

type Domain = Schemas["Domain"];

export function Domains(_props: { params: string[] }) {
  const { orgId, canChange } = useSession();
  const [page, setPage] = useState(0);
  const [rotated, setRotated] = useState<Domain | null>(null);
  const keyBox = useRef<HTMLDivElement>(null);
  useEffect(() => keyBox.current?.focus(), [rotated]); // bring the new key into view (it may be far from the button)
  const list = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/domains", { params: { path: { orgId }, query: { page, count: 50 } } })),
    [orgId, page],
  );
  return (
    <Page title="Domains" actions={<button type="button" onClick={list.reload}>Refresh</button>}>
      <p class="muted">
        Rooms live in a domain. A domain's webhook key signs the validation handshake and every delivery of its
        webhooks; receivers verify signatures with it.
      </p>
      {rotated && (
        <div class="card" role="status" aria-labelledby="rotated-title" ref={keyBox} tabIndex={-1}>
          <h2 id="rotated-title" class="wh-title">New webhook key for {rotated.name}</h2>
          <div class="secret">{rotated.webhookKey}</div>
          <p class="small">
            Standard Webhooks form: <code>{rotated.signingSecret}</code>
          </p>
          <p>
            <strong>Shown once</strong> — copy it now and update your receivers: the old key stopped signing at
            once, so validation and deliveries fail until they use the new one.
          </p>
          <button type="button" onClick={() => setRotated(null)}>Done</button>
        </div>
      )}
      <Async value={list}>
        {(data) =>
          data.content.length === 0 ? (
            <Empty>No domains yet.{canChange && " Register one below."}</Empty>
          ) : (
            <>
              <div class="table-wrap wh-list">
                <table class="stack">
                  <thead>
                    <tr><th>Domain</th><th>Rooms</th><th>Webhook key</th><th>Updated</th>{canChange && <th>Actions</th>}</tr>
                  </thead>
                  <tbody>
                    {data.content.map((d) => (
                      <DomainRow key={d.domainId} d={d} onChanged={list.reload}
                        onRotated={(nd) => { setRotated(nd); list.reload(); }} />
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page={page} hasNext={!!data._links.next} onPage={setPage} />
            </>
          )
        }
      </Async>
      {canChange && <AddDomain onAdded={list.reload} />}
    </Page>
  );
}

function DomainRow(props: { d: Domain; onChanged: () => void; onRotated: (d: Domain) => void }) {
  const { orgId, canChange } = useSession();
  const d = props.d;
  const patch = useAction();
  const rotate = useAction();
  const setForbid = (forbid: boolean) =>
    patch.run(async () => {
      await must(
        api.PATCH("/v1/orgs/{orgId}/domains/{domain}", {
          params: { path: { orgId, domain: d.name } },
          body: { forbidNonApiRooms: forbid },
        }),
      );
      props.onChanged();
    });
  const rotateKey = () => {
    if (!confirmed(`Rotate the webhook key of ${d.name}? The old key stops signing at once; every receiver must switch to the new key.`)) return;
    void rotate.run(async () => {
      const r = await must(
        api.POST("/v1/orgs/{orgId}/domains/{domain}/rotate-key", { params: { path: { orgId, domain: d.name } } }),
      );
      props.onRotated(r.content);
    });
  };
  const policy = d.forbidNonApiRooms ? "Created through the API only" : "Opening a room's link creates it";
  return (
    <tr>
      <td data-label="Domain">
        <strong class="wh-url">{d.name}</strong> {d.isDefault && <span class="badge ok">default</span>}
        <div class="muted small">since {formatTime(d.createdAt)}</div>
      </td>
      <td data-label="Rooms">
        {canChange ? (
          <label class="wh-check">
            <input type="checkbox" name="forbidNonApiRooms" checked={d.forbidNonApiRooms} disabled={patch.busy}
              onChange={(e) => void setForbid(e.currentTarget.checked)} />
            API only
          </label>
        ) : null}
        <div class={canChange ? "muted small" : ""}>{policy}</div>
        {patch.error && <ErrorBox message={patch.error} />}
      </td>
      <td data-label="Key">
        {d.webhookKey ? (
          <details class="wh-key">
            <summary>Show key</summary>
            <code>{d.webhookKey}</code>
            <code class="muted">{d.signingSecret}</code>
          </details>
        ) : (
          <span class="muted">hidden from viewers</span>
        )}
      </td>
      <td data-label="Updated">{formatTime(d.updatedAt)}</td>
      {canChange && (
        <td data-label="Actions">
          <button type="button" class="danger" onClick={rotateKey} disabled={rotate.busy}>
            {rotate.busy ? "Rotating…" : "Rotate webhook key"}
          </button>
          {rotate.error && <ErrorBox message={rotate.error} />}
        </td>
      )}
    </tr>
  );
}

function AddDomain(props: { onAdded: () => void }) {
  const { orgId } = useSession();
  const [name, setName] = useState("");
  const [forbid, setForbid] = useState(true);
  const [added, setAdded] = useState<string | null>(null);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setAdded(null);
    // Read the form itself: a value typed just before submitting may not be rendered into state yet.
    const f = new FormData(e.currentTarget as HTMLFormElement);
    void act.run(async () => {
      const r = await must(
        api.POST("/v1/orgs/{orgId}/domains", {
          params: { path: { orgId } },
          body: { name: String(f.get("name") ?? "").trim(), forbidNonApiRooms: f.get("forbidNonApiRooms") !== null },
        }),
      );
      setAdded(r.content.name);
      setName("");
      props.onAdded();
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-domain-title">
      <h2 id="add-domain-title" class="wh-title">Register a domain</h2>
      <div class="row">
        <Field label="Domain name" hint="A DNS name, e.g. chat.example.org; unique on this server.">
          <input name="name" required autoComplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <label class="wh-check field-button">
          <input type="checkbox" name="forbidNonApiRooms" checked={forbid} onChange={(e) => setForbid(e.currentTarget.checked)} />
          Rooms are created through the API only
        </label>
      </div>
      {act.error && <ErrorBox message={act.error} />}
      {added && <Notice kind="ok">Registered {added}.</Notice>}
      <button type="submit" class="primary" disabled={act.busy}>{act.busy ? "Registering…" : "Register domain"}</button>
    </form>
  );
}
