// One peer's time in a meeting, without the UI: the realtime socket, the people and their
// states, the lobby, chat, and the media path (the mesh, or the SFU when the server says
// `sfu`). The UI renders it and calls its actions; it calls
// `onUpdate` after every change.
import { ApiFailure } from "../api/client";
import { type IceConfig, type Message, type Peer, type PeerApi, type PeerState, type Room, isHostType, isViewerType } from "./api";
import { Sfu } from "./janus";
import { Mesh } from "./mesh";
import { stopAll } from "./media";
import { RoomSocket } from "./socket";
import type { MediaPlane } from "./stats";

export interface Over {
  text: string;
  returnUrl: string | null;
}

/** Chat as shown: oldest first, one entry per message id. */
export interface ChatLine {
  id: number;
  displayName: string;
  text: string;
  createdAt: string;
}

const FAREWELL: Record<string, string> = {
  left: "You left the meeting.",
  kicked: "A host removed you from the meeting.",
  denied: "The host did not let you in.",
  withdrawn: "You left the lobby.",
  ended: "The meeting has ended.",
  session_ended: "The session has ended.",
  room_closed: "The meeting has ended.",
  disconnected: "You were disconnected for too long and lost your place in the meeting.",
  never_connected: "You did not connect in time and lost your place in the meeting.",
};

export class MeetingSession {
  room: Room;
  readonly peers = new Map<string, Peer>();
  me: string | null;
  myState: PeerState;
  chat: ChatLine[] = [];
  /** The media path in use: `mesh` or `sfu`. */
  media: MediaPlane | null = null;
  mesh: Mesh | null = null;
  sfu: Sfu | null = null;
  ice: IceConfig | null = null;
  notice: string | null = null;
  reconnecting = false;
  /** The last error frames the socket got (for tests and diagnosis). */
  serverErrors: string[] = [];
  /** How many times the socket was welcomed (1 + reconnects). */
  welcomes = 0;
  over: Over | null = null;
  private socket: RoomSocket;
  private welcomed = false;
  private entering = false;

  constructor(
    readonly api: PeerApi,
    room: Room,
    /** Camera and microphone to send (null: nothing, e.g. no device or a webinar viewer). */
    public local: MediaStream | null,
    private readonly relayOnly: boolean,
    private readonly onUpdate: () => void,
  ) {
    this.room = room;
    this.me = room.you?.id ?? null;
    this.myState = room.you?.state ?? "admitted";
    room.peers.forEach((p) => this.peers.set(p.id, p));
    this.socket = new RoomSocket(api.token, {
      welcome: (peerId, state) => void this.welcome(peerId, state as PeerState | undefined),
      event: (e) => this.event(e.event, e.payload),
      signal: (from, data) => this.mesh?.receive(from, data, (id) => this.accepts(id)),
      error: (code, message) => {
        this.serverErrors = [...this.serverErrors.slice(-19), `${code}: ${message}`];
        if (code !== "peer_not_present") console.warn(`server: ${code}: ${message}`);
      },
      interrupted: () => this.update(() => (this.reconnecting = true)),
      closed: (reason, byServer) => {
        if (!this.over) this.finish(byServer ? `You are no longer in the meeting (${reason}).` : "The connection to the server was lost.");
      },
    });
  }

  start() {
    this.socket.open();
  }

  get waiting() {
    return this.myState === "waiting";
  }

  /** This peer as the server last showed it (`you` of the room view, else the people list). */
  private get mine(): Peer | undefined {
    return (this.me ? this.peers.get(this.me) : undefined) ?? this.room.you;
  }

  get amHost() {
    const mine = this.mine;
    return mine ? isHostType(mine.type) : false;
  }

  get amViewer() {
    const mine = this.mine;
    return mine ? isViewerType(mine.type) : false;
  }

  /** Whether a host holds a seat: from the people as events keep them, else the room view. */
  get hostPresent() {
    const people = [...this.peers.values()];
    if (people.some((p) => p.state)) {
      return people.some((p) => isHostType(p.type) && p.state !== undefined && p.state !== "waiting");
    }
    return this.room.hostPresent ?? people.some((p) => isHostType(p.type));
  }

  get knocks(): Peer[] {
    return [...this.peers.values()].filter((p) => p.state === "waiting" && p.id !== this.me);
  }

  get present(): Peer[] {
    return [...this.peers.values()].filter((p) => p.state !== "waiting");
  }

  nameOf(peerId: string) {
    return this.peers.get(peerId)?.displayName ?? "Someone";
  }

  /** Test and blip hook: drop the socket; it reconnects by itself. */
  interruptSocket() {
    this.socket.interrupt();
  }

  async sendChat(text: string) {
    const m = await this.api.send(text);
    this.update(() => this.addChat(lineOf(m)));
  }

  async leave() {
    try {
      await this.api.leave();
    } finally {
      this.finish(FAREWELL.left);
    }
  }

  /** People whose microphone this host muted at the media server (SFU). */
  readonly mutedByMe = new Set<string>();

  /** Hosts on the SFU: mute a person's microphone at Janus, or unmute it. */
  async hostMute(peerId: string) {
    const muted = !this.mutedByMe.has(peerId);
    await this.api.mute(peerId, "audio", muted);
    this.update(() => (muted ? this.mutedByMe.add(peerId) : this.mutedByMe.delete(peerId)));
  }

  async setLocked(locked: boolean) {
    await this.api.lock(locked);
    await this.refresh();
  }

  async endForEveryone() {
    await this.api.end();
    this.finish(FAREWELL.ended);
  }

  private async welcome(peerId: string, state: PeerState | undefined) {
    this.me = peerId;
    if (state) this.myState = state;
    const first = !this.welcomed;
    this.welcomed = true;
    this.welcomes += 1;
    this.reconnecting = false;
    await this.refresh();
    if (this.waiting) return;
    if (first || !this.media) return this.enter();
    if (!this.mesh) return;
    // Back after a blip: drop connections to peers that left meanwhile, reach those that came.
    this.mesh.keepOnly(new Set(this.present.map((p) => p.id)));
    this.mesh.connectTo(this.targets());
  }

  /** Admitted: media settings, then connect to whoever is here; chat. */
  private async enter() {
    if (this.entering || this.media || this.over) return;
    this.entering = true;
    try {
      const ice = await this.api.ice();
      this.ice = ice;
      void this.loadChat();
      this.notice = null;
      if (ice.mode === "sfu_required") {
        this.update(() => (this.notice = ice.sfuUnavailable
          ? "The media server is unavailable, and this meeting has more people than direct connections can carry. Chat still works."
          : "This room has more people than a mesh call can carry: it needs the SFU, which this server does not run yet. Chat still works."));
        return;
      }
      if (ice.sfuUnavailable) this.notice = "The media server is unavailable: using direct connections.";
      const config: RTCConfiguration = { iceServers: ice.iceServers, iceTransportPolicy: this.relayOnly ? "relay" : "all" };
      const sends = !this.amViewer && !!this.local?.getTracks().length;
      if (this.amViewer) {
        stopAll(this.local);
        this.local = null;
      }
      if (ice.mode === "sfu" && ice.janus) this.startSfu(config, sends && ice.janus.role === "publisher");
      else this.startMesh(config, sends);
      window.__meetplaneMediaMode = this.media!.kind;
      this.onUpdate();
    } catch (e) {
      if (e instanceof ApiFailure && e.code === "peer_waiting") this.myState = "waiting";
      else this.update(() => (this.notice = `Media could not start: ${e instanceof Error ? e.message : e}`));
    } finally {
      this.entering = false;
    }
  }

  private startMesh(config: RTCConfiguration, sends: boolean) {
    const mesh = new Mesh(this.me!, config, (to, data) => this.socket.send({ type: "signal", to, data }), () => this.onUpdate(), sends);
    mesh.localStream = this.local;
    this.mesh = mesh;
    this.media = mesh;
    mesh.connectTo(this.targets());
  }

  private startSfu(config: RTCConfiguration, sends: boolean) {
    const sfu = new Sfu(this.ice!.janus!, this.api.token, config, sends, () => this.onUpdate(), (ended) => {
      // Ended: the realtime socket says why. Otherwise ask the server again (maybe mesh now).
      if (ended || this.over || this.sfu !== sfu) return;
      sfu.close();
      this.sfu = null;
      this.media = null;
      void this.enter();
    });
    sfu.localStream = this.local;
    sfu.onModeration = (kind, muted) =>
      this.update(() => (this.notice = muted ? `A host muted your ${kind === "audio" ? "microphone" : "camera"}.` : null));
    this.sfu = sfu;
    this.media = sfu;
    this.watchFeeds();
    sfu.start();
  }

  /** SFU viewers subscribe to the present people who send (the hosts). */
  private watchFeeds() {
    if (this.sfu?.setup.role !== "subscriber") return;
    this.sfu.want(this.present.filter((p) => p.id !== this.me && !isViewerType(p.type)).map((p) => p.id));
  }

  /** Media connections (for tests): every RTCPeerConnection of this page. */
  connections(): RTCPeerConnection[] {
    return this.media?.connections() ?? [];
  }

  /** Peers to connect to now: connected (or, without presence states, present), and one of us sends. */
  private targets(): string[] {
    return [...this.peers.values()]
      .filter((p) => p.id !== this.me && (p.state === undefined || p.state === "connected"))
      .filter((p) => this.accepts(p.id))
      .map((p) => p.id);
  }

  /** Whether media flows between us and `peerId`: webinar viewers only watch hosts. (The
   * server relays signals between present, admitted peers only.) */
  private accepts(peerId: string): boolean {
    const p = this.peers.get(peerId);
    const theySend = p ? !isViewerType(p.type) : true;
    return !this.amViewer || theySend;
  }

  private async refresh() {
    try {
      const room = await this.api.room();
      this.update(() => {
        this.room = room;
        if (room.you?.state) this.myState = room.you.state;
        this.peers.clear();
        room.peers.forEach((p) => this.peers.set(p.id, p));
      });
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 401) this.finish("You are no longer in the meeting.");
    }
  }

  private event(kind: string, payload: Record<string, unknown>) {
    const client = payload.client as Peer | undefined;
    switch (kind) {
      case "clientWaiting":
      case "clientUpdated":
        if (client) this.update(() => this.setPeer(client));
        break;
      case "clientAdded":
        if (!client) break;
        {
          const letIn = client.id === this.me && this.waiting;
          // Admitted: no longer waiting, whatever an earlier clientWaiting said.
          this.update(() => this.setPeer({ ...client, state: client.state ?? "admitted" }));
          if (letIn) void this.refresh().then(() => this.enter());
        }
        break;
      case "clientsRemoved": {
        const gone = (payload.clients as Peer[] | undefined) ?? [];
        const reason = String(payload.reason ?? "left");
        if (gone.some((c) => c.id === this.me)) {
          this.finish(FAREWELL[reason] ?? "You are no longer in the meeting.");
          return;
        }
        this.update(() => gone.forEach((c) => {
          this.peers.delete(c.id);
          this.mesh?.drop(c.id);
          this.sfu?.drop(c.id);
        }));
        break;
      }
      case "roomRemoved":
        this.finish(FAREWELL.ended);
        break;
      case "chatMessage": {
        const m = payload.message as { id: number; sender?: { displayName?: string }; text: string; createdAt: string };
        this.update(() => this.addChat({ id: m.id, displayName: m.sender?.displayName ?? "", text: m.text, createdAt: m.createdAt }));
        break;
      }
      default:
        // Lock changes and others: the room view has the truth.
        if (kind.startsWith("room")) void this.refresh();
    }
  }

  private setPeer(p: Peer) {
    const known = this.peers.get(p.id);
    this.peers.set(p.id, { ...known, ...p });
    if (p.id === this.me && p.state) this.myState = p.state;
  }

  private async loadChat() {
    try {
      const messages = await this.api.messages();
      this.update(() => messages.slice().reverse().forEach((m) => this.addChat(lineOf(m))));
    } catch {
      // Chat is optional; the room works without it.
    }
  }

  private addChat(line: ChatLine) {
    if (this.chat.some((c) => c.id === line.id)) return;
    this.chat = [...this.chat, line].sort((a, b) => a.id - b.id);
  }

  private finish(text: string) {
    if (this.over) return;
    this.socket.close();
    this.media?.close();
    stopAll(this.local);
    this.update(() => (this.over = { text, returnUrl: this.room.returnUrl ?? null }));
  }

  private update(change: () => void) {
    change();
    this.watchFeeds();
    this.onUpdate();
  }
}

function lineOf(m: Message): ChatLine {
  return { id: m.messageId, displayName: m.displayName, text: m.text, createdAt: m.createdAt };
}
