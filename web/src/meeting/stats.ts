// What the tests (and diagnosis) read of a media connection: video frames decoded, audio
// bytes received, and the selected candidate pair (whose ends show mesh from SFU, host from
// relay). Shared by the mesh and the SFU paths.

export interface RemoteStats {
  /** The other peer (mesh) or the publisher whose feed this is (SFU; the publisher connection
   * itself is reported with this page's own peer id). */
  peerId: string;
  framesDecoded: number;
  audioBytesReceived: number;
  localCandidateType: string | null;
  /** `address:port` of the selected pair's remote candidate. */
  remoteCandidate: string | null;
  connectionState: string;
}

export async function connectionStats(peerId: string, pc: RTCPeerConnection): Promise<RemoteStats> {
  const report = await pc.getStats();
  let framesDecoded = 0;
  let audioBytesReceived = 0;
  let pairId: string | undefined;
  const byId = new Map<string, Record<string, unknown>>();
  report.forEach((s: Record<string, unknown>) => {
    byId.set(s.id as string, s);
    if (s.type === "inbound-rtp" && s.kind === "video") framesDecoded += Number(s.framesDecoded ?? 0);
    if (s.type === "inbound-rtp" && s.kind === "audio") audioBytesReceived += Number(s.bytesReceived ?? 0);
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId as string;
  });
  if (!pairId) {
    report.forEach((s: Record<string, unknown>) => {
      if (s.type === "candidate-pair" && s.state === "succeeded" && s.nominated) pairId = s.id as string;
    });
  }
  const pair = pairId ? byId.get(pairId) : undefined;
  const local = pair ? byId.get(pair.localCandidateId as string) : undefined;
  const remote = pair ? byId.get(pair.remoteCandidateId as string) : undefined;
  const remoteAddress = (remote?.address ?? remote?.ip) as string | undefined;
  return {
    peerId,
    framesDecoded,
    audioBytesReceived,
    localCandidateType: (local?.candidateType as string | undefined) ?? null,
    remoteCandidate: remote && remoteAddress ? `${remoteAddress}:${String(remote.port)}` : null,
    connectionState: pc.connectionState,
  };
}

/** A remote person's media as the grid shows it. */
export interface RemoteStream {
  peerId: string;
  stream: MediaStream;
  state: string;
}

/** What the room needs of a media path, mesh or SFU. */
export interface MediaPlane {
  readonly kind: "mesh" | "sfu";
  /** Whether this page sends media (webinar viewers and pages without devices do not). */
  readonly sends: boolean;
  streams(): RemoteStream[];
  /** Use `track` for outgoing video (screen share, camera back). */
  setVideo(track: MediaStreamTrack | null): Promise<void>;
  stats(): Promise<RemoteStats[]>;
  /** Every RTCPeerConnection this page holds now (tests). */
  connections(): RTCPeerConnection[];
  close(): void;
}
