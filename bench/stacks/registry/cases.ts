/** The registry lookups measured: `<backend>/<how>`; see README. */
export const REGISTRY_CASES = [
  "memory/getService",
  "memory/getService+cache",
  "memory/select",
  "memory/select+cache",
  "nats/getService",
  "nats/getService+cache",
  "nats/select",
  "nats/select+cache",
] as const;
