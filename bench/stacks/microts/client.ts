import { runClient } from "../../lib/client-harness.js";
import { microtsDriver } from "./driver.js";
import { stackParts, type Variant } from "./stack.js";

runClient(async ({ args, address }) => microtsDriver(await stackParts(args.variant as Variant), address));
