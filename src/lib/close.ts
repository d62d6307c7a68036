/**
 * Answers a client's close on a hibernatable socket. Hibernatable sockets get no automatic
 * reply at any compatibility date (web_socket_auto_reply_to_close covers only sockets accepted
 * with accept()), and this echo is also what lets the runtime end the connection at once. After
 * a close the object started, the socket is already closed and this does nothing.
 */
export function echoClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code === 1005 ? 1000 : code, reason);
  } catch {
    // already closed
  }
}
