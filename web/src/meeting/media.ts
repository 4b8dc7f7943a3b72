// Local devices: camera and microphone (with the chosen devices), their errors in words,
// and a speaking level from a WebAudio analyser.

export interface Devices {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
}

export interface Choice {
  cameraId: string;
  microphoneId: string;
}

export async function listDevices(): Promise<Devices> {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], microphones: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === "videoinput" && d.deviceId),
    microphones: all.filter((d) => d.kind === "audioinput" && d.deviceId),
  };
}

/** What a failed getUserMedia means for the person in front of it. */
export function describeMediaError(e: unknown, what: string): string {
  const name = e instanceof DOMException ? e.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return `The browser was not allowed to use your ${what}. Allow it in the address bar's site settings and try again, or join without it.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No ${what} was found. Connect one and try again, or join without it.`;
    case "NotReadableError":
    case "AbortError":
      return `Your ${what} is in use by another application or could not be started.`;
    default:
      if (!navigator.mediaDevices?.getUserMedia) {
        return "This page cannot use a camera or microphone here (it needs https or localhost).";
      }
      return `Your ${what} could not be started (${e instanceof Error ? e.message : String(e)}).`;
  }
}

export interface Opened {
  stream: MediaStream;
  errors: string[];
}

/** Open camera and microphone separately, so a missing or refused one leaves the other. */
export async function openDevices(choice: Choice, want: { camera: boolean; microphone: boolean }): Promise<Opened> {
  const stream = new MediaStream();
  const errors: string[] = [];
  const open = async (kind: "audio" | "video", id: string, what: string) => {
    try {
      const constraints: MediaTrackConstraints = id ? { deviceId: { exact: id } } : {};
      if (kind === "video") Object.assign(constraints, { width: { ideal: 640 }, height: { ideal: 360 } });
      const got = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
      got.getTracks().forEach((t) => stream.addTrack(t));
    } catch (e) {
      errors.push(describeMediaError(e, what));
    }
  };
  if (want.microphone) await open("audio", choice.microphoneId, "microphone");
  if (want.camera) await open("video", choice.cameraId, "camera");
  return { stream, errors };
}

export function stopAll(stream: MediaStream | null) {
  stream?.getTracks().forEach((t) => t.stop());
}

let context: AudioContext | null = null;

/** A function that reads the stream's loudness (the peak, 0…1, of about the last 85 ms);
 * `stop` releases the analyser. */
export function levelMeter(stream: MediaStream): { level: () => number; stop: () => void } {
  if (!stream.getAudioTracks().length || typeof AudioContext === "undefined") {
    return { level: () => 0, stop: () => {} };
  }
  context ??= new AudioContext();
  if (context.state === "suspended") void context.resume();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 4096;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    level: () => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const v of samples) peak = Math.max(peak, Math.abs(v));
      return peak;
    },
    stop: () => source.disconnect(),
  };
}
