// Bookings: the paged list and the week calendar of the bookings screen (bookings.tsx).
import type { ComponentChildren } from "preact";
import { api, must } from "../api/client";
import { Async, Empty, formatClock, formatTime, Notice, Pager, useLoad } from "../ui";
import { addDays, type Booking, changeable, roomHref, roomOf, weekOf } from "./bookings_common";

type ListQuery = { page?: number; count: number; state?: string; from?: string; to?: string };

const PAGE_SIZE = 25;
const dayName = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const dateName = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

const listBookings = (orgId: string, query: ListQuery) =>
  must(api.GET("/v1/orgs/{orgId}/bookings", { params: { path: { orgId }, query } }));
const midnight = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate());

export const StateBadge = (props: { state: string }) => <span class={`badge bk-${props.state}`}>{props.state}</span>;

export function optionsText(b: Booking) {
  const o = b.meetingOptions;
  return [
    o.type === 2 ? "webinar" : "conference",
    `up to ${o.capacity}`,
    o.isLocked && "locked",
    o.key && "password",
    o.hostKey && "host key",
    b.graceMinutes ? `expires unjoined after ${b.graceMinutes} min` : "never expires",
  ].filter(Boolean).join(" · ");
}

/** A table cell that, on phones, becomes a labelled line of a card (see bookings.css). */
const cell = (label: string, content: ComponentChildren) => <td data-label={label}><div>{content}</div></td>;

export function ListView(props: {
  orgId: string; state: string; from: string; page: number; version: number; canChange: boolean; busy: boolean;
  onPage: (p: number) => void; onOpen: (b: Booking) => void; onCancel: (b: Booking) => void;
}) {
  const { orgId, state, from, page } = props;
  const list = useLoad(
    () => listBookings(orgId, {
      page, count: PAGE_SIZE, state: state || undefined,
      from: from ? new Date(`${from}T00:00`).toISOString() : undefined,
    }),
    [orgId, state, from, page, props.version],
  );
  const none = `No ${state ? `${state} ` : ""}bookings${from ? " from this day on" : ""}.`;
  return (
    <Async value={list}>
      {(p) => (
        <>
          {p.content.length === 0 ? (
            <Empty>{page > 0 ? "No more bookings." : none}</Empty>
          ) : (
            <div class="table-wrap">
              <table class="bk-table">
                <thead>
                  <tr>{["Room", "Start", "End", "State", "Options", "Actions"].map((h) => <th key={h} scope="col">{h}</th>)}</tr>
                </thead>
                <tbody>
                  {p.content.map((b) => {
                    const editable = props.canChange && changeable(b);
                    return (
                      <tr key={b.bookingId}>
                        {cell("Room", <><a href={roomHref(b)}>{roomOf(b)}</a> <span class="muted small">#{b.bookingId}</span></>)}
                        {cell("Start", formatTime(b.startTime))}
                        {cell("End", <>{formatTime(b.endTime)} <span class="muted small">({b.meetingOptions.duration} min)</span></>)}
                        {cell("State", <StateBadge state={b.state} />)}
                        {cell("Options", <span class="small">{optionsText(b)}</span>)}
                        <td class="bk-actions">
                          <button type="button" aria-label={`${editable ? "Edit" : "Details"} booking ${b.bookingId}`} onClick={() => props.onOpen(b)}>
                            {editable ? "Edit" : "Details"}
                          </button>
                          {editable && (
                            <button type="button" class="danger" disabled={props.busy} aria-label={`Cancel booking ${b.bookingId} of ${roomOf(b)}`} onClick={() => props.onCancel(b)}>
                              Cancel booking
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          <Pager page={page} hasNext={Boolean(p._links.next)} onPage={props.onPage} />
        </>
      )}
    </Async>
  );
}

export function WeekView(props: {
  orgId: string; state: string; week: Date; version: number; onWeek: (d: Date) => void; onOpen: (b: Booking) => void;
}) {
  const { orgId, state, week } = props;
  const end = addDays(week, 7);
  // The API filters by start time; a booking lasts at most a week, so one reaching into this
  // week started at most seven days before it.
  const data = useLoad(
    () => listBookings(orgId, { from: addDays(week, -7).toISOString(), to: end.toISOString(), count: 500, state: state || undefined }),
    [orgId, state, week.getTime(), props.version],
  );
  return (
    <>
      <nav class="bk-weeknav" aria-label="Weeks">
        <button type="button" onClick={() => props.onWeek(addDays(week, -7))}>← Previous week</button>
        <button type="button" onClick={() => props.onWeek(weekOf(new Date()))}>Today</button>
        <button type="button" onClick={() => props.onWeek(end)}>Next week →</button>
        <h2 aria-live="polite">{dateName.format(week)} – {dateName.format(addDays(week, 6))}</h2>
      </nav>
      <Async value={data}>
        {(p) => {
          const inWeek = p.content.filter((b) => new Date(b.endTime) > week && new Date(b.startTime) < end);
          return (
            <>
              {p._links.next && <Notice>More bookings than the calendar can show: filter by state or use the list.</Notice>}
              {inWeek.length === 0 && <Empty>No {state ? `${state} ` : ""}bookings this week.</Empty>}
              <div class="bk-week">
                {Array.from({ length: 7 }, (_, i) => (
                  <Day key={i} day={addDays(week, i)} bookings={inWeek} onOpen={props.onOpen} />
                ))}
              </div>
            </>
          );
        }}
      </Async>
    </>
  );
}

function Day(props: { day: Date; bookings: Booking[]; onOpen: (b: Booking) => void }) {
  const { day } = props;
  const next = addDays(day, 1);
  const items = props.bookings.filter((b) => new Date(b.startTime) < next && new Date(b.endTime) > day);
  const today = day.getTime() === midnight(new Date()).getTime();
  return (
    <section class={today ? "bk-day today" : "bk-day"} aria-current={today ? "date" : undefined} aria-label={dayName.format(day)}>
      <h3>{dayName.format(day)} {today && <span class="badge">today</span>}</h3>
      {items.length === 0 && <p class="muted small">No bookings</p>}
      <ul hidden={items.length === 0}>
        {items.map((b) => {
          const s = new Date(b.startTime);
          const e = new Date(b.endTime);
          return (
            <li key={b.bookingId}>
              <button type="button" class={`bk-item bk-${b.state}`} onClick={() => props.onOpen(b)}>
                {/* "…": the booking runs on from the day before or into the next day */}
                <span class="bk-when">{s >= day ? formatClock(s) : "…"} – {e <= next ? formatClock(e) : "…"}</span>
                <span class="bk-what">{roomOf(b)}</span>
                <span class="small">{b.state}</span>
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
