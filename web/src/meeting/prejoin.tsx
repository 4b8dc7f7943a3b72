// Before entering: a camera and microphone preview, device choice, clear words when a device
// is refused or missing (joining without it is fine), and the name (and password) when the
// link does not carry a peer.
import { useEffect, useRef, useState } from "preact/hooks";
import { type Choice, type Devices, listDevices, openDevices, stopAll } from "./media";

export interface Entry {
  stream: MediaStream;
  displayName: string;
  password: string;
}

export function Prejoin(props: {
  title: string;
  intro: string;
  askName: boolean;
  askPassword: boolean;
  busy: boolean;
  error: string | null;
  onEnter: (entry: Entry) => void;
}) {
  const [devices, setDevices] = useState<Devices>({ cameras: [], microphones: [] });
  const [choice, setChoice] = useState<Choice>({ cameraId: "", microphoneId: "" });
  const [want, setWant] = useState({ camera: true, microphone: true });
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [deviceErrors, setDeviceErrors] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const video = useRef<HTMLVideoElement>(null);
  const handedOver = useRef(false);

  useEffect(() => {
    let live = true;
    let opened: MediaStream | null = null;
    openDevices(choice, want).then(async ({ stream: s, errors }) => {
      if (!live) return stopAll(s);
      opened = s;
      setStream(s);
      setDeviceErrors(errors);
      // Labels and ids are only listed once the page may use a device.
      setDevices(await listDevices());
    });
    return () => {
      live = false;
      if (!handedOver.current) stopAll(opened);
    };
  }, [choice.cameraId, choice.microphoneId, want.camera, want.microphone]);

  useEffect(() => {
    if (video.current) video.current.srcObject = stream;
  }, [stream]);

  const submit = (e: Event) => {
    e.preventDefault();
    if (!stream || props.busy) return;
    handedOver.current = true;
    props.onEnter({ stream, displayName: name.trim(), password });
  };
  const hasVideo = !!stream?.getVideoTracks().length;

  return (
    <main class="prejoin">
      <h1>{props.title}</h1>
      <p class="muted" role="status" id="status">
        {props.intro}
      </p>
      <div class="preview">
        <video ref={video} autoplay playsInline muted aria-label="Your camera preview" />
        {!hasVideo && <p class="placeholder">Camera off</p>}
      </div>
      {deviceErrors.map((text) => (
        <p class="error" role="alert" key={text}>
          {text}
        </p>
      ))}
      <form onSubmit={submit} class="entry">
        <fieldset>
          <legend>Devices</legend>
          <label>
            <input type="checkbox" checked={want.camera} onChange={(e) => setWant({ ...want, camera: e.currentTarget.checked })} /> Camera
          </label>
          <select
            aria-label="Camera"
            value={choice.cameraId}
            disabled={!want.camera || !devices.cameras.length}
            onChange={(e) => setChoice({ ...choice, cameraId: e.currentTarget.value })}
          >
            <option value="">Default camera</option>
            {devices.cameras.map((d, i) => (
              <option value={d.deviceId} key={d.deviceId}>
                {d.label || `Camera ${i + 1}`}
              </option>
            ))}
          </select>
          <label>
            <input type="checkbox" checked={want.microphone} onChange={(e) => setWant({ ...want, microphone: e.currentTarget.checked })} /> Microphone
          </label>
          <select
            aria-label="Microphone"
            value={choice.microphoneId}
            disabled={!want.microphone || !devices.microphones.length}
            onChange={(e) => setChoice({ ...choice, microphoneId: e.currentTarget.value })}
          >
            <option value="">Default microphone</option>
            {devices.microphones.map((d, i) => (
              <option value={d.deviceId} key={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
          </select>
        </fieldset>
        {props.askName && (
          <label>
            Your name
            <input id="display-name" required maxLength={100} autoComplete="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
        )}
        {props.askPassword && (
          <label>
            Room password (if it has one)
            <input id="password" type="password" autoComplete="off" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
        )}
        {props.error && (
          <p class="error" role="alert">
            {props.error}
          </p>
        )}
        <button type="submit" class="go" id="join" disabled={!stream || props.busy}>
          {props.busy ? "Joining…" : "Join the meeting"}
        </button>
      </form>
    </main>
  );
}
