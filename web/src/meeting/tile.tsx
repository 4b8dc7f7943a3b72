// One video in the grid: the stream, the person's name, and a speaking indicator driven by a
// WebAudio analyser of the stream's audio.
import { useEffect, useRef, useState } from "preact/hooks";
import { levelMeter } from "./media";

/** Peak level above which a person counts as speaking, and how long the indicator holds. */
const SPEAKING = 0.06;
const HOLD_MS = 600;

export function Tile(props: {
  stream: MediaStream | null;
  name: string;
  mine?: boolean;
  /** Changes when tracks are added to the stream, so the meter and element follow. */
  tracks: number;
  note?: string;
  peerId?: string;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const [speaking, setSpeaking] = useState(false);
  useEffect(() => {
    if (video.current && video.current.srcObject !== props.stream) video.current.srcObject = props.stream;
  }, [props.stream, props.tracks]);
  useEffect(() => {
    if (!props.stream?.getAudioTracks().length) return;
    const meter = levelMeter(props.stream);
    let lastLoud = -Infinity;
    const timer = window.setInterval(() => {
      const enabled = props.stream?.getAudioTracks().some((t) => t.enabled) ?? false;
      const now = performance.now();
      if (enabled && meter.level() > SPEAKING) lastLoud = now;
      setSpeaking(now - lastLoud < HOLD_MS);
    }, 80);
    return () => {
      window.clearInterval(timer);
      meter.stop();
      setSpeaking(false);
    };
  }, [props.stream, props.tracks]);
  const hasVideo = !!props.stream?.getVideoTracks().some((t) => t.enabled && t.readyState === "live");
  return (
    <figure class={speaking ? "tile speaking" : "tile"} data-peer-id={props.peerId}>
      <video ref={video} autoplay playsInline muted={props.mine} aria-label={props.mine ? "Your video" : `Video of ${props.name}`} />
      {!hasVideo && <span class="placeholder" aria-hidden="true">{initials(props.name)}</span>}
      <figcaption>
        <span class="dot" aria-hidden="true" />
        {props.name}
        {props.mine && " (you)"}
        {speaking && <span class="sr-only"> is speaking</span>}
        {props.note && <span class="muted"> · {props.note}</span>}
      </figcaption>
    </figure>
  );
}

function initials(name: string) {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join("");
}
