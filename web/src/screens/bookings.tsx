// Bookings: rooms reserved ahead of time. A paged list and a week calendar, a form to book a
// room, and a panel to move, resize or cancel one booking. The API takes a start and a
// duration in minutes; the screen speaks start and end, as people do, and converts.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, must } from "../api/client";
import { useOrgEvents } from "../realtime";
import {
  confirmed, ErrorBox, Field, formatTime, Notice, Page, toLocalInput, useAction, useLoad, useSession,
} from "../ui";
import { type Booking, changeable, roomHref, roomOf, weekOf } from "./bookings_common";
import { ListView, optionsText, StateBadge, WeekView } from "./bookings_views";
import "./bookings.css";

const STATES = ["scheduled", "active", "completed", "expired", "cancelled"];
const MAX_MINUTES = 7 * 24 * 60; // the server refuses bookings longer than a week
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Whole minutes between two times (ISO or datetime-local); NaN when one is empty. */
const minutesBetween = (start: string, end: string) =>
  Math.round((new Date(end).getTime() - new Date(start).getTime()) / 60_000);

/** Refuse here what the server would refuse anyway, in words about start and end. */
function checkSpan(minutes: number) {
  if (Number.isNaN(minutes)) throw new Error("Enter a start and an end.");
  if (minutes < 1) throw new Error("The end must be after the start.");
  if (minutes > MAX_MINUTES) throw new Error("A booking lasts at most one week.");
}

/** Start and end inputs: moving the start keeps the duration until the end is set by hand. */
function useSpan(start0: string, end0: string) {
  const [span, setSpan] = useState({ start: start0, end: end0, endSet: false });
  const setStart = (start: string) =>
    setSpan((s) => {
      const m = minutesBetween(s.start, s.end);
      const t = new Date(start).getTime();
      const keep = s.endSet || !(m > 0) || Number.isNaN(t);
      return { ...s, start, end: keep ? s.end : toLocalInput(new Date(t + m * 60_000)) };
    });
  const setEnd = (end: string) => setSpan((s) => ({ ...s, end, endSet: true }));
  return { start: span.start, end: span.end, setStart, setEnd };
}

/** The two datetime-local inputs of a form, named `start` and `end`. */
function SpanFields(props: { span: ReturnType<typeof useSpan>; fixedStart?: boolean }) {
  const { span } = props;
  const hint = props.fixedStart ? "The meeting has started: change its end instead." : undefined;
  return (
    <>
      <Field label="Start" hint={hint}>
        <input type="datetime-local" name="start" required disabled={props.fixedStart} value={span.start} onInput={(e) => span.setStart(e.currentTarget.value)} />
      </Field>
      <Field label="End">
        <input type="datetime-local" name="end" required value={span.end} onInput={(e) => span.setEnd(e.currentTarget.value)} />
      </Field>
    </>
  );
}

export function Bookings(props: { params: string[] }) {
  const { orgId, canChange } = useSession();
  // `#/bookings/week` opens the calendar directly.
  const [view, setView] = useState<"list" | "week">(props.params[0] === "week" ? "week" : "list");
  const [state, setState] = useState("");
  // Sorted by start, all bookings would open on the oldest; today onwards is what people want.
  const [from, setFrom] = useState(() => toLocalInput(new Date()).slice(0, 10));
  const [page, setPage] = useState(0);
  const [week, setWeek] = useState(() => weekOf(new Date()));
  const [selected, setSelected] = useState<Booking | null>(null);
  const [done, setDone] = useState<ComponentChildren>(null);
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((v) => v + 1);
  const cancelling = useAction();
  // The scheduler starts, expires and completes bookings; integrations cancel them.
  useOrgEvents((e) => e.event.startsWith("booking") && refresh());

  const cancel = (b: Booking) => {
    const live = b.state === "active" ? " The meeting is on: its room closes and everybody in it is removed." : "";
    if (!confirmed(`Cancel booking ${b.bookingId} of ${roomOf(b)} at ${formatTime(b.startTime)}?${live}`)) return;
    setDone(null);
    void cancelling.run(async () => {
      const path = { orgId, bookingId: b.bookingId };
      await must(api.DELETE("/v1/orgs/{orgId}/bookings/{bookingId}", { params: { path } }));
      setDone(`Booking ${b.bookingId} of ${roomOf(b)} is cancelled.`);
      setSelected(null);
      refresh();
    });
  };
  const viewButton = (v: "list" | "week", label: string) =>
    <button type="button" class={view === v ? "primary" : ""} aria-pressed={view === v} onClick={() => setView(v)}>{label}</button>;

  return (
    <Page title="Bookings" actions={<>{viewButton("list", "List")}{viewButton("week", "Week")}</>}>
      <p class="muted small">Times are in your time zone ({zone}).</p>
      {done && <Notice kind="ok">{done}</Notice>}
      {cancelling.error && <ErrorBox message={cancelling.error} />}
      {canChange ? (
        <CreateForm
          orgId={orgId}
          onCreated={(b) => {
            setDone(null);
            setWeek(weekOf(new Date(b.startTime))); // so the calendar shows the new booking
            refresh();
          }}
        />
      ) : (
        <p class="muted">You can see bookings; booking rooms needs an editor or owner.</p>
      )}
      {selected && (
        <BookingPanel
          key={`${selected.bookingId}@${selected.updatedAt}`}
          {...{ orgId, canChange }}
          booking={selected}
          busy={cancelling.busy}
          onClose={() => setSelected(null)}
          onCancel={cancel}
          onSaved={(b) => {
            setDone(`Booking ${b.bookingId} now runs ${formatTime(b.startTime)} – ${formatTime(b.endTime)}.`);
            setSelected(b);
            refresh();
          }}
        />
      )}
      <div class="bk-toolbar">
        <Field label="State">
          <select name="stateFilter" value={state} onChange={(e) => (setState(e.currentTarget.value), setPage(0))}>
            <option value="">All states</option>
            {STATES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </Field>
        {view === "list" && (
          <Field label="Starting from" hint="Clear to list every booking.">
            <input type="date" name="fromFilter" value={from} onChange={(e) => (setFrom(e.currentTarget.value), setPage(0))} />
          </Field>
        )}
      </div>
      {view === "list" ? (
        <ListView {...{ orgId, state, from, page, version, canChange }} busy={cancelling.busy} onPage={setPage} onOpen={setSelected} onCancel={cancel} />
      ) : (
        <WeekView {...{ orgId, state, week, version }} onWeek={setWeek} onOpen={setSelected} />
      )}
    </Page>
  );
}

function CreateForm(props: { orgId: string; onCreated: (b: Booking) => void }) {
  const { orgId } = props;
  const domains = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/domains", { params: { path: { orgId }, query: { count: 500 } } })),
    [orgId],
  );
  const hour = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
  const span = useSpan(toLocalInput(new Date(hour)), toLocalInput(new Date(hour + 3_600_000)));
  const { busy, error, run } = useAction();
  const [created, setCreated] = useState<Booking | null>(null);
  const noDomains = domains.state === "ready" && domains.data.content.length === 0;

  const submit = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (n: string) => String(f.get(n) ?? "").trim();
    const num = (n: string) => (text(n) === "" ? undefined : Number(text(n)));
    setCreated(null);
    void run(async () => {
      const duration = minutesBetween(span.start, span.end);
      checkSpan(duration);
      const body = {
        domain: text("domain"), roomName: text("room"), startTime: new Date(span.start).toISOString(), graceMinutes: num("grace"),
        meetingOptions: {
          duration, type: Number(text("type")), lock: f.has("lock"), capacity: num("capacity"),
          key: text("key") || undefined, addHostKey: f.has("addHostKey"),
        },
      };
      const r = await must(api.POST("/v1/orgs/{orgId}/bookings", { params: { path: { orgId } }, body }));
      setCreated(r.content);
      props.onCreated(r.content);
    });
  };

  return (
    <form class="card bk-form" data-testid="booking-form" onSubmit={submit} aria-labelledby="bk-new">
      <h2 id="bk-new">Book a room</h2>
      <div class="row">
        <Field label="Domain">
          {domains.state === "ready" ? (
            <select name="domain" required disabled={noDomains}>
              {domains.data.content.map((d) => <option key={d.domainId} value={d.name} selected={d.isDefault}>{d.name}</option>)}
            </select>
          ) : domains.state === "loading" ? (
            <select name="domain" disabled><option>Loading domains…</option></select>
          ) : (
            // Without the list the booking still works: the server checks the name.
            <input name="domain" required placeholder="meet.example.com" />
          )}
        </Field>
        <Field label="Room" hint="Letters, digits, - and _">
          <input name="room" required autoComplete="off" placeholder="standup" />
        </Field>
        <SpanFields span={span} />
      </div>
      {domains.state === "error" && (
        <p class="muted small">
          The domain list did not load ({domains.error}); type the domain.{" "}
          <button type="button" class="link" onClick={domains.reload}>Load domains again</button>
        </p>
      )}
      {noDomains && <Notice>The organisation has no domain yet. <a href="#/domains">Add a domain</a> first.</Notice>}
      <details>
        <summary>Meeting options</summary>
        <div class="row">
          <Field label="Type">
            <select name="type"><option value="1">Conference</option><option value="2">Webinar</option></select>
          </Field>
          <Field label="Capacity" hint="Empty: the server's default">
            <input type="number" name="capacity" min={1} inputMode="numeric" />
          </Field>
          <Field label="Grace minutes" hint="Expires if nobody has joined by then; 0: never. Default 15">
            <input type="number" name="grace" min={0} inputMode="numeric" />
          </Field>
          <Field label="Room password" hint="Optional">
            <input name="key" autoComplete="off" />
          </Field>
        </div>
        <div class="row">
          <label class="bk-check"><input type="checkbox" name="lock" /> Locked (hosts only)</label>
          <label class="bk-check"><input type="checkbox" name="addHostKey" /> Create a host key</label>
        </div>
      </details>
      {error && <ErrorBox message={error} />}
      {created && (
        <Notice kind="ok">
          Booked {roomOf(created)} from {formatTime(created.startTime)} to {formatTime(created.endTime)} (booking {created.bookingId}).
          {created.meetingOptions.hostKey && <> Host key: <code class="secret">{created.meetingOptions.hostKey}</code></>}
        </Notice>
      )}
      <button type="submit" class="primary" disabled={busy || noDomains || domains.state === "loading"}>Create booking</button>
      {busy && <span class="muted small" role="status"> Booking…</span>}
    </form>
  );
}

function BookingPanel(props: {
  orgId: string; booking: Booking; canChange: boolean; busy: boolean;
  onClose: () => void; onCancel: (b: Booking) => void; onSaved: (b: Booking) => void;
}) {
  const b = props.booking;
  const o = b.meetingOptions;
  const span = useSpan(toLocalInput(new Date(b.startTime)), toLocalInput(new Date(b.endTime)));
  const save = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  // Focus the panel when it opens; give focus back to what opened it when it closes.
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    heading.current?.focus();
    return () => opener?.isConnected && opener.focus();
  }, []);

  const submit = (e: Event) => {
    e.preventDefault();
    void save.run(async () => {
      const moved = span.start !== toLocalInput(new Date(b.startTime));
      if (!moved && span.end === toLocalInput(new Date(b.endTime))) throw new Error("Nothing changed: pick a new start or end.");
      // Unmoved, the stored start counts exactly (it may carry seconds the input drops), and
      // it is not sent: an active booking refuses any start, even its own.
      const duration = minutesBetween(moved ? span.start : b.startTime, span.end);
      checkSpan(duration);
      const body = { startTime: moved ? new Date(span.start).toISOString() : undefined, meetingOptions: { duration } };
      const path = { orgId: props.orgId, bookingId: b.bookingId };
      props.onSaved((await must(api.PATCH("/v1/orgs/{orgId}/bookings/{bookingId}", { params: { path }, body }))).content);
    });
  };
  const details: [string, ComponentChildren][] = [
    ["Start", formatTime(b.startTime)],
    ["End", `${formatTime(b.endTime)} (${o.duration} min)`],
    ["Options", optionsText(b)],
    ["Room password", o.key && <code class="secret">{o.key}</code>],
    ["Host key", o.hostKey && <code class="secret">{o.hostKey}</code>],
    ["Started", b.activatedAt && formatTime(b.activatedAt)],
    ["Finished", b.finishedAt && formatTime(b.finishedAt)],
    ["Booked", `${formatTime(b.createdAt)}, last changed ${formatTime(b.updatedAt)}`],
  ];

  return (
    <section class="card bk-panel" aria-labelledby="bk-panel-title" onKeyDown={(e) => e.key === "Escape" && props.onClose()}>
      <div class="bk-panel-head">
        <h2 id="bk-panel-title" ref={heading} tabIndex={-1}>
          Booking {b.bookingId}: <a href={roomHref(b)}>{roomOf(b)}</a> <StateBadge state={b.state} />
        </h2>
        <button type="button" onClick={props.onClose}>Close</button>
      </div>
      <dl>
        {details.filter(([, v]) => v).map(([k, v]) => (
          <div key={k}><dt>{k}</dt><dd>{v}</dd></div>
        ))}
      </dl>
      {props.canChange && changeable(b) && (
        <form data-testid="booking-edit-form" onSubmit={submit} aria-label={`Change booking ${b.bookingId}`}>
          <div class="row">
            <SpanFields span={span} fixedStart={b.state === "active"} />
          </div>
          {save.error && <ErrorBox message={save.error} />}
          <div class="row">
            <button type="submit" class="primary" disabled={save.busy}>Save changes</button>
            <button type="button" class="danger" disabled={props.busy} onClick={() => props.onCancel(b)}>Cancel booking</button>
          </div>
        </form>
      )}
    </section>
  );
}
