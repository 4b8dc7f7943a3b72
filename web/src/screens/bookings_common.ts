// Helpers shared by the bookings screen (bookings.tsx) and its list and week views
// (bookings_views.tsx).
import type { Schemas } from "../api/client";

export type Booking = Schemas["Booking"];

/** Only scheduled and active bookings change or cancel (the server answers 409 otherwise). */
export const changeable = (b: Booking) => b.state === "scheduled" || b.state === "active";
export const roomOf = (b: Booking) => `${b.domain}/${b.roomName}`;
export const roomHref = (b: Booking) => `#/room/${encodeURIComponent(b.domain)}/${encodeURIComponent(b.roomName)}`;

/** Local midnight `n` days after `d`'s day (not n × 24 h: days around daylight saving differ). */
export const addDays = (d: Date, n: number) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
/** Monday 00:00 of the week holding `d`. */
export const weekOf = (d: Date) => addDays(d, -((d.getDay() + 6) % 7));
