// The greeter demo: a service with a handler and a subscriber, and a second service that calls
// it, streams from it and publishes an event to it. Prints what happened and exits 0.
import {
  createMemoryBroker,
  createMemoryRegistry,
  createMemoryTransport,
  createService,
} from "@microts/core";
import { Greeter, type HelloResponse, type UserCreated } from "./greeter.js";

// One registry, broker and transport shared by both services (in-process for now).
const stack = {
  registry: createMemoryRegistry(),
  broker: createMemoryBroker(),
  transport: createMemoryTransport(),
};

let gotEvent!: (evt: UserCreated) => void;
const received = new Promise<UserCreated>((resolve) => {
  gotEvent = resolve;
});

const greeter = createService({ name: "greeter", version: "1.0.0", ...stack });
greeter.handle(new Greeter());
greeter.subscribe<UserCreated>(
  "user.created",
  async (evt, ctx) => {
    console.log(`event:  ${ctx.endpoint} ${JSON.stringify(evt)}`);
    gotEvent(evt);
  },
  { queue: "greeter" },
);

const caller = createService({ name: "caller", ...stack });

const stop = new AbortController();
const running = greeter.run({ signal: stop.signal });
await greeter.start();

try {
  const rsp = await caller.client.call<HelloResponse>(
    "greeter",
    "Greeter.Hello",
    { name: "Ada" },
    { timeoutMs: 2000 },
  );
  console.log(`call:   Greeter.Hello -> ${rsp.msg}`);

  const g = caller.client.service<Greeter>("greeter", "Greeter");
  const typed = await g.hello({ name: "Grace" });
  console.log(`typed:  greeter.hello -> ${typed.msg}`);

  const seq: number[] = [];
  for await (const m of g.count({ n: 3 })) seq.push(m.i);
  console.log(`stream: Greeter.Count -> ${seq.join(", ")}`);

  await caller.client.publish("user.created", { id: 1, name: "Ada" });
  await Promise.race([
    received,
    new Promise((_, reject) => setTimeout(() => reject(new Error("no event within 5 s")), 5000)),
  ]);
} finally {
  stop.abort();
  await running;
  await caller.stop();
}
console.log("done:   both services stopped cleanly");
