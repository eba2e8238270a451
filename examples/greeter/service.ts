// The greeter service process: serves Greeter.Hello and Greeter.Count, subscribes to
// user.created, and runs until SIGINT/SIGTERM. Registry, transport and broker are the defaults
// (mDNS, HTTP, HTTP) unless flags or MICRO_* variables choose others.
import { createService } from "@microts/core";
import { Greeter, type UserCreated } from "./greeter.js";

const service = createService({ name: "greeter", version: "1.0.0" });
service.handle(new Greeter());
service.subscribe<UserCreated>(
  "user.created",
  async (evt, ctx) => {
    console.log(`event:  ${ctx.endpoint} ${JSON.stringify(evt)} (received by the greeter process)`);
  },
  { queue: "greeter" },
);
await service.run();
