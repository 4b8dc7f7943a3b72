// In the meeting: the video grid, the controls (microphone, camera, screen, leave; lock and
// end for hosts), and the chat and people panels. While the peer waits in the lobby it says
// for whom.
import { useMemo, useState } from "preact/hooks";
import { ChatPanel, Knocks, PeoplePanel } from "./panels";
import type { MeetingSession } from "./session";
import { Tile } from "./tile";

export function Lobby(props: { session: MeetingSession }) {
  const s = props.session;
  return (
    <main class="lobby">
      <h1>{s.room.name}</h1>
      <p role="status" id="lobby-status">
        {s.hostPresent ? "Waiting to be let in. A host has been told you are here." : "Waiting for the host. You will be let in once a host arrives."}
      </p>
      <button type="button" class="leave" onClick={() => void s.leave()}>
        Leave the lobby
      </button>
    </main>
  );
}

export function InRoom(props: { session: MeetingSession }) {
  const s = props.session;
  const [muted, setMuted] = useState(false);
  const [cameraOff, setCameraOff] = useState(false);
  const [screen, setScreen] = useState<MediaStreamTrack | null>(null);
  const [panel, setPanel] = useState<"chat" | "people" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const local = s.local;
  const audio = local?.getAudioTracks()[0];
  const camera = local?.getVideoTracks()[0];

  const toggleMute = () => {
    if (!audio) return;
    audio.enabled = muted;
    setMuted(!muted);
  };
  const toggleCamera = () => {
    if (!camera) return;
    camera.enabled = cameraOff;
    setCameraOff(!cameraOff);
  };
  const stopShare = async (track: MediaStreamTrack) => {
    track.stop();
    setScreen(null);
    await s.media?.setVideo(camera ?? null);
  };
  const toggleShare = async () => {
    if (screen) return stopShare(screen);
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = display.getVideoTracks()[0]!;
      track.onended = () => void stopShare(track);
      await s.media?.setVideo(track);
      setScreen(track);
    } catch (e) {
      if (!(e instanceof DOMException && e.name === "NotAllowedError")) {
        setError(`Screen sharing could not start: ${e instanceof Error ? e.message : e}`);
      }
    }
  };
  const sends = !!s.media?.sends;
  const remotes = s.media?.streams() ?? [];
  const viewerWatching = s.amViewer;
  const hostLike = s.amHost;
  const localView = useMemo(() => (screen ? new MediaStream([screen]) : local), [screen, local]);

  return (
    <div class="meeting">
      <header class="bar">
        <h1>{s.room.name}</h1>
        <span class="muted" role="status" id="status">
          {s.reconnecting ? "Reconnecting…" : viewerWatching ? "You are watching." : "You are in the meeting."}
          {s.room.isLocked && " Locked."}
        </span>
      </header>
      {s.notice && (
        <p class="notice" role="alert" id="notice">
          {s.notice}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}{" "}
          <button type="button" class="link" onClick={() => setError(null)} aria-label="Dismiss the error">
            ×
          </button>
        </p>
      )}
      {hostLike && <Knocks session={s} onError={setError} />}
      <div class="stage">
        <section class="grid" aria-label="Videos">
          {!viewerWatching && (
            <Tile stream={localView} tracks={localView?.getTracks().length ?? 0} name={s.me ? s.nameOf(s.me) : "You"} mine note={!local?.getTracks().length ? "no camera or microphone" : muted ? "muted" : cameraOff ? "camera off" : undefined} />
          )}
          {remotes.map((r) => (
            <Tile
              key={r.peerId}
              peerId={r.peerId}
              stream={r.stream}
              tracks={r.stream.getTracks().length}
              name={s.nameOf(r.peerId)}
              note={r.state === "connected" ? undefined : r.state}
            />
          ))}
          {remotes.length === 0 && !s.notice && <p class="alone muted">Nobody else is here yet.</p>}
        </section>
        {panel && (
          <aside class="side">
            {panel === "chat" ? <ChatPanel session={s} lines={s.chat} onError={setError} /> : <PeoplePanel session={s} onError={setError} />}
          </aside>
        )}
      </div>
      <nav class="controls" aria-label="Meeting controls">
        {sends && (
          <>
            <button type="button" id="mute" aria-pressed={muted} disabled={!audio} aria-label={muted ? "Unmute microphone" : "Mute microphone"} onClick={toggleMute}>
              {muted ? "Unmute" : "Mute"}
            </button>
            <button type="button" id="camera" aria-pressed={cameraOff} disabled={!camera} aria-label={cameraOff ? "Turn camera on" : "Turn camera off"} onClick={toggleCamera}>
              {cameraOff ? "Camera on" : "Camera off"}
            </button>
          </>
        )}
        {!viewerWatching && s.media && "getDisplayMedia" in (navigator.mediaDevices ?? {}) && (
          <button type="button" id="share" aria-pressed={!!screen} aria-label={screen ? "Stop sharing your screen" : "Share your screen"} onClick={() => void toggleShare()}>
            {screen ? "Stop sharing" : "Share screen"}
          </button>
        )}
        <button type="button" id="chat-toggle" aria-pressed={panel === "chat"} aria-label="Show the chat" onClick={() => setPanel(panel === "chat" ? null : "chat")}>
          Chat
        </button>
        <button type="button" id="people-toggle" aria-pressed={panel === "people"} aria-label="Show the people" onClick={() => setPanel(panel === "people" ? null : "people")}>
          People ({s.present.length}){hostLike && s.knocks.length > 0 && <span class="knock-count"> · {s.knocks.length} waiting</span>}
        </button>
        {hostLike && (
          <>
            <button type="button" id="lock" aria-pressed={s.room.isLocked} aria-label={s.room.isLocked ? "Unlock the room" : "Lock the room"} onClick={() => void s.setLocked(!s.room.isLocked).catch((e) => setError(String(e.message ?? e)))}>
              {s.room.isLocked ? "Unlock" : "Lock"}
            </button>
            <button type="button" id="end" class="danger" aria-label="End the meeting for everyone" onClick={() => confirm("End the meeting for everyone?") && void s.endForEveryone().catch((e) => setError(String(e.message ?? e)))}>
              End for all
            </button>
          </>
        )}
        <button type="button" id="leave" class="danger" aria-label="Leave the meeting" onClick={() => void s.leave()}>
          Leave
        </button>
      </nav>
    </div>
  );
}
