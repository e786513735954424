import type { Client } from 'aedes';
import { type AclAccount, ANONYMOUS } from './acl.js';
import type { DenyReason } from './deny-reasons.js';

/**
 * Which account owns which client id. A device account's client ids are in its namespace
 * (`bin-7`, `bin-7:sensor-2`) and no other account may use them; any other id, once bound to an
 * account (connected, or with a persistent session), is refused to every other account: a CONNECT
 * with it would disconnect the connected client or resume its session (§3.1.4).
 */

/** Separates a device account's user name from the rest of its client id: `bin-7:sensor-2`. */
export const CLIENT_ID_SEPARATOR = ':';

export type ClientIdRefusal = Extract<
  DenyReason,
  'client-id-namespace' | 'client-id-taken' | 'max-persistent-sessions'
>;

/** An account's claim on a client id. */
interface ClientIdOwner {
  username: string;
  /** A clean-session=false session lives on after the connection ([MQTT-3.1.2-4]). */
  persistent: boolean;
  clients: Set<Client>;
}

export class ClientIdOwners {
  private readonly owners = new Map<string, ClientIdOwner>();
  /** Client ids as sent in CONNECT (aedes replaces an empty one by a generated id). */
  private readonly sentIds = new WeakMap<Client, string>();
  /** Persistent client ids per account: each one keeps a session (and its queue) in the broker. */
  private readonly persistentOf = new Map<string, number>();

  /**
   * `isDevice(name)`: is there a `device` account with this user name? `maxPersistentPerAccount`:
   * client ids with a persistent session one account may hold (a new one beyond it is refused).
   */
  constructor(
    private readonly isDevice: (username: string) => boolean,
    private readonly maxPersistentPerAccount = Number.POSITIVE_INFINITY,
  ) {}

  /** Client ids bound to an account (connected, or with a persistent session). */
  get size(): number {
    return this.owners.size;
  }

  /** Notes the client id the client sent in CONNECT, before aedes may replace an empty one. */
  noteSent(client: Client, clientId: string): void {
    this.sentIds.set(client, clientId);
  }

  /** Did the client send a zero-byte client id ([MQTT-3.1.3-8]: allowed with clean session only)? */
  sentEmpty(client: Client): boolean {
    return this.sentIds.get(client) === '';
  }

  /** The device account whose namespace the id is in (`bin-7`, `bin-7:...`), if any. */
  deviceNamespaceOf(clientId: string): string | undefined {
    const sep = clientId.indexOf(CLIENT_ID_SEPARATOR);
    const name = sep < 0 ? clientId : clientId.slice(0, sep);
    return this.isDevice(name) ? name : undefined;
  }

  /** Why this account may not use the client's id; binds the id to the account otherwise. */
  claim(client: Client, account: AclAccount): ClientIdRefusal | undefined {
    const id = client.id;
    const ns = this.deviceNamespaceOf(id);
    if (account.role === 'device' && account !== ANONYMOUS) {
      if (ns !== account.username || this.sentEmpty(client)) return 'client-id-namespace';
    } else if (ns !== undefined) {
      return 'client-id-namespace';
    }
    const owner = this.owners.get(id);
    if (owner && owner.username !== account.username) {
      // §3.1.4: a CONNECT with a connected client's id would disconnect it; an existing session would be resumed.
      return 'client-id-taken';
    }
    const claim = owner ?? { username: account.username, persistent: false, clients: new Set<Client>() };
    const held = this.persistentOf.get(account.username) ?? 0;
    if (!client.clean && !claim.persistent) {
      if (held >= this.maxPersistentPerAccount) return 'max-persistent-sessions';
      this.persistentOf.set(account.username, held + 1);
    } else if (client.clean && claim.persistent) {
      this.persistentOf.set(account.username, held - 1);
    }
    // [MQTT-3.1.2-6]: clean session discards any previous session of this id.
    claim.persistent = !client.clean;
    claim.clients.add(client);
    this.owners.set(id, claim);
    return undefined;
  }

  /** The client's connection, bound to `id` at login, has closed: a non-persistent id is free again. */
  release(id: string | undefined, client: Client | undefined): void {
    if (id === undefined || !client) return;
    const owner = this.owners.get(id);
    if (!owner) return;
    owner.clients.delete(client);
    if (owner.clients.size === 0 && !owner.persistent) this.owners.delete(id);
  }
}
