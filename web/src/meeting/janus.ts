// The SFU path: a Janus VideoRoom client (plain JSON, no janus.js) over meetplane's Janus
// socket. Publishers join with a publisher handle (meetplane forces the room, `id` = peerId
// and `display`), publish what they have with `configure` + an offer, and learn of the
// others' feeds from the join answer and `publishers` events. Each remote feed gets a
// subscriber handle of its own (one RTCPeerConnection per person, like the mesh), answered
// with `start`. Viewers (webinar) do not join as publishers: they subscribe to the feeds the
// room asks for (its hosts), retrying while a feed is not published yet.
//
// When the socket drops or Janus forgets the session (a Janus restart), everything is set up
// again on a new session with a short backoff; after `giveUpMs` of failing, `onLost` lets the
// room ask the server again (it may say mesh now).
import type { Schemas } from "./api";
import { JanusError, JanusSocket, type Frame } from "./janus_socket";
import { type MediaPlane, type RemoteStats, type RemoteStream, connectionStats } from "./stats";

export type JanusSetup = Schemas["JanusSetup"];

interface Feed {
  peerId: string;
  handle: number;
  pc: RTCPeerConnection | null;
  stream: MediaStream;
}

const RETRY_MS = 2000;

export class Sfu implements MediaPlane {
  readonly kind = "sfu";
  localStream: MediaStream | null = null;
  /** Names Janus gave the feeds (meetplane sets `display` to the person's name). */
  readonly displays = new Map<string, string>();
  /** How many Janus sessions were set up (1 + reconnects), and the last failure (tests). */
  sessions = 0;
  lastError: string | null = null;
  /** A host muted (or unmuted) this page's audio or video at Janus (VideoRoom `moderate`). */
  onModeration: (kind: string, muted: boolean) => void = () => {};
  private sock: JanusSocket | null = null;
  private publisher: { handle: number; pc: RTCPeerConnection | null; privateId?: unknown } | null = null;
  private readonly feeds = new Map<string, Feed>();
  /** Feeds the room wants (viewers: its hosts); subscribed when Janus has them. */
  private wanted = new Set<string>();
  private closed = false;
  private attempt = 0;
  private lostAt = 0;
  private timer: number | undefined;
  private retry: number | undefined;

  constructor(
    readonly setup: JanusSetup,
    private readonly token: string,
    readonly config: RTCConfiguration,
    /** Whether this page publishes (a publisher role with something to send). */
    readonly sends: boolean,
    private readonly onChange: () => void,
    /** Reconnecting failed for longer than `giveUpMs`, or meetplane ended the peer (`ended`). */
    private readonly onLost: (ended: boolean) => void,
    private readonly giveUpMs = 20_000,
  ) {}

  start() {
    void this.connect();
    this.retry = window.setInterval(() => this.subscribeWanted(), RETRY_MS);
  }

  /** Viewers: the feeds to watch (present hosts); others are dropped. */
  want(peerIds: string[]) {
    this.wanted = new Set(peerIds.filter((id) => id !== this.setup.feedId));
    for (const id of this.feeds.keys()) if (!this.wanted.has(id)) this.drop(id);
    this.subscribeWanted();
  }

  /** A person left the room: their feed is gone. */
  drop(peerId: string) {
    const f = this.feeds.get(peerId);
    if (!f) return;
    this.feeds.delete(peerId);
    f.pc?.close();
    this.sock?.detach(f.handle);
    this.onChange();
  }

  streams(): RemoteStream[] {
    return [...this.feeds.values()].map((f) => ({ peerId: f.peerId, stream: f.stream, state: f.pc?.connectionState ?? "new" }));
  }

  async setVideo(track: MediaStreamTrack | null) {
    const pub = this.publisher;
    const sock = this.sock;
    if (!pub || !sock) return;
    const video = pub.pc?.getTransceivers().find((t) => t.receiver.track.kind === "video");
    if (video) return video.sender.replaceTrack(track);
    if (!track) return;
    // Nothing was sent as video (no camera): add it and publish (again).
    pub.pc ??= this.peerConnection(sock, pub.handle);
    pub.pc.addTransceiver(track, { direction: "sendonly", streams: [this.localStream ?? new MediaStream([track])] });
    await this.offer(sock, pub.handle, pub.pc);
    this.onChange();
  }

  async stats(): Promise<RemoteStats[]> {
    const own = this.publisher?.pc ? [connectionStats(this.setup.feedId, this.publisher.pc)] : [];
    return Promise.all([...own, ...[...this.feeds.values()].filter((f) => f.pc).map((f) => connectionStats(f.peerId, f.pc!))]);
  }

  connections(): RTCPeerConnection[] {
    const all = [this.publisher?.pc, ...[...this.feeds.values()].map((f) => f.pc)];
    return all.filter((pc): pc is RTCPeerConnection => !!pc);
  }

  /** Test hook: try to join as a publisher on a handle of its own (a viewer is refused, 433).
   * Resolves "joined" or the error code. */
  async tryPublisherJoin(): Promise<string | number> {
    const sock = this.sock;
    if (!sock) return 0;
    const handle = await sock.attach();
    try {
      await sock.message(handle, { request: "join", ptype: "publisher", room: this.setup.room, id: this.setup.feedId });
      return "joined";
    } catch (e) {
      return e instanceof JanusError ? e.code : String(e);
    } finally {
      sock.detach(handle);
    }
  }

  close() {
    this.closed = true;
    window.clearTimeout(this.timer);
    window.clearInterval(this.retry);
    this.teardown();
  }

  private async connect() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const sock = new JanusSocket(`${scheme}://${location.host}${this.setup.socketPath}?token=${encodeURIComponent(this.token)}`, {
      event: (handle, f) => this.event(sock, handle, f),
      lost: (ended) => this.lost(sock, ended),
    });
    this.sock = sock;
    try {
      await sock.open();
      if (this.setup.role === "publisher") await this.joinAsPublisher(sock);
      this.sessions += 1;
      this.attempt = 0;
      this.lostAt = 0;
      this.subscribeWanted();
      this.onChange();
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      if (e instanceof JanusError && e.code === 4401) return this.lost(sock, true);
      console.warn("media server:", this.lastError);
      this.lost(sock, false);
    }
  }

  private async joinAsPublisher(sock: JanusSocket) {
    const handle = await sock.attach();
    this.publisher = { handle, pc: null };
    const joined = await sock.message(handle, { request: "join", ptype: "publisher", room: this.setup.room, id: this.setup.feedId });
    this.publisher.privateId = joined.data.private_id;
    this.publishers(sock, joined.data.publishers);
    if (!this.sends || !this.localStream?.getTracks().length) return;
    const pc = this.peerConnection(sock, handle);
    this.publisher.pc = pc;
    this.localStream.getTracks().forEach((t) => pc.addTransceiver(t, { direction: "sendonly", streams: [this.localStream!] }));
    await this.offer(sock, handle, pc);
  }

  /** The kind of the published stream `mid` ("audio" when unknown). */
  private kindOf(mid: string): string {
    const t = this.publisher?.pc?.getTransceivers().find((x) => x.mid === mid);
    return t?.sender.track?.kind ?? "audio";
  }

  /** Offer what the connection sends; Janus answers `configured`. */
  private async offer(sock: JanusSocket, handle: number, pc: RTCPeerConnection) {
    await pc.setLocalDescription(await pc.createOffer());
    const kinds = pc.getTransceivers().map((t) => t.sender.track?.kind);
    const r = await sock.message(handle, { request: "configure", audio: kinds.includes("audio"), video: kinds.includes("video") }, pc.localDescription!);
    if (r.jsep) await pc.setRemoteDescription(r.jsep);
  }

  /** Feeds Janus announced: subscribe to each (not our own). */
  private publishers(sock: JanusSocket, list: unknown) {
    if (!Array.isArray(list)) return;
    for (const p of list as Frame[]) {
      const id = String(p.id);
      if (typeof p.display === "string") this.displays.set(id, p.display);
      if (id !== this.setup.feedId) void this.subscribe(sock, id);
    }
  }

  private subscribeWanted() {
    const sock = this.sock;
    if (!sock?.sessionId || this.closed) return;
    for (const id of this.wanted) if (!this.feeds.has(id)) void this.subscribe(sock, id);
  }

  private async subscribe(sock: JanusSocket, peerId: string) {
    if (this.feeds.has(peerId) || this.closed) return;
    const feed: Feed = { peerId, handle: 0, pc: null, stream: new MediaStream() };
    this.feeds.set(peerId, feed);
    try {
      feed.handle = await sock.attach();
      const body: Frame = { request: "join", ptype: "subscriber", room: this.setup.room, streams: [{ feed: peerId }] };
      if (this.publisher?.privateId !== undefined) body.private_id = this.publisher.privateId;
      const r = await sock.message(feed.handle, body);
      if (this.feeds.get(peerId) !== feed) return sock.detach(feed.handle);
      if (r.jsep) await this.answer(sock, feed, r.jsep);
      this.onChange();
    } catch (e) {
      // Not published yet (428) or gone meanwhile: a later announcement or retry subscribes.
      if (this.feeds.get(peerId) === feed) this.feeds.delete(peerId);
      if (feed.handle) sock.detach(feed.handle);
      if (!(e instanceof JanusError && e.code === 428)) console.warn(`subscribing to ${peerId}:`, e);
    }
  }

  /** Janus offers a feed's streams; answer with `start`. An offer with nothing left to
   * receive (the publisher went away) ends the feed: it is subscribed again when published. */
  private async answer(sock: JanusSocket, feed: Feed, offer: RTCSessionDescriptionInit) {
    if (!carriesMedia(offer.sdp ?? "")) return this.drop(feed.peerId);
    if (!feed.pc) {
      const pc = this.peerConnection(sock, feed.handle);
      pc.ontrack = ({ track }) => {
        feed.stream.getTracks().filter((t) => t.kind === track.kind).forEach((t) => feed.stream.removeTrack(t));
        feed.stream.addTrack(track);
        this.onChange();
      };
      feed.pc = pc;
    }
    await feed.pc.setRemoteDescription(offer);
    await feed.pc.setLocalDescription(await feed.pc.createAnswer());
    await sock.message(feed.handle, { request: "start" }, feed.pc.localDescription!);
  }

  private peerConnection(sock: JanusSocket, handle: number): RTCPeerConnection {
    const pc = new RTCPeerConnection(this.config);
    pc.onicecandidate = ({ candidate }) => sock.trickle(handle, candidate);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") this.failed(sock, handle);
      this.onChange();
    };
    return pc;
  }

  /** A media connection failed (or Janus hung it up): the publisher's needs a new session; a
   * feed is subscribed again. */
  private failed(sock: JanusSocket, handle: number) {
    if (sock !== this.sock) return;
    if (handle === this.publisher?.handle) return this.lost(sock, false);
    const feed = [...this.feeds.values()].find((x) => x.handle === handle);
    if (!feed) return;
    this.drop(feed.peerId);
    void this.subscribe(sock, feed.peerId);
  }

  private event(sock: JanusSocket, handle: number, f: Frame) {
    if (sock !== this.sock) return;
    const feed = [...this.feeds.values()].find((x) => x.handle === handle);
    if (f.janus === "hangup") return this.failed(sock, handle);
    if (f.janus !== "event") return;
    const data = ((f.plugindata as Frame | undefined)?.data ?? {}) as Frame;
    const jsep = f.jsep as RTCSessionDescriptionInit | undefined;
    if (feed && jsep?.type === "offer") {
      void this.answer(sock, feed, jsep).catch((e) => console.warn("renegotiating a feed:", e));
      return;
    }
    if (handle !== this.publisher?.handle) return;
    if (typeof data.moderation === "string" && (data.id === undefined || String(data.id) === this.setup.feedId)) {
      const kind = this.kindOf(String(data.mid ?? ""));
      this.onModeration(kind, data.moderation === "muted");
    }
    this.publishers(sock, data.publishers);
    for (const key of ["unpublished", "leaving", "kicked"]) {
      const id = data[key];
      if (id === "ok" || (key === "leaving" && data.reason === "kicked" && id === this.setup.feedId)) {
        // This peer was removed from the room (meetplane also closes the socket).
        return this.lost(sock, true);
      }
      if (id !== undefined) this.drop(String(id));
    }
  }

  /** The session is gone. Unless meetplane ended the peer, set it up again (backoff). */
  private lost(sock: JanusSocket, ended: boolean) {
    if (sock !== this.sock || this.closed) return;
    this.teardown();
    if (ended) return this.onLost(true);
    if (!this.lostAt) this.lostAt = Date.now();
    if (Date.now() - this.lostAt > this.giveUpMs) return this.onLost(false);
    this.attempt += 1;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.connect(), Math.min(2000, 250 * 2 ** this.attempt));
    this.onChange();
  }

  private teardown() {
    this.publisher?.pc?.close();
    this.publisher = null;
    this.feeds.forEach((f) => f.pc?.close());
    this.feeds.clear();
    const sock = this.sock;
    this.sock = null;
    sock?.close();
  }
}

/** Whether an SDP has an m-line that still carries something (not port 0, not inactive). */
function carriesMedia(sdp: string): boolean {
  return sdp
    .split(/\r?\nm=/)
    .slice(1)
    .some((m) => !/^\S+ 0 /.test(m) && !/\na=inactive/.test(m));
}
