/* A small HTTP client for the integration and resilience suites (libcurl,
 * plus a raw-socket helper for what libcurl cannot express).
 *
 * Environment:
 *   PVD_TEST_BASE_URL  "http://HOST:PORT" of the server under test (required: a suite that
 *                      silently passes without a server is a defect, so its absence fails
 *                      the test through cr_assert).
 *   PVD_TEST_CAPTURE   when set, every response is appended to this file as one JSON line
 *                      {"method","path","status","content_type","body","headers"}, the format
 *                      read by tests/contract/validate_responses.mjs (headers with lower-case
 *                      names; body is the parsed JSON or null). Each line is written with a
 *                      single write() on an O_APPEND descriptor, so parallel criterion workers
 *                      do not interleave their lines.
 *
 * Functions whose name contains "try" never call cr_assert and may be used from any thread;
 * the others assert (from the test's main thread only). */
#ifndef PVD_TESTS_HTTP_CLIENT_H
#define PVD_TESTS_HTTP_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct http_header {
    char *name; /* as received */
    char *value;
};

struct http_response {
    long status;
    char *body; /* NUL-terminated (body_len bytes before the NUL); "" when none */
    size_t body_len;
    json_t *json;           /* parsed body when the content type is JSON or problem+json */
    char content_type[128]; /* "" when absent */
    struct http_header *headers;
    size_t header_count;
    double seconds; /* wall time of the exchange */
    char error[256];
};

/* Base URL (the first server's when PVD_TEST_BASE_URL lists several, comma-separated)
 * without trailing slash; cr_asserts that PVD_TEST_BASE_URL is set. Call it once from the
 * main thread before using the "try" functions from other threads. Requests go to the
 * first server, or (PVD_TEST_ALTERNATE=1) to the listed servers in turn (replicas of one
 * database), unless the thread pinned one (http_pin). */
const char *http_base_url(void);

/* How many servers PVD_TEST_BASE_URL lists (0 when unset). */
size_t http_server_count(void);

/* The calling thread's next requests go to server `server` (0-based, modulo the count);
 * -1: in turn again. */
void http_pin(int server);

/* Performs METHOD path (path = "/..." with its query string, relative to the base URL).
 * headers: NULL or a NULL-terminated array of "Name: value". body: NULL for none; sent as
 * is with Content-Length, or chunked when headers contain "Transfer-Encoding: chunked".
 * HEAD requests read no body. Returns 0 on success (any HTTP status), else a libcurl error
 * code with resp->error set. timeout_ms bounds the whole exchange. resp is always
 * initialised; release it with http_response_release. */
int http_try_request(const char *method, const char *path, const char *const *headers,
                     const void *body, size_t body_len, long timeout_ms,
                     struct http_response *resp);

/* The same with a 30 s timeout; cr_asserts that an HTTP response was received. */
void http_request(const char *method, const char *path, const char *const *headers,
                  const void *body, size_t body_len, struct http_response *resp);

/* GET path without header or body. */
void http_get(const char *path, struct http_response *resp);

/* Value of the first header named name (case-insensitive), or NULL. */
const char *http_header(const struct http_response *resp, const char *name);

void http_response_release(struct http_response *resp);

/* Raw exchange: connects to the base URL's host and port, sends exactly len bytes of
 * request, then reads until the server closes the connection, a complete response
 * (headers and Content-Length body) has arrived, or timeout_ms elapses. The reply is
 * parsed into resp (status 0 when nothing parseable arrived) and captured like the others
 * (method and path taken from the request line). Returns 0 when a complete response
 * arrived, -1 otherwise (resp->error says why). Never asserts. */
int http_try_raw(const char *request, size_t len, long timeout_ms, struct http_response *resp);

/* Stops (true) or resumes capturing responses in this test process: for answers that
 * libmicrohttpd sends itself, which the contract does not describe. */
void http_capture_pause(bool paused);

/* ---- assertions shared by the suites (main thread only) ---------------------------- */

/* Asserts an RFC 9457 problem: HTTP status, Content-Type application/problem+json, members
 * type (ending in "/" + code), title, status (equal to the HTTP status), detail (French),
 * code, request_id (equal to the X-Request-Id header). */
void http_expect_problem(const struct http_response *resp, long status, const char *code);

/* The element of the problem's "erreurs" whose "pointeur" is pointer, or NULL. */
json_t *http_problem_error(const struct http_response *resp, const char *pointer);

/* Asserts a parameter error: 400 parametre-invalide (or curseur-invalide when code is
 * "curseur-invalide") with an erreurs element at pointer whose code is err_code (any code
 * when err_code is NULL). */
void http_expect_param_error(const struct http_response *resp, const char *pointer,
                             const char *err_code);

/* Asserts status 200 with a JSON body and an X-Request-Id header. */
void http_expect_json_ok(const struct http_response *resp);

/* Asserts resp has a header `Link: <target>; rel="next"` and copies target (a relative
 * reference: path and query) into out (size bytes; asserts it fits). */
void http_next_link(const struct http_response *resp, char *out, size_t size);

/* printf conversion for response bodies in assertion messages: the first 800 bytes. */
#define HTTP_BODY "%.800s"

/* Percent-encodes s for a query string into out (size bytes); asserts it fits. */
void http_url_encode(const char *s, char *out, size_t size);

#endif
