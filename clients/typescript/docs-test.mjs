// /docs in headless Chromium (Debian's package, driven by playwright-core): the reference
// renders the operations by summary, shows none of the hosted product's chrome, and no request
// leaves the server's own origin. BASE_URL is the running server (scripts/openapi-docs-test).
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
assert.ok(base, "BASE_URL");
const origin = new URL(base).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let passed = 0;
try {
  const page = await browser.newPage();
  const foreign = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["data:", "blob:", "about:"].includes(url.protocol) && url.origin !== origin) {
      foreign.push(request.url());
    }
  });
  // Anything aimed elsewhere is refused here too, so a leak cannot hang the page.
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    return url.origin === origin ? route.continue() : route.abort();
  });
  await page.goto(`${base}/docs`, { waitUntil: "networkidle" });
  await page.waitForFunction(() => document.body.innerText.includes("Create an item"), null, { timeout: 30000 }).catch(async () => { console.error(await page.locator("body").innerText()); console.error(foreign); throw new Error("the reference did not render"); });
  const text = await page.locator("body").innerText();
  for (const summary of ["Register", "Log in", "List your items", "Upload a file", "Apply a batch of operations"]) {
    assert.ok(text.includes(summary), `the sidebar lists "${summary}"`);
  }
  passed += 1;
  for (const chrome of ["Deploy", "Ask AI", "Generate SDK", "Generate MCP"]) {
    assert.ok(!text.includes(chrome), `no "${chrome}"`);
  }
  passed += 1;
  const icon = await page.locator('link[rel="icon"]').first().getAttribute("href");
  assert.equal(icon, "/docs/favicon.svg");
  const favicon = await page.request.get(`${base}${icon}`);
  assert.equal(favicon.status(), 200);
  passed += 1;
  assert.ok(text.includes(origin), `the servers entry names ${origin}`);
  passed += 1;
  assert.deepEqual(foreign, [], "no request leaves the origin");
  passed += 1;
} finally {
  await browser.close();
}
console.log(`${passed} passed, 0 failed`);
