/**
 * A tiny element builder. Strings become text nodes, never markup, so user text passed
 * here cannot inject HTML.
 */
type Attr = string | number | boolean | null | undefined;
type Handler = (event: Event) => void;
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr | Handler> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) if (c) parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A stable hue per user id, so each person keeps their avatar colour everywhere. */
export function hueOf(id: string): number {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

export function avatar(user: { id: string; name: string }): HTMLElement {
  const el = h("span", { class: "avatar", "aria-hidden": "true" }, initial(user.name));
  el.style.setProperty("--hue", String(hueOf(user.id)));
  return el;
}

function initial(name: string): string {
  const first = [...name.trim()][0];
  return first ? first.toUpperCase() : "?";
}
