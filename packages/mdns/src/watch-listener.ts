import type { RegistryEvent } from "@microts/core";
import type { DnsMessage } from "./dns/dns-types.js";
import { EntryCollector, entryAddress } from "./entries.js";
import { decodeTxt } from "./txt.js";

/**
 * Turns multicast responses into watch events, one per complete entry (Go's `mdnsWatcher`), minus
 * the repeats: the announcements of one node come three times, so each watch remembers what it
 * reported per node and only reports changes.
 */
export function watchListener(domain: string, only: string | undefined, push: (e: RegistryEvent) => void) {
  const reported = new Map<string, string | null>(); // node key -> TXT hex while alive, null once deleted
  return (message: DnsMessage) => {
    const collector = new EntryCollector();
    collector.add(message);
    for (const e of collector.complete()) {
      const txt = decodeTxt(e.txt ?? []);
      if (!txt?.service || (only !== undefined && txt.service !== only)) continue;
      const suffix = `.${txt.service}.${domain}.`.toLowerCase();
      if (!e.name.toLowerCase().endsWith(suffix)) continue;
      const id = e.name.slice(0, e.name.length - suffix.length);
      const key = `${txt.service}\u0000${txt.version}\u0000${id}`;
      const signature = Buffer.concat(e.txt ?? []).toString("latin1") + entryAddress(e);
      const before = reported.get(key);
      let action: RegistryEvent["action"];
      if (e.ttl === 0) {
        if (before === null) continue;
        reported.set(key, null);
        action = "delete";
      } else {
        if (before === signature) continue;
        action = before === undefined || before === null ? "create" : "update";
        reported.set(key, signature);
      }
      push({
        action,
        timestamp: Date.now(),
        service: {
          name: txt.service,
          version: txt.version,
          endpoints: txt.endpoints,
          nodes: [{ id, address: entryAddress(e), metadata: txt.metadata }],
        },
      });
    }
  };
}
