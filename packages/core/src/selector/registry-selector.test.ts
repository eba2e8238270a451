import { selectorContract } from "@microts/testing";
import { createSelector } from "./registry-selector.js";

selectorContract("registry", { create: (registry) => createSelector({ registry }) });
