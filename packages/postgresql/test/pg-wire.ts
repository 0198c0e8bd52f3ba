/**
 * A downstream filter for `FaultProxy` that drops PostgreSQL NotificationResponse ('A') messages on the
 * connections opened while `swallow.on` is true: what LISTEN looks like through PgBouncer in transaction mode
 * (the session works, notifications never come). `swallow.count` counts the dropped ones.
 */
export function notificationSwallower(swallow: {
  on: boolean;
  count: number;
}): () => (chunk: Buffer) => Buffer {
  return () => {
    const on = swallow.on;
    let buffer = Buffer.alloc(0);
    return (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const out: Buffer[] = [];
      while (buffer.length >= 5) {
        const length = buffer.readUInt32BE(1);
        if (buffer.length < 1 + length) break;
        const message = buffer.subarray(0, 1 + length);
        buffer = buffer.subarray(1 + length);
        if (message[0] === 0x41 && on) swallow.count++;
        else out.push(message);
      }
      return Buffer.concat(out);
    };
  };
}
