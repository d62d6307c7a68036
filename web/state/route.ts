/**
 * Where the app is, from the address's fragment, so reloads and the back button work:
 * `#<roomId>` a room (room ids never contain `/`), `#/search?q=…&room=…`, `#/admin`, empty: home.
 */
import { signal } from "@preact/signals";
import { isRoomId } from "../../src/protocol";

export type Route =
  | { kind: "home" }
  | { kind: "room"; roomId: string }
  | { kind: "search"; q: string; roomId?: string }
  | { kind: "admin" };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  if (raw.startsWith("/search")) {
    const params = new URLSearchParams(raw.split("?")[1] ?? "");
    const roomId = params.get("room") ?? undefined;
    return { kind: "search", q: params.get("q") ?? "", roomId: roomId && isRoomId(roomId) ? roomId : undefined };
  }
  if (raw === "/admin") return { kind: "admin" };
  const id = decodeURIComponent(raw);
  return isRoomId(id) ? { kind: "room", roomId: id } : { kind: "home" };
}

export const route = signal<Route>(parseRoute(location.hash));
addEventListener("hashchange", () => (route.value = parseRoute(location.hash)));

export function hrefOf(r: Route): string {
  switch (r.kind) {
    case "home":
      return "#";
    case "room":
      return `#${encodeURIComponent(r.roomId)}`;
    case "admin":
      return "#/admin";
    case "search": {
      const params = new URLSearchParams({ q: r.q });
      if (r.roomId) params.set("room", r.roomId);
      return `#/search?${params}`;
    }
  }
}

export function navigate(r: Route, replace = false): void {
  const href = hrefOf(r);
  if (replace) history.replaceState(null, "", href === "#" ? location.pathname + location.search : href);
  else location.hash = href === "#" ? "" : href;
  route.value = r;
}
