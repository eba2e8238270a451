import { registryContract } from "@microts/testing";
import { createMdnsRegistry } from "./mdns-registry.js";

// Every client is a separate registry (its own sockets) on the loopback interface: they find each
// other through multicast on 127.0.0.1, exactly as separate processes would.
registryContract("mdns", {
  create: () => createMdnsRegistry(),
  // A new client's socket needs a moment to bind and join the group before it hears anything.
  propagationMs: 150,
  // Records carry a DNS TTL of 120 s, but nothing expires while the registering process runs (Go).
  supportsTtl: false,
  skip: [
    {
      reason:
        "Go's mDNS TXT record carries node metadata only: service-level metadata is not transmitted " +
        "(every other field is checked in mdns-processes.integration.test.ts)",
      tests: [
        "register then getService returns every field",
        "getService on another client sees registrations and deregistrations",
      ],
    },
  ],
});
