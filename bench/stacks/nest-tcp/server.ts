import "reflect-metadata";
import { Controller, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { MessagePattern, type MicroserviceOptions, Transport } from "@nestjs/microservices";
import { freePort } from "../../lib/free-port.js";
import type { EchoBody } from "../../lib/payload.js";
import { runServer } from "../../lib/server-harness.js";

// NestJS microservice on its TCP transport with one @MessagePattern("echo") handler. Decorators
// are applied as plain calls, so no decorator compiler settings are needed.
class EchoController {
  echo(body: EchoBody): EchoBody {
    return { data: body.data };
  }
}
const echo = Object.getOwnPropertyDescriptor(EchoController.prototype, "echo");
if (echo) MessagePattern("echo")(EchoController.prototype, "echo", echo);
Controller()(EchoController);
class AppModule {}
Module({ controllers: [EchoController] })(AppModule);

runServer(async () => {
  const port = await freePort();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
    transport: Transport.TCP,
    options: { host: "127.0.0.1", port },
    logger: false,
  });
  await app.listen();
  return {
    address: `127.0.0.1:${port}`,
    async close() {
      await app.close();
    },
  };
});
