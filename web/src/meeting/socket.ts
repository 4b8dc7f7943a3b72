// The peer's realtime socket: events of its room, signals from other peers. It reconnects by
// itself after a blip (backoff, the same peer token) for as long as the server may still hold
// the seat; a close with 4401 means the peer's presence ended (left, kicked, denied, ended).

export interface RoomEvent {
  type: "event";
  event: string;
  payload: Record<string, unknown>;
}

export interface Handlers {
  welcome(peerId: string, state: string | undefined): void;
  event(e: RoomEvent): void;
  signal(from: string, data: Record<string, unknown>): void;
  error(code: string, message: string): void;
  /** The connection dropped; the socket is trying again. */
  interrupted(): void;
  /** The server ended this peer's presence, or reconnecting failed for longer than `giveUpMs`. */
  closed(reason: string, byServer: boolean): void;
}

/** Code the server closes a socket with when its credential ends. */
const CREDENTIAL_ENDED = 4401;

export class RoomSocket {
  private socket: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private lostAt = 0;
  private timer: number | undefined;
  private queue: string[] = [];

  constructor(
    private readonly token: string,
    private readonly handlers: Handlers,
    /** The server's reconnect grace (20 s by default): past it the seat is gone anyway. */
    private readonly giveUpMs = 25_000,
  ) {}

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/realtime?token=${encodeURIComponent(this.token)}`);
    this.socket = socket;
    socket.onmessage = (m) => this.receive(String(m.data));
    socket.onclose = (e) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      if (e.code === CREDENTIAL_ENDED) {
        this.stopped = true;
        this.handlers.closed(e.reason || "you are no longer in the room", true);
        return;
      }
      if (!this.lostAt) this.lostAt = Date.now();
      if (Date.now() - this.lostAt > this.giveUpMs) {
        this.stopped = true;
        this.handlers.closed("the connection to the server was lost", false);
        return;
      }
      this.handlers.interrupted();
      this.attempt += 1;
      this.timer = window.setTimeout(() => this.open(), Math.min(4000, 250 * 2 ** this.attempt));
    };
  }

  send(message: Record<string, unknown>) {
    const text = JSON.stringify(message);
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(text);
    else this.queue.push(text);
  }

  /** Drop the connection as a network blip would (tests and the "reconnect" path). */
  interrupt() {
    this.socket?.close();
  }

  close() {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close();
  }

  private receive(text: string) {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    switch (msg.type) {
      case "welcome": {
        this.attempt = 0;
        this.lostAt = 0;
        const queued = this.queue.splice(0);
        queued.forEach((q) => this.socket?.send(q));
        this.handlers.welcome(String(msg.peerId), msg.state as string | undefined);
        break;
      }
      case "event":
        this.handlers.event(msg as unknown as RoomEvent);
        break;
      case "signal":
        this.handlers.signal(String(msg.from), (msg.data ?? {}) as Record<string, unknown>);
        break;
      case "error":
        this.handlers.error(String(msg.code), String(msg.message ?? ""));
        break;
    }
  }
}
