import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

// What `npm start` runs: two processes on the default stack (mDNS on loopback, HTTP transport,
// HTTP broker). The demo must print a call, a stream and an event, and both must exit cleanly.
test("the greeter demo runs end to end and exits 0", { timeout: 60_000 }, () => {
  const env = { ...process.env };
  for (const k of ["MICRO_REGISTRY", "MICRO_TRANSPORT", "MICRO_BROKER"]) delete env[k];
  const r = spawnSync(
    process.execPath,
    ["--conditions=@microts/source", "--import", "tsx", new URL("./main.ts", import.meta.url).pathname],
    { env, encoding: "utf8", timeout: 50_000 },
  );
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^call: {3}Greeter\.Hello -> Hello Ada$/m);
  assert.match(r.stdout, /^stream: Greeter\.Count -> 0, 1, 2$/m);
  assert.match(r.stdout, /^event: {2}user\.created \{"id":1,"name":"Ada"\}/m);
  assert.match(r.stdout, /greeter process exited with code 0/);
});
