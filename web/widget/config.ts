/**
 * The widget's settings, from the `data-` attributes of its own script tag:
 *
 *   <script src="https://chat.example.com/widget.js" data-title="Talk to us" data-color="#0f766e" async></script>
 *
 * The chat server is where the script came from, so one tag is the whole installation.
 */
export interface WidgetConfig {
  /** Origin of the chat Worker, from the script's src. */
  api: string;
  title: string;
  greeting: string;
  /** A CSS colour the browser accepts (anything else: the default). */
  color: string;
  position: "right" | "left";
  /** Offer the optional "Your name" field before the first message. */
  askName: boolean;
}

const DEFAULT_COLOR = "#2563eb";

export function readConfig(script: HTMLScriptElement): WidgetConfig {
  const data = script.dataset;
  const color = data.color?.trim() ?? "";
  return {
    api: new URL(script.src, location.href).origin,
    title: text(data.title, 80) || "Chat with us",
    greeting: text(data.greeting, 300) || "Hi! Ask us anything, we usually answer within a few minutes.",
    // CSS.supports keeps a value from breaking out of the declaration it is set in.
    color: color && CSS.supports("color", color) ? color : DEFAULT_COLOR,
    position: data.position === "left" ? "left" : "right",
    askName: data.askName !== "false",
  };
}

const text = (value: string | undefined, max: number) => (value ?? "").trim().slice(0, max);
