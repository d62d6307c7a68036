/** Lets the bench runner, the parent process, ask a Node target to collect garbage or stop. */
export function obeyRunner() {
  process.on("message", (msg) => {
    if (msg?.cmd === "gc") {
      globalThis.gc?.();
      process.send?.({ gc: true });
    } else if (msg?.cmd === "stop") {
      process.exit(0);
    }
  });
  process.on("disconnect", () => process.exit(0));
}
