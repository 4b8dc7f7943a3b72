// Browser mesh WebRTC: one RTCPeerConnection per other present peer, negotiated with the
// "perfect negotiation" pattern (the lexically smaller peer id is the polite side) over the
// server's signal relay. Each page load has its own `session` id, stamped on every signal, so
// a peer that reloaded (same peer id, new page) is recognised and its old connection replaced.
//
// Who starts: a page connects to the peers already present when it (re)loads the room; the
// others answer when its first signal arrives. A page with nothing to send asks to receive.

import { type MediaPlane, type RemoteStats, type RemoteStream, connectionStats } from "./stats";

export type Send = (to: string, data: Record<string, unknown>) => void;


const newSession = () => crypto.randomUUID();

class Connection {
  readonly pc: RTCPeerConnection;
  readonly stream = new MediaStream();
  remoteSession: string | null = null;
  private makingOffer = false;
  private ignoreOffer = false;
  private answerPending = false;

  constructor(
    readonly peerId: string,
    private readonly mesh: Mesh,
    readonly polite: boolean,
    /** This side starts: with nothing to send it offers to receive (an answering side's
     * offer brings its own m-lines, so it adds none). */
    initiator: boolean,
  ) {
    this.pc = new RTCPeerConnection(mesh.config);
    const local = mesh.localTracks();
    if (local.length) local.forEach((t) => this.pc.addTrack(t, mesh.localStream!));
    else if (initiator) {
      this.pc.addTransceiver("audio", { direction: "recvonly" });
      this.pc.addTransceiver("video", { direction: "recvonly" });
    }
    this.pc.ontrack = ({ track }) => {
      this.stream.getTracks().filter((t) => t.kind === track.kind).forEach((t) => this.stream.removeTrack(t));
      this.stream.addTrack(track);
      mesh.changed();
    };
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send({ candidate: candidate.toJSON() });
    };
    this.pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await this.pc.setLocalDescription();
        this.send({ description: this.pc.localDescription!.toJSON() });
      } catch (e) {
        console.warn("offer failed", e);
      } finally {
        this.makingOffer = false;
      }
    };
    this.pc.oniceconnectionstatechange = () => {
      if (this.pc.iceConnectionState === "failed") this.pc.restartIce();
    };
    this.pc.onconnectionstatechange = () => mesh.changed();
  }

  send(data: Record<string, unknown>) {
    this.mesh.send(this.peerId, { ...data, session: this.mesh.session });
  }

  async receive(data: Record<string, unknown>) {
    const description = data.description as RTCSessionDescriptionInit | undefined;
    const candidate = data.candidate as RTCIceCandidateInit | undefined;
    try {
      if (description) {
        const readyForOffer =
          !this.makingOffer && (this.pc.signalingState === "stable" || this.answerPending);
        const collision = description.type === "offer" && !readyForOffer;
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        this.answerPending = description.type === "answer";
        await this.pc.setRemoteDescription(description);
        this.answerPending = false;
        if (description.type === "offer") {
          await this.pc.setLocalDescription();
          this.send({ description: this.pc.localDescription!.toJSON() });
        }
      } else if (candidate) {
        try {
          await this.pc.addIceCandidate(candidate);
        } catch (e) {
          if (!this.ignoreOffer) throw e;
        }
      }
    } catch (e) {
      console.warn(`signal from ${this.peerId} failed`, e);
    }
  }

  /** Use `track` for outgoing video (screen share, camera back), renegotiating if none was sent. */
  async setVideo(track: MediaStreamTrack | null) {
    const video = this.pc
      .getTransceivers()
      .find((t) => t.receiver.track.kind === "video" && t.currentDirection !== "stopped");
    if (!video) {
      if (track) this.pc.addTrack(track, this.mesh.localStream ?? new MediaStream([track]));
      return;
    }
    await video.sender.replaceTrack(track);
    if (track && (video.direction === "recvonly" || video.direction === "inactive")) {
      video.direction = video.direction === "recvonly" ? "sendrecv" : "sendonly";
    }
  }

  close() {
    this.pc.close();
    this.stream.getTracks().forEach((t) => this.stream.removeTrack(t));
  }
}

export class Mesh implements MediaPlane {
  readonly kind = "mesh";
  readonly session = newSession();
  private readonly byPeer = new Map<string, Connection>();
  localStream: MediaStream | null = null;

  constructor(
    readonly me: string,
    readonly config: RTCConfiguration,
    readonly send: Send,
    private readonly onChange: () => void,
    /** Whether this page sends media (webinar viewers and pages without devices do not). */
    readonly sends: boolean,
  ) {}

  localTracks(): MediaStreamTrack[] {
    return this.sends && this.localStream ? this.localStream.getTracks() : [];
  }

  changed() {
    this.onChange();
  }

  /** Connect to these peers (present now, sending or receiving with us) that have no connection yet. */
  connectTo(peerIds: string[]) {
    for (const id of peerIds) {
      if (id !== this.me && !this.byPeer.has(id)) this.open(id, true);
    }
  }

  /** Close connections to peers no longer in `present`. */
  keepOnly(present: Set<string>) {
    for (const [id, c] of this.byPeer) {
      if (!present.has(id)) {
        c.close();
        this.byPeer.delete(id);
      }
    }
    this.onChange();
  }

  drop(peerId: string) {
    this.byPeer.get(peerId)?.close();
    this.byPeer.delete(peerId);
    this.onChange();
  }

  /** A signal relayed by the server (`from` is stamped by it). */
  receive(from: string, data: Record<string, unknown>, accept: (peerId: string) => boolean) {
    if (from === this.me) return;
    const session = typeof data.session === "string" ? data.session : null;
    let c = this.byPeer.get(from);
    if (c && session && c.remoteSession && c.remoteSession !== session) {
      // The other page reloaded: its old connection is gone.
      this.drop(from);
      c = undefined;
    }
    if (!c) {
      if (!accept(from)) return;
      c = this.open(from, false);
    }
    if (session && !c.remoteSession) c.remoteSession = session;
    void c.receive(data);
  }

  streams(): RemoteStream[] {
    return [...this.byPeer.values()].map((c) => ({
      peerId: c.peerId,
      stream: c.stream,
      state: c.pc.connectionState,
    }));
  }

  async setVideo(track: MediaStreamTrack | null) {
    await Promise.all([...this.byPeer.values()].map((c) => c.setVideo(track)));
  }

  async stats(): Promise<RemoteStats[]> {
    return Promise.all([...this.byPeer.values()].map((c) => connectionStats(c.peerId, c.pc)));
  }

  connections(): RTCPeerConnection[] {
    return [...this.byPeer.values()].map((c) => c.pc);
  }

  close() {
    this.byPeer.forEach((c) => c.close());
    this.byPeer.clear();
  }

  private open(peerId: string, initiator: boolean): Connection {
    const c = new Connection(peerId, this, this.me < peerId, initiator);
    this.byPeer.set(peerId, c);
    this.onChange();
    return c;
  }
}
