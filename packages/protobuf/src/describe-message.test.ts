import assert from "node:assert/strict";
import { test } from "node:test";
import { describeMessage, goCamelCase } from "./describe-message.js";
import { HelloRequestSchema, ProfileSchema } from "./gen/greeter_pb.js";

test("a message is described as Go's extractValue describes the protoc-gen-go struct", () => {
  assert.deepEqual(describeMessage(HelloRequestSchema), {
    name: "HelloRequest",
    type: "HelloRequest",
    values: [{ name: "name", type: "string" }],
  });
  assert.deepEqual(describeMessage(ProfileSchema), {
    name: "Profile",
    type: "Profile",
    values: [
      { name: "display_name", type: "string" },
      { name: "age", type: "int32" },
      { name: "visits", type: "uint64" },
      { name: "admin", type: "bool" },
      { name: "avatar", type: "[]uint8" },
      { name: "tags", type: "[]string" },
      // Nested message: its fields (depth 2); the fields of Geo would be depth 3, cut off as in Go.
      {
        name: "home",
        type: "Profile_Address",
        values: [
          { name: "city", type: "string" },
          { name: "geo", type: "Profile_Geo" },
        ],
      },
      { name: "status", type: "Profile_Status" },
      { name: "labels", type: "" },
      { name: "score", type: "float32" },
      { name: "addresses", type: "[]Profile_Address" },
    ],
  });
});

test("goCamelCase matches protobuf-go", () => {
  assert.equal(goCamelCase("hello_request"), "HelloRequest");
  assert.equal(goCamelCase("Outer.Inner"), "Outer_Inner");
  assert.equal(goCamelCase("_x"), "XX");
  assert.equal(goCamelCase("a1b_2c"), "A1B_2C");
  assert.equal(goCamelCase("foo.bar"), "FooBar");
});
