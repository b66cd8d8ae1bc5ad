/*
 * The typed pvd-api client of the sync test: openapi-fetch over the `paths` that
 * openapi-typescript generates from the served spec (build/tests/contract/api.d.ts, "#api").
 * Every call of the test goes through it, so a change of an operation, a parameter or a
 * schema the test relies on breaks `tsc` before anything runs.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";
import { appendFileSync } from "node:fs";
import type { components, paths } from "#api";

export type Schemas = components["schemas"];
export type Fiche = Schemas["Fiche"];
export type Territoire = Schemas["Territoire"];
export type Evenement = Schemas["Evenement"];
export type Api = Client<paths>;

/* Every response, appended as one JSON line to `capture` (the format of
 * tests/contract/validate_responses.mjs), so that the step validates them against the spec. */
function captureMiddleware(capture: string): Middleware {
	return {
		async onResponse({ request, response }) {
			const text = await response.clone().text();
			const type = response.headers.get("content-type") ?? "";
			const headers: Record<string, string> = {};
			response.headers.forEach((v, k) => {
				headers[k] = v;
			});
			const url = new URL(request.url);
			const line = {
				method: request.method,
				path: url.pathname + url.search,
				status: response.status,
				content_type: type,
				body: text && /json/.test(type) ? JSON.parse(text) : null,
				headers,
			};
			appendFileSync(capture, JSON.stringify(line) + "\n");
			return response;
		},
	};
}

/* A client sending `Authorization: Bearer <token()>` (none when token is null). */
export function api(baseUrl: string, token: (() => string) | null, capture?: string): Api {
	const client = createClient<paths>({ baseUrl });
	if (token) {
		client.use({
			onRequest({ request }) {
				request.headers.set("Authorization", `Bearer ${token()}`);
				return request;
			},
		});
	}
	if (capture) client.use(captureMiddleware(capture));
	return client;
}

/* Fails the test with what was asked and answered. */
export function fail(what: string, response: Response, error?: unknown): never {
	throw new Error(`${what}: HTTP ${response.status} ${error === undefined ? "" : JSON.stringify(error)}`);
}

/* A machine client's access token (OAuth 2.0 client credentials, HTTP Basic). */
export async function clientCredentialsToken(baseUrl: string, id: string, secret: string, capture?: string): Promise<string> {
	const anon = api(baseUrl, null, capture);
	const { data, error, response } = await anon.POST("/api/v1/oauth/token", {
		body: { grant_type: "client_credentials" },
		bodySerializer: (b) => new URLSearchParams(b as Record<string, string>).toString(),
		headers: {
			"Content-Type": "application/x-www-form-urlencoded",
			Authorization: `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`,
		},
	});
	if (!data) fail("POST /oauth/token", response, error);
	return data.access_token;
}
