import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv4 } from "node:net";
import { networkInterfaces } from "node:os";

/** Where and how the registry talks multicast. */
export interface SocketConfig {
  /** Multicast group, e.g. 224.0.0.251. */
  group: string;
  /** mDNS port, e.g. 5353. */
  port: number;
  /** IPv4 address of the interface to send and receive multicast on, e.g. 127.0.0.1. */
  iface: string;
}

/** A received datagram. */
export type Datagram = (bytes: Uint8Array, from: RemoteInfo) => void;

/**
 * Whether a packet from `address` may be handled. With a loopback interface the registry ignores
 * (and so never answers) anything but this host: 127.0.0.0/8 and the host's own addresses. An
 * answer goes to the sender's address, and a packet to one of our own addresses is routed through
 * loopback too, so everything we send stays on this host even if another program here (a Go
 * service, say) joined the group on a LAN interface and Linux hands us its packets.
 * `0.0.0.0` counts as this host: a querier bound to the wildcard address that sends through a
 * loopback-only route has no source address to pick (Go Micro's client in a network namespace
 * with only `lo` does this), and an answer to `0.0.0.0` is delivered locally by Linux.
 */
export function acceptSource(config: SocketConfig, address: string): boolean {
  return (
    !isLoopback(config.iface) || isLoopback(address) || address === "0.0.0.0" || ownAddresses().has(address)
  );
}

let own: { at: number; set: Set<string> } | undefined;
/** This host's IPv4 addresses, re-read at most every 5 s. */
function ownAddresses(): Set<string> {
  if (!own || Date.now() - own.at > 5_000) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (a.family === "IPv4") set.add(a.address);
    }
    own = { at: Date.now(), set };
  }
  return own.set;
}

/** Whether an IPv4 text address is in 127.0.0.0/8. */
export function isLoopback(address: string): boolean {
  return isIPv4(address) && address.startsWith("127.");
}

/**
 * The shared mDNS socket: bound to 0.0.0.0:`port` with SO_REUSEADDR (so several registries and
 * processes, and Go peers, share the port), member of `group` on `iface` only, sending multicast
 * through `iface` with loopback on (so other registries on this host hear us) and TTL 255 (RFC
 * 6762 §11). Rejects when the port cannot be bound or the group cannot be joined.
 */
export async function openMulticastSocket(config: SocketConfig, onMessage: Datagram): Promise<Socket> {
  const socket = createSocket({ type: "udp4", reuseAddr: true });
  await bind(socket, config.port, "0.0.0.0");
  try {
    // Set the outgoing interface before anything is sent: without it Linux routes 224.0.0.0/4
    // through the default route's interface (the LAN).
    socket.setMulticastInterface(config.iface);
    socket.addMembership(config.group, config.iface);
    socket.setMulticastLoopback(true);
    socket.setMulticastTTL(255);
  } catch (err) {
    await closeSocket(socket);
    throw err;
  }
  socket.on("message", (msg, from) => onMessage(msg, from));
  return socket;
}

/**
 * The querier's socket: an ephemeral port on `iface` (or 0.0.0.0 for the wildcard interface),
 * sending multicast through `iface`; responders answer it by unicast.
 */
export async function openQuerySocket(config: SocketConfig, onMessage: Datagram): Promise<Socket> {
  const socket = createSocket({ type: "udp4" });
  await bind(socket, 0, config.iface);
  try {
    socket.setMulticastInterface(config.iface);
    socket.setMulticastLoopback(true);
    socket.setMulticastTTL(255);
  } catch (err) {
    await closeSocket(socket);
    throw err;
  }
  socket.on("message", (msg, from) => onMessage(msg, from));
  return socket;
}

/** Sends one datagram; resolves when handed to the kernel, never rejects (UDP is best effort). */
export function send(socket: Socket, bytes: Uint8Array, port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      socket.send(bytes, port, address, (err) => resolve(!err));
    } catch {
      resolve(false); // socket already closed
    }
  });
}

/** Closes a socket; resolves once closed (or at once if it already was). */
export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

function bind(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      void closeSocket(socket);
      reject(err);
    };
    socket.once("error", onError);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off("error", onError);
      // Later socket errors (e.g. ICMP unreachable reported on send) must not crash the process.
      socket.on("error", () => {});
      resolve();
    });
  });
}
