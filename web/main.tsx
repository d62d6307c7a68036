/**
 * The single-page app: sign in per tab (dev sign-in, or a token handed over by the host site
 * as `#token=…`), then the chat. Preact with signals; built by scripts/build-web.mjs.
 */
import "./style.css";
import { useSignal } from "@preact/signals";
import { render } from "preact";
import type { Session } from "../src/client";
import { start } from "./state/app";
import { parseRoute, route } from "./state/route";
import { loadSession, saveSession, takeHandedOverSession, takeNotice } from "./session";
import { Shell } from "./ui/Shell";
import { SignIn } from "./ui/SignIn";

// A token handed over by the host site replaces whatever session this tab had.
const handedOver = takeHandedOverSession();
if (handedOver) saveSession(handedOver);
// The handover put the room in the address in place of the token (without a hashchange).
route.value = parseRoute(location.hash);
const initial = handedOver === undefined ? loadSession() : handedOver;
const notice = handedOver === null ? "The sign-in link did not carry a valid token." : takeNotice();
if (initial) start(initial);

function Root() {
  const session = useSignal<Session | null>(initial);
  if (!session.value) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s);
          start(s);
          session.value = s;
        }}
      />
    );
  }
  return <Shell />;
}

render(<Root />, document.getElementById("app")!);
