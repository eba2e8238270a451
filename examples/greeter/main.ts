// The greeter demo: starts the greeter service as its own process, then, as a second service,
// finds it through the registry, calls it, streams from it and publishes an event to it.
// Prints what happened, stops the greeter with SIGTERM and exits 0 when both stopped cleanly.
//
// createService's default stack: mDNS registry (on loopback), HTTP transport, HTTP broker, so
// there is no server to install.
// Override with the usual variables, e.g. MICRO_REGISTRY=etcd MICRO_BROKER=nats npm start.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createService, MicroError } from "@microts/core";
import type { Greeter, HelloResponse } from "./greeter.js";

process.env.MICRO_LOG_LEVEL ??= "warn";

const child = spawn(
  process.execPath,
  [...process.execArgv, new URL("./service.ts", import.meta.url).pathname],
  {
    stdio: ["ignore", "pipe", "inherit"],
    env: process.env,
  },
);
const childExit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
let gotEvent!: () => void;
const eventSeen = new Promise<void>((resolve) => {
  gotEvent = resolve;
});
createInterface({ input: child.stdout }).on("line", (line) => {
  console.log(line);
  if (line.startsWith("event:")) gotEvent();
});

const within = <T>(ms: number, what: string, p: Promise<T>) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms),
    ),
  ]);

const caller = createService({ name: "caller" });
let failed = false;
try {
  await caller.start();
  // The greeter registers itself a moment after starting: ask until the registry knows it.
  let rsp: HelloResponse | undefined;
  for (let i = 0; !rsp; i++) {
    try {
      rsp = await caller.client.call<HelloResponse>(
        "greeter",
        "Greeter.Hello",
        { name: "Ada" },
        { timeoutMs: 2000 },
      );
    } catch (err) {
      if (i >= 50 || !(err instanceof MicroError) || child.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  console.log(`call:   Greeter.Hello -> ${rsp.msg}`);

  const greeter = caller.client.service<Greeter>("greeter", "Greeter");
  console.log(`typed:  greeter.hello -> ${(await greeter.hello({ name: "Grace" })).msg}`);

  const seq: number[] = [];
  for await (const m of greeter.count({ n: 3 })) seq.push(m.i);
  console.log(`stream: Greeter.Count -> ${seq.join(", ")}`);

  // Events are at-most-once: one published before the caller's registry lists the greeter's
  // subscription (mDNS answers can lag on a busy machine) reaches nobody. Publish again if the
  // greeter has not printed it after a while.
  let seen = false;
  void eventSeen.then(() => {
    seen = true;
  });
  for (let attempt = 1; !seen; attempt++) {
    if (attempt > 1) console.log(`note:   event not seen after ${attempt - 1} publish(es); publishing again`);
    await caller.client.publish("user.created", { id: 1, name: "Ada" });
    try {
      await within(attempt < 5 ? 2_000 : 10_000, "event", eventSeen);
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
} catch (err) {
  failed = true;
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await caller.stop();
  child.kill("SIGTERM");
}
const [code, signal] = await within(15_000, "greeter stop", childExit);
console.log(`done:   greeter process exited with ${signal ?? `code ${code}`}; caller stopped`);
process.exit(failed || code !== 0 ? 1 : 0);
