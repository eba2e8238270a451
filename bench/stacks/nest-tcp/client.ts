import "reflect-metadata";
import { ClientProxyFactory, Transport } from "@nestjs/microservices";
import { firstValueFrom } from "rxjs";
import { runClient } from "../../lib/client-harness.js";
import { checkEcho, type EchoBody, echoBody } from "../../lib/payload.js";

// NestJS TCP ClientProxy: `send("echo", body)` (one socket, requests matched by id).
runClient<EchoBody>(async ({ address }) => {
  const i = address.lastIndexOf(":");
  const client = ClientProxyFactory.create({
    transport: Transport.TCP,
    options: { host: address.slice(0, i), port: Number(address.slice(i + 1)) },
  });
  await client.connect();
  return {
    makeRequest: echoBody,
    unary: (req) => firstValueFrom(client.send<EchoBody, EchoBody>("echo", req)),
    check: checkEcho,
    async close() {
      await client.close();
    },
  };
});
