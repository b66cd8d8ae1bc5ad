// A webhook receiver for the end-to-end test of issue #11 §2 (tests/webhooks/e2e.mjs).
// It listens on 127.0.0.1 and checks every delivery with the npm `standardwebhooks`
// package (an independent implementation of the Standard Webhooks signature), never with
// pvd-api's code. Each subscription posts to /hook/<name>; the test registers the
// subscription's secret and how to answer (`ok`: 204, `fail`: 503, `delay`: 204 after
// `delayMs`). Every request is recorded: its webhook-id, whether its signature verified,
// its parsed body and the status answered (null when the connection closed first).
import http from "node:http";
import { Webhook } from "standardwebhooks";

export class Receiver {
	constructor() {
		this.hooks = new Map(); // name -> { webhook, mode, delayMs }
		this.received = []; // { name, id, verified, body, status, at }
		this.server = null;
		this.port = 0;
		this.waiters = [];
	}

	/** Registers (or changes) a subscription's secret. */
	secret(name, secret) {
		const h = this.hooks.get(name) ?? { mode: "ok", delayMs: 0 };
		h.webhook = new Webhook(secret);
		this.hooks.set(name, h);
	}

	/** How /hook/<name> answers from now on: "ok", "fail" (503) or "delay". */
	mode(name, mode, delayMs = 0) {
		const h = this.hooks.get(name);
		h.mode = mode;
		h.delayMs = delayMs;
	}

	of(name) {
		return this.received.filter((r) => r.name === name);
	}

	/** Resolves when predicate() holds (checked on each request and every 50 ms). */
	async until(predicate, timeoutMs, what) {
		const deadline = Date.now() + timeoutMs;
		while (!predicate()) {
			if (Date.now() > deadline) throw new Error(`receiver: timeout waiting for ${what}`);
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	handle(req, res) {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => {
			const raw = Buffer.concat(chunks).toString("utf8");
			const match = /^\/hook\/([a-z0-9_-]+)$/.exec(req.url);
			const hook = match && this.hooks.get(match[1]);
			if (!hook || req.method !== "POST") {
				res.writeHead(404).end();
				return;
			}
			let verified = false;
			let body = null;
			try {
				body = hook.webhook.verify(raw, {
					"webhook-id": req.headers["webhook-id"],
					"webhook-timestamp": req.headers["webhook-timestamp"],
					"webhook-signature": req.headers["webhook-signature"],
				});
				verified = true;
			} catch (e) {
				try {
					body = JSON.parse(raw);
				} catch {
					body = null;
				}
			}
			const record = {
				name: match[1],
				id: req.headers["webhook-id"],
				timestamp: req.headers["webhook-timestamp"],
				verified,
				body,
				status: null,
				at: Date.now(),
			};
			this.received.push(record);
			const answer = (status) => {
				if (res.destroyed) return;
				record.status = status;
				res.writeHead(status).end();
			};
			if (!verified) answer(400);
			else if (hook.mode === "fail") answer(503);
			else if (hook.mode === "delay") setTimeout(() => answer(204), hook.delayMs);
			else answer(204);
		});
	}

	async listen(port = 0) {
		this.server = http.createServer((req, res) => this.handle(req, res));
		await new Promise((resolve, reject) => {
			this.server.once("error", reject);
			this.server.listen(port, "127.0.0.1", resolve);
		});
		this.port = this.server.address().port;
		return this.port;
	}

	/** Stops listening (the port is refused) until listen(port) again. */
	async close() {
		this.server.closeAllConnections?.();
		await new Promise((resolve) => this.server.close(resolve));
	}
}
