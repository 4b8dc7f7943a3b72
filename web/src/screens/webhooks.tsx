// Webhooks: the list (add, validate, remove) and one webhook's delivery log with redelivery.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { Async, Empty, ErrorBox, Field, Notice, Page, Pager, useAction, useLoad, useSession, type Loaded } from "../ui";
import { WebhookDetail } from "./webhook_deliveries";
import { DeleteButton, PAGE_SIZE, StatusBadges, Validate, type Webhook, eventList, target } from "./webhooks_common";
import "./webhooks.css";

type Kind = Schemas["NewWebhook"]["type"];
type EventName = NonNullable<Schemas["NewWebhook"]["events"]>[number];

/** The event names the server accepts in a webhook's filter (EventKind::ALL; the OpenAPI
 * document lists them, so the type checker holds this list to it). */
const EVENTS: EventName[] = [
  "roomCreated", "roomRemoved", "clientAdded", "clientsRemoved", "bookingActivated", "bookingExpired",
  "bookingCompleted", "bookingCancelled", "sessionStarted", "sessionEnded", "chatMessage", "dialogMessage",
];

export function Webhooks(props: { params: string[] }) {
  const id = props.params[0];
  if (id === undefined) return <WebhookList />;
  const webhookId = Number(id);
  if (Number.isSafeInteger(webhookId)) return <WebhookDetail key={webhookId} webhookId={webhookId} />;
  return <Page title="Webhook"><ErrorBox message={`“${id}” is not a webhook id.`} /><a href="#/webhooks">← All webhooks</a></Page>;
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
    const kind: Kind = val("type") === "robot" ? "robot" : "url";
    const picked = f.getAll("events").map(String).filter((e): e is EventName => (EVENTS as string[]).includes(e));
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
