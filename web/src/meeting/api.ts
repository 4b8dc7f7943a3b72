// The meeting page's calls, all with the peer token (Authorization: Bearer mppt_…), through
// openapi-fetch typed by the generated OpenAPI client, like the dashboard's.
import createClient from "openapi-fetch";
import type { components, paths } from "../../generated/schema";
import { must } from "../api/client";

export type Schemas = components["schemas"];
export type PeerState = "waiting" | "admitted" | "connected" | "away";

/** A peer as events and room views show it. */
export type Peer = Omit<Schemas["Peer"], "state" | "joinedAt"> & { state?: PeerState; joinedAt?: string };

export type Room = Omit<Schemas["PeerRoom"], "peers" | "you"> & { peers: Peer[]; you?: Peer };

export interface IceConfig {
  iceServers: RTCIceServer[];
  /** `sfu`: through the media server (Janus), with `janus` set; `sfu_required`: too many
   * people for the mesh and no media server. */
  mode: "mesh" | "sfu" | "sfu_required";
  meshMaxPeers?: number;
  janus: Schemas["JanusSetup"] | null;
  /** A media server is configured but not answering. */
  sfuUnavailable: boolean;
}

export type Message = Schemas["Message"];

/** Peer types (xroom codes): 1 conference host, 2 user, 3 webinar host, 4 webinar viewer. */
export const isHostType = (type: number) => type === 1 || type === 3;
export const isViewerType = (type: number) => type === 4;

/** Enter a room by its public link (room links and host-key links). */
export async function joinByLink(
  domain: string,
  name: string,
  body: { displayName: string; key?: string; hostKey?: string },
): Promise<string> {
  const anonymous = createClient<paths>({ baseUrl: "" });
  const admitted = await must(
    anonymous.POST("/v1/rooms/{domain}/{name}/join", { params: { path: { domain, name } }, body }),
  );
  return admitted.content.peerToken;
}

export class PeerApi {
  private readonly client;
  private readonly path: { domain: string; name: string };

  constructor(
    readonly domain: string,
    readonly name: string,
    readonly token: string,
  ) {
    this.client = createClient<paths>({ baseUrl: "", headers: { Authorization: `Bearer ${token}` } });
    this.path = { domain, name };
  }

  async room(): Promise<Room> {
    const r = await must(this.client.GET("/v1/rooms/{domain}/{name}", { params: { path: this.path } }));
    return r.content as Room;
  }

  async messages(): Promise<Message[]> {
    const r = await must(
      this.client.GET("/v1/rooms/{domain}/{name}/messages", {
        params: { path: this.path, query: { count: 100 } },
      }),
    );
    return r.content;
  }

  async send(text: string): Promise<Message> {
    const r = await must(this.client.POST("/v1/rooms/{domain}/{name}/messages", { params: { path: this.path }, body: { text } }));
    return r.content;
  }

  async leave(): Promise<void> {
    await must(this.client.POST("/v1/rooms/{domain}/{name}/leave", { params: { path: this.path } }));
  }

  /** ICE servers and the media mode. */
  async ice(): Promise<IceConfig> {
    const r = await must(this.client.GET("/v1/rooms/{domain}/{name}/ice-servers", { params: { path: this.path } }));
    return {
      iceServers: r.iceServers as RTCIceServer[],
      mode: r.mode as IceConfig["mode"],
      meshMaxPeers: r.meshMaxPeers,
      janus: r.janus ?? null,
      sfuUnavailable: r.sfuUnavailable,
    };
  }

  admit(peerId: string) {
    return must(this.client.POST("/v1/rooms/{domain}/{name}/peers/{peerId}/admit", { params: { path: { ...this.path, peerId } } }));
  }
  deny(peerId: string) {
    return must(this.client.POST("/v1/rooms/{domain}/{name}/peers/{peerId}/deny", { params: { path: { ...this.path, peerId } } }));
  }
  kick(peerId: string) {
    return must(this.client.POST("/v1/rooms/{domain}/{name}/peers/{peerId}/kick", { params: { path: { ...this.path, peerId } } }));
  }
  /** Hosts, on the SFU: mute (or unmute) a person's audio or video at the media server. */
  mute(peerId: string, kind: Schemas["MediaKind"], muted: boolean) {
    return must(
      this.client.POST("/v1/rooms/{domain}/{name}/peers/{peerId}/mute", { params: { path: { ...this.path, peerId } }, body: { kind, muted } }),
    );
  }
  lock(locked: boolean) {
    return must(this.client.POST("/v1/rooms/{domain}/{name}/lock", { params: { path: this.path }, body: { locked } }));
  }
  end() {
    return must(this.client.POST("/v1/rooms/{domain}/{name}/end", { params: { path: this.path } }));
  }
}
