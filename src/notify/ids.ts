/** A user's notification for an event gets the same id however often the event arrives. */
export async function notificationId(eventId: string, userId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${eventId}\n${userId}`));
  return `n_${[...new Uint8Array(digest, 0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
