// End to end, through the generated types only (no cast, no `any`), against a running server
// at $BASE_URL: register, login, refresh, items CRUD with If-Match, batch, delta sync, files
// upload and download, devices and notifications (with the administrator $ADMIN_EMAIL), logout. Run by scripts/openapi-client-e2e, which starts the server.
import assert from "node:assert/strict";
import { aiosClient, type Device, type Item } from "./index.js";

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
let userId = "";

await step("register", async () => {
  const { data, response } = await api.POST("/api/auth/register", {
    body: { email, password, name: "TS Client", device: { name: "node", platform: "web" } },
  });
  assert.equal(response.status, 201);
  assert.ok(data);
  assert.equal(data.user.email, email);
  userId = data.user.id;
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

let device: Device | undefined;
await step("register a push device and list it", async () => {
  const { data, response } = await api.POST("/api/devices", {
    body: { platform: "android", token: `fcm-${email}:APA91bH-example_token` },
  });
  assert.equal(response.status, 201, JSON.stringify(data));
  assert.ok(data);
  assert.equal(data.platform, "android");
  assert.equal(data.current, true);
  device = data;
  const listed = await api.GET("/api/devices");
  assert.deepEqual(
    listed.data?.items.map((d) => d.id),
    [data.id],
  );
});

await step("an administrator sends notifications; the inbox counts them", async () => {
  const adminEmail = process.env["ADMIN_EMAIL"];
  const adminPassword = process.env["ADMIN_PASSWORD"];
  assert.ok(adminEmail && adminPassword, "ADMIN_EMAIL and ADMIN_PASSWORD");
  let adminToken: string | undefined;
  const admin = aiosClient(baseUrl, () => adminToken);
  const login = await admin.POST("/api/auth/login", {
    body: { email: adminEmail, password: adminPassword },
  });
  assert.ok(login.data, JSON.stringify(login.error));
  adminToken = login.data.accessToken;
  for (const title of ["Your order shipped", "Your order arrived"]) {
    const sent = await admin.POST("/api/notifications", {
      body: { userId, title, body: "Order 1042", data: { orderId: "1042" } },
    });
    assert.equal(sent.response.status, 202, JSON.stringify(sent.error));
    assert.equal(sent.data?.readAt, null);
  }
  const refused = await api.POST("/api/notifications", {
    body: { userId, title: "Not an admin", body: "no" },
  });
  assert.equal(refused.response.status, 403);
  const { data } = await api.GET("/api/notifications", { params: { query: { limit: 10 } } });
  assert.ok(data);
  assert.equal(data.unread, 2);
  assert.deepEqual(
    data.items.map((n) => n.title),
    ["Your order arrived", "Your order shipped"],
  );
  assert.deepEqual(data.items[0]?.data, { orderId: "1042" });
  assert.equal(data.nextCursor, null);
});

await step("read one notification, then all", async () => {
  const first = await api.GET("/api/notifications", { params: { query: { unread: true } } });
  const newest = first.data?.items[0];
  assert.ok(newest);
  const read = await api.POST("/api/notifications/{id}/read", {
    params: { path: { id: newest.id } },
  });
  assert.equal(read.response.status, 204);
  const after = await api.GET("/api/notifications", { params: { query: { unread: true } } });
  assert.equal(after.data?.unread, 1);
  assert.deepEqual(
    after.data?.items.map((n) => n.title),
    ["Your order shipped"],
  );
  const all = await api.POST("/api/notifications/read-all");
  assert.equal(all.response.status, 204);
  const inbox = await api.GET("/api/notifications", { params: { query: {} } });
  assert.equal(inbox.data?.unread, 0);
  assert.ok(inbox.data?.items.every((n) => n.readAt !== null));
});

await step("delete the device", async () => {
  assert.ok(device);
  const removed = await api.DELETE("/api/devices/{id}", { params: { path: { id: device.id } } });
  assert.equal(removed.response.status, 204);
  const listed = await api.GET("/api/devices");
  assert.deepEqual(listed.data?.items, []);
  const again = await api.DELETE("/api/devices/{id}", { params: { path: { id: device.id } } });
  assert.equal(again.response.status, 404);
});

await step("logout", async () => {
  const out = await api.POST("/api/auth/logout", { body: { refreshToken } });
  assert.equal(out.response.status, 204);
  const after = await api.GET("/api/users/me");
  assert.equal(after.response.status, 401);
  assert.ok(after.response.headers.get("www-authenticate")?.startsWith("Bearer"));
});

console.log(`${passed} passed, 0 failed`);
