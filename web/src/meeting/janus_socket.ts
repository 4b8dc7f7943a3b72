// The Janus API in plain JSON over meetplane's Janus socket (GET {socketPath}?token=…,
// subprotocol `janus-protocol`): meetplane authenticates the peer, adds the Janus secrets and
// the peer's own Janus token, and relays frames. One JanusSocket is one Janus session: create,
// keepalive every 25 s, requests matched to answers by transaction, and events by handle.
// A dropped socket or a session Janus no longer knows ends it (`lost`); the caller opens a new one.

export type Frame = Record<string, unknown>;

/** A Janus or VideoRoom error: `code` is Janus's (403 refused by meetplane, 433 unauthorized,
 * 428 no such feed, 426 no such room, …). */
export class JanusError extends Error {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(`${reason} (${code})`);
  }
}

/** Code meetplane closes the socket with when the peer's presence ended (left, kicked, ended). */
export const CREDENTIAL_ENDED = 4401;
const KEEPALIVE_MS = 25_000;
/** Longer than this without an answer to a request: the path to Janus is dead. */
const ANSWER_MS = 10_000;

interface Pending {
  resolve(f: Frame): void;
  reject(e: Error): void;
  /** Settle on Janus's `ack` (keepalive, trickle) instead of the answer or event after it. */
  onAck: boolean;
  timer: number;
}

export interface SocketHandlers {
  /** An event for a handle (plugin events without a pending request, webrtcup, hangup, …). */
  event(handleId: number, frame: Frame): void;
  /** The session is gone: `ended` when meetplane ended the peer's presence (no reconnecting). */
  lost(ended: boolean): void;
}

export class JanusSocket {
  sessionId = 0;
  private socket: WebSocket | null = null;
  private readonly pending = new Map<string, Pending>();
  private keepalive: number | undefined;
  private done = false;

  constructor(
    private readonly url: string,
    private readonly handlers: SocketHandlers,
  ) {}

  /** Open the socket and create the Janus session. */
  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(this.url, "janus-protocol");
      this.socket = socket;
      socket.onopen = () => resolve();
      socket.onmessage = (m) => this.receive(String(m.data));
      socket.onclose = (e) => {
        reject(new JanusError(e.code, e.reason || "the media server socket closed"));
        this.fail(e.code === CREDENTIAL_ENDED);
      };
    });
    const created = await this.call({ janus: "create" });
    this.sessionId = Number((created.data as Frame).id);
    this.keepalive = window.setInterval(() => {
      this.call({ janus: "keepalive", session_id: this.sessionId }, true).catch(() => this.fail(false));
    }, KEEPALIVE_MS);
  }

  /** Attach a VideoRoom handle; its id. */
  async attach(): Promise<number> {
    const r = await this.call({ janus: "attach", session_id: this.sessionId, plugin: "janus.plugin.videoroom" });
    return Number((r.data as Frame).id);
  }

  /** A VideoRoom request on `handle`; resolves with its answer (sync) or event (async):
   * `{data, jsep}`. A VideoRoom `error_code` rejects. */
  async message(handle: number, body: Frame, jsep?: RTCSessionDescriptionInit): Promise<{ data: Frame; jsep?: RTCSessionDescriptionInit }> {
    const frame: Frame = { janus: "message", session_id: this.sessionId, handle_id: handle, body };
    if (jsep) frame.jsep = { type: jsep.type, sdp: jsep.sdp };
    const r = await this.call(frame);
    const data = ((r.plugindata as Frame | undefined)?.data ?? {}) as Frame;
    if (data.error_code) throw new JanusError(Number(data.error_code), String(data.error ?? "refused"));
    return { data, jsep: r.jsep as RTCSessionDescriptionInit | undefined };
  }

  trickle(handle: number, candidate: RTCIceCandidate | null) {
    const c = candidate ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex } : { completed: true };
    this.call({ janus: "trickle", session_id: this.sessionId, handle_id: handle, candidate: c }, true).catch(() => {});
  }

  detach(handle: number) {
    this.call({ janus: "detach", session_id: this.sessionId, handle_id: handle }, true).catch(() => {});
  }

  /** End the session on purpose (no `lost`). */
  close() {
    if (this.done) return;
    this.done = true;
    if (this.sessionId && this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ janus: "destroy", session_id: this.sessionId, transaction: tx() }));
    }
    this.stop();
  }

  private call(frame: Frame, onAck = false): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (this.done || socket?.readyState !== WebSocket.OPEN) return reject(new JanusError(0, "the media server socket is closed"));
      const transaction = tx();
      const timer = window.setTimeout(() => {
        this.pending.delete(transaction);
        reject(new JanusError(0, `no answer to ${String(frame.janus)}`));
        this.fail(false);
      }, ANSWER_MS);
      this.pending.set(transaction, { resolve, reject, onAck, timer });
      socket.send(JSON.stringify({ ...frame, transaction }));
    });
  }

  private receive(text: string) {
    let f: Frame;
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    const kind = f.janus;
    const waiting = typeof f.transaction === "string" ? this.pending.get(f.transaction) : undefined;
    if (waiting && (kind !== "ack" || waiting.onAck)) {
      this.pending.delete(f.transaction as string);
      window.clearTimeout(waiting.timer);
      if (kind === "error") {
        const e = (f.error ?? {}) as Frame;
        waiting.reject(new JanusError(Number(e.code ?? 0), String(e.reason ?? "error")));
      } else waiting.resolve(f);
      return;
    }
    if (kind === "ack") return;
    if (kind === "timeout" || (kind === "error" && (f.error as Frame | undefined)?.code === 458)) {
      // Janus no longer knows this session.
      return this.fail(false);
    }
    if (typeof f.sender === "number") this.handlers.event(f.sender, f);
  }

  private fail(ended: boolean) {
    if (this.done) return;
    this.done = true;
    this.stop();
    this.handlers.lost(ended);
  }

  private stop() {
    window.clearInterval(this.keepalive);
    for (const p of this.pending.values()) {
      window.clearTimeout(p.timer);
      p.reject(new JanusError(0, "the media server session ended"));
    }
    this.pending.clear();
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  }
}

const tx = () => crypto.randomUUID();
