import type { Logger } from '@apphook/core';
import type pg from 'pg';

/** The LISTEN connection's states; the transitions and invariants are described in listen-connection.ts. */
export type ListenState = 'idle' | 'connecting' | 'listening' | 'lost' | 'closed';

export const NEXT: Record<ListenState, readonly ListenState[]> = {
  idle: ['connecting', 'closed'],
  connecting: ['listening', 'lost', 'idle', 'closed'],
  listening: ['lost', 'idle', 'closed'],
  lost: ['connecting', 'idle', 'closed'],
  closed: [],
};

export interface ListenConnectionOptions {
  /** How to connect: the same settings the ORM uses (see `pgConfigFromOrm`). */
  connection: pg.ClientConfig;
  /** The NOTIFY channel. */
  channel: string;
  /**
   * A `SELECT 1` every this many ms notices a connection that died silently (a NAT or firewall dropping it);
   * connecting and LISTEN must answer within the same time.
   * @default 15000
   */
  heartbeatMs?: number;
  /**
   * How long to wait for the self-test notification after LISTEN; if it never arrives (a pooler in transaction
   * mode), push is reported unavailable once and reloaders poll.
   * @default 3000
   */
  selfTestTimeoutMs?: number;
  /** First reconnect delay; doubles up to `reconnectMaxMs`. @default 250 */
  reconnectBaseMs?: number;
  /** @default 10000 */
  reconnectMaxMs?: number;
  /** Payloads longer than this are ignored and counted (G10). @default 1024 */
  maxPayloadBytes?: number;
  logger?: Logger | false;
}

export interface ListenStats {
  /** `true` while LISTEN is active and its notifications arrive. */
  listening: boolean;
  /** Where the state machine is: `idle`, `connecting`, `listening`, `lost` or `closed`. */
  state: ListenState;
  notifications: number;
  ignored: number;
  reconnects: number;
  /** `false` when the self-test showed that LISTEN cannot work through this connection. */
  pushAvailable: boolean;
}
