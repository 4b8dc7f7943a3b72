// Webhooks: the list (add, validate, remove) and one webhook's delivery log with redelivery.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { Async, Empty, ErrorBox, Field, Notice, Page, Pager, confirmed, errorText, formatTime, toLocalInput,
  useAction, useLoad, useSession, type Loaded } from "../ui";
import "./webhooks.css";

type Webhook = Schemas["Webhook"];
type Delivery = Schemas["Delivery"];

/** The event names the server accepts in a webhook's filter (EventKind::ALL). */
const EVENTS = [
  "roomCreated", "roomRemoved", "clientAdded", "clientsRemoved", "bookingActivated", "bookingExpired",
  "bookingCompleted", "bookingCancelled", "sessionStarted", "sessionEnded", "chatMessage", "dialogMessage",
];
const PAGE_SIZE = 20;

export function Webhooks(props: { params: string[] }) {
  const id = props.params[0];
  if (id === undefined) return <WebhookList />;
  const webhookId = Number(id);
  if (Number.isSafeInteger(webhookId)) return <WebhookDetail key={webhookId} webhookId={webhookId} />;
  return <Page title="Webhook"><ErrorBox message={`“${id}” is not a webhook id.`} /><a href="#/webhooks">← All webhooks</a></Page>;
}

const target = (w: Webhook) => (w.type === "robot" ? `robot ${w.robotId ?? "?"}` : (w.url ?? "(no URL)"));
const eventList = (w: Webhook) => (w.events?.length ? w.events.join(", ") : "all events");

function StatusBadges({ w }: { w: Webhook }) {
  return (
    <span class="wh-badges">
      <span class={`badge ${w.status === "active" ? "ok" : "failing"}`}>{w.status}</span>
      <span class={`badge ${w.validated ? "ok" : "failing"}`}>{w.validated ? "validated" : "not validated"}</span>
      {w.failingSince && <span class="badge failing">failing since {formatTime(w.failingSince)}</span>}
    </span>
  );
}

/** The Validate button and, after a run, its outcome (the receiver's failure, if any). */
function Validate(props: { w: Webhook; onDone: () => void }) {
  const { orgId } = useSession();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const run = async () => {
    setBusy(true), setResult(null);
    try {
      const v = (await must(api.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/validate",
        { params: { path: { orgId, webhookId: props.w.webhookId } } }))).content;
      setResult(v.validated
        ? { ok: true, text: props.w.type === "robot" ? "Valid: robot webhooks need no handshake." : "Validated: the receiver answered the handshake correctly." }
        : { ok: false, text: `Validation failed: ${v.reason ?? "no reason given"}` });
      props.onDone();
    } catch (e) {
      setResult({ ok: false, text: `Validation failed: ${errorText(e)}` });
    }
    setBusy(false);
  };
  return <>
    <button type="button" onClick={run} disabled={busy}>{busy ? "Validating…" : "Validate"}</button>
    {result && <span data-testid="validate-result" class={`notice wh-result ${result.ok ? "ok" : "error"}`} role="status">{result.text}</span>}
  </>;
}

/** Delete (after confirming) a webhook with its delivery log. */
function DeleteButton(props: { w: Webhook; onDeleted: () => void }) {
  const { orgId } = useSession();
  const del = useAction();
  const remove = () => {
    if (!confirmed(`Delete the webhook to ${target(props.w)}? Its delivery log is deleted too.`)) return;
    void del.run(async () => {
      await must(api.DELETE("/v1/orgs/{orgId}/webhooks/{webhookId}", { params: { path: { orgId, webhookId: props.w.webhookId } } }));
      props.onDeleted();
    });
  };
  return <>
    <button type="button" class="danger" onClick={remove} disabled={del.busy}>{del.busy ? "Deleting…" : "Delete"}</button>
    {del.error && <ErrorBox message={del.error} />}
  </>;
}

function WebhookList() {
  const { orgId, canChange } = useSession();
  const [page, setPage] = useState(0);
  const [search, setSearch] = useState("");
  const [token, setToken] = useState("");
  const [domain, setDomain] = useState("");
  const domains = useLoad(() => must(api.GET("/v1/orgs/{orgId}/domains", { params: { path: { orgId }, query: { count: 500 } } })), [orgId]);
  const list = useLoad(() => must(api.GET("/v1/orgs/{orgId}/webhooks", {
    params: { path: { orgId }, query: { page, count: PAGE_SIZE, token: token || undefined, domain: domain || undefined } },
  })), [orgId, page, token, domain]);
  const domainNames = domains.state === "ready" ? domains.data.content.map((d) => d.name) : [];
  const filtered = token !== "" || domain !== "";
  return (
    <Page title="Webhooks" actions={<button type="button" onClick={list.reload}>Refresh</button>}>
      <form class="inline wh-filter" role="search" onSubmit={(e) => {
        e.preventDefault(), setToken(String(new FormData(e.currentTarget).get("token") ?? "").trim()), setPage(0);
      }}>
        <Field label="Search">
          <input name="token" type="search" placeholder="URL or room name" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </Field>
        <Field label="Scope">
          <select name="filterDomain" value={domain} onChange={(e) => { setDomain(e.currentTarget.value); setPage(0); }}>
            <option value="">All domains</option>
            {domainNames.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </Field>
        <button type="submit" class="field-button">Search</button>
      </form>
      <Async value={list}>
        {(data) =>
          data.content.length === 0 ? (
            <Empty>{filtered ? "No webhooks match this search." : `No webhooks yet.${canChange ? " Add one below to receive events." : ""}`}</Empty>
          ) : (
            <>
              <div class="table-wrap wh-list">
                <table class="stack">
                  <thead><tr><th>Target</th><th>Domain and filters</th><th>Status</th><th>Actions</th></tr></thead>
                  <tbody>
                    {data.content.map((w) => <WebhookRow key={w.webhookId} w={w} onChanged={list.reload} />)}
                  </tbody>
                </table>
              </div>
              <Pager page={page} hasNext={!!data._links.next} onPage={setPage} />
            </>
          )
        }
      </Async>
      {canChange && <AddWebhook domains={domains} onAdded={() => (page === 0 ? list.reload() : setPage(0))} />}
    </Page>
  );
}

function WebhookRow({ w, onChanged }: { w: Webhook; onChanged: () => void }) {
  const { canChange } = useSession();
  return (
    <tr>
      <td data-label="Target"><a class="wh-url" href={"#/webhooks/" + w.webhookId}>{target(w)}</a>
        <div class="muted small">{w.type} webhook #{w.webhookId}</div>
      </td>
      <td data-label="Domain">{w.domain}{w.roomName && <div class="small">room {w.roomName}</div>}
        <div class="muted small">{eventList(w)}</div>
      </td>
      <td data-label="Status"><StatusBadges w={w} />
        {w.disabledReason && <div class="muted small">{w.disabledReason}</div>}
      </td>
      <td data-label="Actions">
        <div class="wh-actions">
          {canChange && <Validate w={w} onDone={onChanged} />}
          <a href={"#/webhooks/" + w.webhookId}>Deliveries</a>
          {canChange && <DeleteButton w={w} onDeleted={onChanged} />}
        </div>
      </td>
    </tr>
  );
}

function AddWebhook(props: { domains: Loaded<Schemas["HalPage_Domain"]>; onAdded: () => void }) {
  const { orgId } = useSession();
  const [type, setType] = useState("url");
  const [url, setUrl] = useState("");
  const [robotId, setRobotId] = useState("");
  const [domain, setDomain] = useState("");
  const [room, setRoom] = useState("");
  const [events, setEvents] = useState<string[]>([]);
  const [added, setAdded] = useState<Webhook | null>(null);
  const act = useAction();
  const domains = props.domains;
  const known = domains.state === "ready" ? domains.data.content : [];
  const chosen = domain || known.find((d) => d.isDefault)?.name || known[0]?.name || "";
  const toggle = (ev: string, on: boolean) => setEvents((cur) => (on ? [...cur, ev] : cur.filter((e) => e !== ev)));
  const submit = (e: Event) => {
    e.preventDefault(), setAdded(null);
    // Read the form itself: a value typed just before submitting may not be rendered into state yet.
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const val = (k: string) => String(f.get(k) ?? "").trim();
    const kind = val("type") || "url";
    const picked = f.getAll("events").map(String);
    void act.run(async () => {
      let dom = val("domain"); // the domain list may still be loading: then the org's default domain
      if (!dom) {
        const all = (await must(api.GET("/v1/orgs/{orgId}/domains", { params: { path: { orgId }, query: { count: 500 } } }))).content;
        dom = all.find((d) => d.isDefault)?.name ?? all[0]?.name ?? "";
      }
      const r = await must(api.POST("/v1/orgs/{orgId}/webhooks", {
        params: { path: { orgId } },
        body: {
          domain: dom,
          type: kind,
          url: kind === "url" ? val("url") || undefined : undefined,
          robotId: kind === "robot" && val("robotId") !== "" ? Number(val("robotId")) : undefined,
          roomName: val("roomName") || undefined,
          events: picked.length > 0 ? picked : undefined,
        },
      }));
      setAdded(r.content);
      setUrl(""), setRobotId(""), setRoom(""), setEvents([]);
      props.onAdded();
    });
  };
  return (
    <form class="card" data-testid="webhook-form" onSubmit={submit} noValidate aria-labelledby="add-webhook-title">
      <h2 id="add-webhook-title" class="wh-title">Add a webhook</h2>
      <div class="row wh-form-row">
        <Field label="Type">
          <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="url">URL (HTTP POST)</option>
            <option value="robot">Robot (realtime socket)</option>
          </select>
        </Field>
        {type === "url" ? (
          <Field label="URL" hint="Events are POSTed here once it passes validation.">
            <input name="url" type="url" inputMode="url" placeholder="https://example.org/hooks/meetplane"
              value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
          </Field>
        ) : (
          <Field label="Robot ID">
            <input name="robotId" type="number" min="0" inputMode="numeric" value={robotId}
              onInput={(e) => setRobotId(e.currentTarget.value)} />
          </Field>
        )}
        <Field label="Domain">
          <select name="domain" value={chosen} disabled={known.length === 0} onChange={(e) => setDomain(e.currentTarget.value)}>
            {domains.state === "loading" && <option value="">Loading domains…</option>}
            {domains.state === "ready" && known.length === 0 && <option value="">No domains</option>}
            {known.map((d) => <option key={d.name} value={d.name}>{d.name}{d.isDefault ? " (default)" : ""}</option>)}
          </select>
        </Field>
        <Field label="Room" hint="Optional: only this room's events.">
          <input name="roomName" value={room} onInput={(e) => setRoom(e.currentTarget.value)} />
        </Field>
      </div>
      {domains.state === "error" && <ErrorBox message={`Domains could not be loaded: ${domains.error}`} retry={domains.reload} />}
      <fieldset class="wh-events">
        <legend>Events <span class="muted small">(none ticked: all events)</span></legend>
        {EVENTS.map((ev) => (
          <label key={ev}>
            <input type="checkbox" name="events" value={ev} checked={events.includes(ev)}
              onChange={(e) => toggle(ev, e.currentTarget.checked)} />
            {ev}
          </label>
        ))}
      </fieldset>
      {act.error && <ErrorBox message={act.error} />}
      {added && (
        <Notice kind="ok">
          <span>Added <a href={"#/webhooks/" + added.webhookId}>webhook #{added.webhookId}</a>.{added.type === "url" && <>{" "}
            It receives events once validated: the receiver must answer with the hex HMAC-SHA256 of signThis under the
            domain's webhook key (see <a href="#/domains">Domains</a>), then press Validate.</>}</span>
        </Notice>
      )}
      <button type="submit" class="primary" disabled={act.busy}>{act.busy ? "Adding…" : "Add webhook"}</button>
    </form>
  );
}

function WebhookDetail(props: { webhookId: number }) {
  const { orgId, canChange } = useSession();
  const webhookId = props.webhookId;
  const [page, setPage] = useState(0);
  const [status, setStatus] = useState("");
  const hook = useLoad(() => must(api.GET("/v1/orgs/{orgId}/webhooks/{webhookId}",
    { params: { path: { orgId, webhookId } } })).then((r) => r.content), [orgId, webhookId]);
  const deliveries = useLoad(() => must(api.GET("/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries", {
    params: { path: { orgId, webhookId }, query: { page, count: PAGE_SIZE, status: status || undefined } },
  })), [orgId, webhookId, page, status]);
  const refresh = () => (hook.reload(), deliveries.reload());
  return (
    <Page title={`Webhook #${webhookId}`}
      actions={<><a href="#/webhooks">← All webhooks</a><button type="button" onClick={refresh}>Refresh</button></>}>
      <Async value={hook}>
        {(w) => (
          <div class="card">
            <dl class="wh-settings">
              <dt>Target</dt><dd>{target(w)}</dd>
              <dt>Type</dt><dd>{w.type}</dd>
              <dt>Domain</dt><dd>{w.domain}</dd>
              <dt>Room</dt><dd>{w.roomName ?? "all rooms"}</dd>
              <dt>Events</dt><dd>{eventList(w)}</dd>
              <dt>Status</dt><dd><StatusBadges w={w} /></dd>
              {w.disabledReason && <><dt>Disabled</dt><dd>{w.disabledReason} ({formatTime(w.disabledAt)})</dd></>}
              <dt>Created</dt><dd>{formatTime(w.createdAt)}</dd>
              <dt>Updated</dt><dd>{formatTime(w.updatedAt)}</dd>
            </dl>
            {canChange && (
              <div class="wh-actions">
                <Validate w={w} onDone={refresh} />
                <DeleteButton w={w} onDeleted={() => (location.hash = "#/webhooks")} />
              </div>
            )}
          </div>
        )}
      </Async>
      {hook.state !== "error" && <section aria-labelledby="deliveries-title">
        <div class="row wh-head">
          <h2 id="deliveries-title">Deliveries</h2>
          <Field label="State">
            <select name="status" value={status} onChange={(e) => { setStatus(e.currentTarget.value); setPage(0); }}>
              <option value="">All</option>
              <option value="pending">Pending</option>
              <option value="delivered">Delivered</option>
              <option value="failed">Failed</option>
            </select>
          </Field>
        </div>
        {canChange && <RedeliverRange webhookId={webhookId} onDone={deliveries.reload} />}
        <Async value={deliveries}>
          {(data) =>
            data.content.length === 0 ? (
              <div data-testid="deliveries">
                <Empty>{status ? `No ${status} deliveries.` : "No deliveries yet. Events appear here once the webhook is validated and active."}</Empty>
              </div>
            ) : (
              <>
                <div class="table-wrap wh-list">
                  <table class="stack" data-testid="deliveries">
                    <thead><tr><th>Event</th><th>Time</th><th>Attempts</th><th>State</th><th>HTTP</th><th>Error</th><th>Actions</th></tr></thead>
                    <tbody>
                      {data.content.map((d) => <DeliveryRow key={d.deliveryId} d={d} onChanged={deliveries.reload} />)}
                    </tbody>
                  </table>
                </div>
                <Pager page={page} hasNext={!!data._links.next} onPage={setPage} />
              </>
            )
          }
        </Async>
      </section>}
    </Page>
  );
}

function DeliveryRow(props: { d: Delivery; onChanged: () => void }) {
  const { orgId, canChange } = useSession();
  const d = props.d;
  const act = useAction();
  const [queued, setQueued] = useState(false);
  const [open, setOpen] = useState(false);
  const redeliver = () => act.run(async () => {
    setQueued(false);
    await must(api.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
      { params: { path: { orgId, webhookId: d.webhookId, deliveryId: d.deliveryId } } }));
    setQueued(true);
    props.onChanged();
  });
  const stateClass = d.status === "delivered" ? "ok" : d.status === "failed" ? "failing" : "";
  return (
    <tr>
      <td data-label="Event"><strong>{d.event ?? "(event gone)"}</strong>
        {d.room && <div class="small">room {d.room}{d.seq != null && ` · #${d.seq}`}</div>}</td>
      <td data-label="Time"><time dateTime={d.createdAt}>{formatTime(d.createdAt)}</time>
        {d.lastAttemptAt && <div class="muted small">last try {formatTime(d.lastAttemptAt)}</div>}
      </td>
      <td data-label="Attempts">{d.attempts}</td>
      <td data-label="State"><span class={`badge ${stateClass}`}>{d.status}</span>
        {d.nextAttemptAt && <div class="muted small">next try {formatTime(d.nextAttemptAt)}</div>}
        {d.deliveredAt && <div class="muted small">delivered {formatTime(d.deliveredAt)}</div>}
      </td>
      <td data-label="HTTP">{d.lastStatusCode != null ? String(d.lastStatusCode) : "—"}
        {d.lastLatencyMs != null && <span class="muted small"> · {d.lastLatencyMs} ms</span>}</td>
      <td data-label="Error" class="wh-error">{d.lastError ?? "—"}</td>
      <td data-label="Actions">
        <div class="wh-actions">
          {canChange && d.status !== "pending" && (
            <button type="button" onClick={redeliver} disabled={act.busy}>{act.busy ? "Queueing…" : "Redeliver"}</button>
          )}
          {d.status === "pending" && !queued && <span class="muted small">Retried automatically</span>}
          {queued && <span class="wh-result muted small" role="status">Queued for redelivery.</span>}
          {act.error && <ErrorBox message={act.error} />}
        </div>
        <details class="wh-body" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
          <summary>Body</summary>
          {open && <DeliveryBody d={d} />}
        </details>
      </td>
    </tr>
  );
}

function DeliveryBody(props: { d: Delivery }) {
  const { orgId } = useSession();
  const { webhookId, deliveryId } = props.d;
  const body = useLoad(() => must(api.GET("/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/body",
    { params: { path: { orgId, webhookId, deliveryId } } })), [orgId, webhookId, deliveryId]);
  return <Async value={body}>{(b) => <pre tabIndex={0}>{JSON.stringify(b, null, 2)}</pre>}</Async>;
}

/** Send again every finished delivery created in a time range (pending ones are queued anyway). */
function RedeliverRange(props: { webhookId: number; onDone: () => void }) {
  const { orgId } = useSession();
  const [since, setSince] = useState(() => toLocalInput(new Date(Date.now() - 24 * 3600_000)));
  const [until, setUntil] = useState(() => toLocalInput(new Date(Date.now() + 60_000)));
  const [done, setDone] = useState<string | null>(null);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault(), setDone(null);
    const f = new FormData(e.currentTarget as HTMLFormElement);
    void act.run(async () => {
      const [from, to] = [new Date(String(f.get("since"))), new Date(String(f.get("until")))];
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new Error("Pick both times.");
      const r = await must(api.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/redeliver", {
        params: { path: { orgId, webhookId: props.webhookId } },
        body: { since: from.toISOString(), until: to.toISOString() },
      }));
      setDone(`${r.requeued} ${r.requeued === 1 ? "delivery" : "deliveries"} queued again.`);
      props.onDone();
    });
  };
  return (
    <details class="card wh-range">
      <summary>Redeliver a time range</summary>
      <form class="inline" onSubmit={submit}>
        <Field label="Created from">
          <input name="since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </Field>
        <Field label="Until (exclusive)">
          <input name="until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={act.busy} class="field-button">{act.busy ? "Queueing…" : "Redeliver all in range"}</button>
      </form>
      <p class="muted small">Delivered and failed deliveries created in this range (your time zone) are sent again with the same webhook-id.</p>
      {act.error && <ErrorBox message={act.error} />}
      {done && <Notice kind="ok">{done}</Notice>}
    </details>
  );
}
