import { transportContract } from "@microts/testing";
import { createTcpTransport } from "./tcp-transport.js";

transportContract("tcp", { create: () => createTcpTransport(), listenAddress: "127.0.0.1:0" });
