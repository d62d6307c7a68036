/**
 * The message every baseline target builds for a `send`: the contract's shape, the same
 * fields and work as the project's own, so the targets differ only in how they deliver it.
 */
export function buildMessage({ roomId, seq, clientId, author, text }) {
  return {
    id: crypto.randomUUID(),
    roomId,
    seq,
    clientId,
    author,
    text: text.trim(),
    createdAt: new Date().toISOString(),
    editedAt: null,
    deletedAt: null,
    replyTo: null,
    attachments: [],
    reactions: {},
  };
}
