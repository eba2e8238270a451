import { brokerContract } from "@microts/testing";
import { testBrokers } from "./test-util.js";

// Against the shared RabbitMQ on 127.0.0.1:5672, on an exchange of this run only.
const brokers = testBrokers();

brokerContract("rabbitmq", {
  create: () => brokers.create(),
  cleanup: () => brokers.cleanup(),
  settleMs: 50,
});
