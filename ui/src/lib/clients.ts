// The Clients page's view of what `list_clients` returns: one row per file, grouped by client.
// Most clients have one file; Claude Code has `~/.claude.json` and a `.mcp.json` in each project,
// and a project whose folder is gone comes back as a row with a problem.

import type { ClientKind } from "./bindings/ClientKind";
import type { DetectedClient } from "./bindings/DetectedClient";

/** One client found on this computer, with each of its files. */
export type ClientGroup = {
  client: ClientKind;
  displayName: string;
  /** The files found, and those that could not be read (with their problem). */
  files: DetectedClient[];
  /** Some file of it goes through Gatehouse (Disconnect undoes it). */
  connected: boolean;
  running: boolean | null;
  /** Some file of it can be connected. */
  usable: boolean;
};

/** The clients with at least one file found, in the backend's order. */
export function groupClients(list: DetectedClient[]): ClientGroup[] {
  const groups: ClientGroup[] = [];
  for (const row of list) {
    let group = groups.find((g) => g.client === row.client);
    if (!group) {
      group = {
        client: row.client,
        displayName: row.displayName,
        files: [],
        connected: false,
        running: row.running,
        usable: false,
      };
      groups.push(group);
    }
    if (!row.found && row.problem === null) continue;
    group.files.push(row);
    group.connected ||= row.connected;
    group.usable ||= row.found && row.problem === null;
  }
  return groups.filter((g) => g.files.some((f) => f.found));
}

/** The clients none of whose files was found, once each. */
export function missingClients(list: DetectedClient[]): DetectedClient[] {
  const found = new Set(list.filter((c) => c.found).map((c) => c.client));
  const seen = new Set<ClientKind>();
  return list.filter((c) => {
    if (found.has(c.client) || seen.has(c.client)) return false;
    seen.add(c.client);
    return true;
  });
}
