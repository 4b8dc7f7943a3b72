// The meeting page's calls, all with the peer token (Authorization: Bearer mppt_…). Calls in
// the generated OpenAPI document go through openapi-fetch typed by it; the few the meeting
// contract adds (issue 30: presence, lobby, host actions, ICE) are typed here by that contract
// until they are in openapi.json.
import createClient from "openapi-fetch";
import type { components, paths } from "../../generated/schema";
import { ApiFailure, describeError, must } from "../api/client";

export type Schemas = components["schemas"];
export type PeerState = "waiting" | "admitted" | "connected" | "away";

/** A peer as events and room views show it; `state`/`connectedAt` come with presence. */
export interface Peer {
  id: string;
  type: number;
  displayName: string;
  joinedAt?: string;
  state?: PeerState;
  connectedAt?: string | null;
}

export interface You {
  peerId: string;
  role: "host" | "user" | "viewer";
  state: PeerState;
}

export type Room = Omit<Schemas["PeerRoom"], "peers"> & { you?: You; hostPresent?: boolean; peers: Peer[] };

export interface IceConfig {
  iceServers: RTCIceServer[];
  mode: "mesh" | "sfu_required";
  meshMaxPeers?: number;
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
  private readonly base: string;
  private readonly path: { domain: string; name: string };

  constructor(
    readonly domain: string,
    readonly name: string,
    readonly token: string,
  ) {
    this.client = createClient<paths>({ baseUrl: "", headers: { Authorization: `Bearer ${token}` } });
    this.base = `/v1/rooms/${encodeURIComponent(domain)}/${encodeURIComponent(name)}`;
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

  /** ICE servers and the media mode; before the endpoint exists (404), host candidates only. */
  async ice(): Promise<IceConfig> {
    try {
      const r = await this.raw<IceConfig>("GET", "/ice-servers");
      return { iceServers: r.iceServers ?? [], mode: r.mode ?? "mesh", meshMaxPeers: r.meshMaxPeers };
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 404 && e.code !== "room_not_found") {
        return { iceServers: [], mode: "mesh" };
      }
      throw e;
    }
  }

  admit(peerId: string) {
    return this.raw("POST", `/peers/${encodeURIComponent(peerId)}/admit`);
  }
  deny(peerId: string) {
    return this.raw("POST", `/peers/${encodeURIComponent(peerId)}/deny`);
  }
  kick(peerId: string) {
    return this.raw("POST", `/peers/${encodeURIComponent(peerId)}/kick`);
  }
  lock(locked: boolean) {
    return this.raw("POST", "/lock", { locked });
  }
  end() {
    return this.raw("POST", "/end");
  }

  private async raw<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new Error(`the server could not be reached (${describeError(e)})`);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { detail: `${response.status} ${response.statusText}` };
    }
    if (!response.ok) {
      throw new ApiFailure(describeError(parsed), response.status, parsed);
    }
    const hal = parsed as { content?: T } | null;
    return (hal && typeof hal === "object" && "content" in hal ? hal.content : parsed) as T;
  }
}
