import { randomBytes } from "node:crypto";
import { brokerContract } from "@microts/testing";
import { createMqttBroker } from "./index.js";

// Against the machine's shared Mosquitto; this run's topics live under a unique prefix.
const topicPrefix = `microts-test/${randomBytes(4).toString("hex")}/`;

brokerContract("mqtt", {
  create: () => createMqttBroker({ address: "mqtt://127.0.0.1:1883", topicPrefix }),
});
