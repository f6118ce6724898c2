// End to end, through the generated types only (no cast, no `any`), against a running server
// at $BASE_URL: register, login, refresh, items CRUD with If-Match, batch, delta sync, files
// upload and download, logout. Run by scripts/openapi-client-e2e, which starts the server.
import assert from "node:assert/strict";
import { aiosClient, type Item } from "./index.js";

const baseUrl = process.env["BASE_URL"] ?? "http://127.0.0.1:3000";
let accessToken: string | undefined;
const api = aiosClient(baseUrl, () => accessToken);
let passed = 0;

async function step(name: string, run: () => Promise<void>): Promise<void> {
  await run();
  passed += 1;
  console.log(`ok - ${name}`);
}

const email = `ts-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
const password = "Plum-Kettle-Harbour-91";
let refreshToken = "";
let item: Item | undefined;

await step("register", async () => {
  const { data, response } = await api.POST("/api/auth/register", {
    body: { email, password, name: "TS Client", device: { name: "node", platform: "web" } },
  });
  assert.equal(response.status, 201);
  assert.ok(data);
  assert.equal(data.user.email, email);
  assert.equal(data.tokenType, "Bearer");
  assert.equal(response.headers.get("cache-control"), "no-store");
});

await step("login", async () => {
  const { data, error } = await api.POST("/api/auth/login", { body: { email, password } });
  assert.equal(error, undefined);
  assert.ok(data);
  accessToken = data.accessToken;
  refreshToken = data.refreshToken;
});

await step("refresh", async () => {
  const { data } = await api.POST("/api/auth/refresh", { body: { refreshToken } });
  assert.ok(data);
  assert.notEqual(data.refreshToken, refreshToken);
  accessToken = data.accessToken;
  refreshToken = data.refreshToken;
  const me = await api.GET("/api/users/me");
  assert.equal(me.data?.email, email);
});

await step("create an item", async () => {
  const { data, response } = await api.POST("/api/data", {
    body: { name: "Groceries", description: null, data: { milk: 2, eggs: [1, 2] } },
    headers: { "Idempotency-Key": `create-${email}` },
  });
  assert.equal(response.status, 201);
  assert.ok(data);
  assert.equal(response.headers.get("etag"), `"${data.version}"`);
  assert.ok(response.headers.get("location")?.endsWith(`/api/data/${data.id}`));
  assert.deepEqual(data.data, { milk: 2, eggs: [1, 2] });
  assert.equal(data.description, null);
  item = data;
});

await step("read and replace with If-Match", async () => {
  assert.ok(item);
  const id = item.id;
  const read = await api.GET("/api/data/{id}", { params: { path: { id } } });
  const etag = read.response.headers.get("etag");
  assert.ok(etag);
  const replaced = await api.PUT("/api/data/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { name: "Groceries (week)", data: { milk: 3 } },
  });
  assert.equal(replaced.response.status, 200);
  assert.equal(replaced.data?.version, item.version + 1);
  const stale = await api.PUT("/api/data/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { name: "lost update" },
  });
  assert.equal(stale.response.status, 412);
  assert.equal(stale.error?.code, "PRECONDITION_FAILED");
});

await step("list items", async () => {
  const { data } = await api.GET("/api/data", {
    params: { query: { limit: 10, offset: 0, sort: "-updatedAt" } },
  });
  assert.ok(data);
  assert.equal(data.total, 1);
  assert.equal(data.items[0]?.name, "Groceries (week)");
  assert.equal(data.nextCursor, null);
});

let cursor = "";
await step("delta sync, first pass", async () => {
  const { data } = await api.GET("/api/data/changes", { params: { query: {} } });
  assert.ok(data);
  const upserts = data.changes.flatMap((c) => (c.op === "upsert" ? [c.item.name] : []));
  assert.deepEqual(upserts, ["Groceries (week)"]);
  cursor = data.cursor;
});

await step("batch create, update and delete", async () => {
  assert.ok(item);
  const { data, response } = await api.POST("/api/data/batch", {
    body: {
      operations: [
        { op: "create", body: { name: "Batch one" } },
        { op: "update", id: item.id, body: { name: "Groceries (batched)" } },
      ],
    },
  });
  assert.equal(response.status, 200);
  assert.deepEqual(
    data?.results.map((r) => r.status),
    [201, 200],
  );
  const created = data?.results[0]?.item;
  assert.ok(created);
  const removed = await api.POST("/api/data/batch", {
    params: { query: { atomic: false } },
    body: { operations: [{ op: "delete", id: created.id }] },
  });
  assert.deepEqual(
    removed.data?.results.map((r) => r.status),
    [204],
  );
});

await step("delta sync since the cursor", async () => {
  const { data } = await api.GET("/api/data/changes", { params: { query: { since: cursor } } });
  assert.ok(data);
  const ops = data.changes.map((c) => c.op);
  assert.ok(ops.includes("delete"), JSON.stringify(ops));
  assert.ok(ops.includes("upsert"), JSON.stringify(ops));
  assert.equal(data.hasMore, false);
});

await step("upload and download a file", async () => {
  const bytes = new TextEncoder().encode("hello from the typed client\n");
  const { data, response } = await api.POST("/api/files", {
    body: { file: new Blob([bytes], { type: "text/plain" }) },
    bodySerializer(body) {
      const form = new FormData();
      form.append("file", body.file, "hello.txt");
      return form;
    },
  });
  assert.equal(response.status, 201, JSON.stringify(data));
  assert.ok(data);
  assert.equal(data.size, bytes.length);
  const download = await api.GET("/api/files/{id}/content", {
    params: { path: { id: data.id } },
    parseAs: "arrayBuffer",
  });
  assert.equal(download.response.status, 200);
  assert.ok(download.data);
  assert.deepEqual(new Uint8Array(download.data), bytes);
});

await step("delete the item", async () => {
  assert.ok(item);
  const id = item.id;
  const removed = await api.DELETE("/api/data/{id}", { params: { path: { id } } });
  assert.equal(removed.response.status, 204);
  const gone = await api.GET("/api/data/{id}", { params: { path: { id } } });
  assert.equal(gone.response.status, 404);
  assert.equal(gone.error?.code, "NOT_FOUND");
});

await step("logout", async () => {
  const out = await api.POST("/api/auth/logout", { body: { refreshToken } });
  assert.equal(out.response.status, 204);
  const after = await api.GET("/api/users/me");
  assert.equal(after.response.status, 401);
  assert.ok(after.response.headers.get("www-authenticate")?.startsWith("Bearer"));
});

console.log(`${passed} passed, 0 failed`);
