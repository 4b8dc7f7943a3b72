// The org's events, live, over /v1/realtime. The session cookie authenticates the socket
// (the server checks that the page is its own); it reconnects with backoff.
import { useEffect, useRef, useState } from "preact/hooks";

export interface OrgEvent {
  type: "event";
  eventId: number;
  event: string;
  domain: string | null;
  room: string | null;
  payload: Record<string, unknown>;
  occurredAt: string;
}

export type SocketState = "connecting" | "live" | "offline";

export function useOrgEvents(onEvent: (e: OrgEvent) => void): SocketState {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const [state, setState] = useState<SocketState>("connecting");
  useEffect(() => {
    let socket: WebSocket | null = null;
    let stopped = false;
    let attempt = 0;
    let timer: number | undefined;
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}/v1/realtime`);
      socket.onopen = () => {
        attempt = 0;
        socket?.send(JSON.stringify({ type: "subscribe", org: true }));
      };
      socket.onmessage = (m) => {
        const msg = JSON.parse(String(m.data));
        if (msg.type === "subscribed") setState("live");
        if (msg.type === "event") handler.current(msg as OrgEvent);
      };
      socket.onclose = () => {
        if (stopped) return;
        setState("offline");
        attempt += 1;
        timer = window.setTimeout(connect, Math.min(30_000, 500 * 2 ** attempt));
      };
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      socket?.close();
    };
  }, []);
  return state;
}

export function LiveBadge(props: { state: SocketState }) {
  const text = { connecting: "connecting…", live: "live", offline: "offline, reconnecting" }[props.state];
  return <span class={`badge ${props.state}`}>{text}</span>;
}
