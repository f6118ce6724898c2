// The typed client of aios-server: openapi-fetch over the generated `paths`.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Item = components["schemas"]["Item"];
export type User = components["schemas"]["User"];
export type TokenResponse = components["schemas"]["TokenResponse"];
export type Device = components["schemas"]["Device"];
export type Notification = components["schemas"]["Notification"];
export type NotificationPage = components["schemas"]["NotificationPage"];

/** A client for `baseUrl`; `token()` is asked for the access token before every request. */
export function aiosClient(baseUrl: string, token: () => string | undefined) {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    onRequest({ request }) {
      const value = token();
      if (value !== undefined) request.headers.set("Authorization", `Bearer ${value}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}
