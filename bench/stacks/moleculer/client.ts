import { type ClientDriver, runClient } from "../../lib/client-harness.js";
import { checkEcho, type EchoBody, echoBody } from "../../lib/payload.js";
import { type MoleculerTransport, makeBroker, waitForNodes } from "./common.js";

// Moleculer caller: `broker.call("bench.echo")`, or `broker.emit(topic)` for the events scenario.
runClient<EchoBody>(async ({ args, address, info }) => {
  const transport = args.transport as MoleculerTransport;
  const broker = makeBroker({
    transport,
    namespace: String(args.namespace),
    nodeID: `bench-client-${process.pid}`,
    ...(transport === "tcp" ? { urls: [address] } : {}),
  });
  await broker.start();
  const close = async (): Promise<void> => {
    await broker.stop();
  };
  if (args.mode === "events") {
    const topic = String(args.topic);
    await waitForNodes(broker, "bench-sub", Number(info.nodes ?? 1), 15_000);
    const driver: ClientDriver<EchoBody> = {
      makeMessage: echoBody,
      publish: (msg) => broker.emit(topic, msg),
      close,
    };
    return driver;
  }
  await waitForNodes(broker, "bench", 1, 15_000);
  return {
    makeRequest: echoBody,
    unary: (req) => broker.call("bench.echo", req),
    check: checkEcho,
    close,
  };
});
