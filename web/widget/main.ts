/**
 * The visitor widget: `<script src="https://<chat server>/widget.js" async></script>` on any
 * page of a site in ALLOWED_ORIGINS puts a chat bubble on it. docs/widget.md has the options.
 * A classic script (not a module), so that it can read its own tag and needs no CORS to load.
 */
import { readConfig } from "./config";
import { Widget } from "./widget";

const script = document.currentScript;

function mount(): void {
  // Twice on one page (a tag copied into a template twice) would be two bubbles and two sockets.
  if (document.querySelector("edge-chat-widget") || !(script instanceof HTMLScriptElement)) return;
  document.body.append(new Widget(readConfig(script)).view.host);
}

if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount, { once: true });
