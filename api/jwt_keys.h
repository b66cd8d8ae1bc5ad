/* The key set of a verifier (jwt.h): a JWKS given as text, or fetched from a URL at start and
 * again when a token names a kid the set lacks. The conventions of jwt.h (ownership, `err`
 * texts, secrets, start-up) apply; so does its thread-safety paragraph on the verifier. */
#ifndef PVD_API_JWT_KEYS_H
#define PVD_API_JWT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jwt.h"

/* Minimum interval between two fetches of the JWKS URL, in seconds of the `now` given. */
#define JWT_JWKS_REFRESH_SECONDS 60
/* Largest JWKS document accepted (text or fetched body), and most keys in it. */
#define JWT_JWKS_MAX_BYTES (256 * 1024)
#define JWT_JWKS_MAX_KEYS  64
/* Time limit of one JWKS fetch (connection and transfer), in seconds. */
#define JWT_JWKS_FETCH_TIMEOUT_SECONDS 5

/* Replaces the key set atomically with the JWKS document jwks_json (NUL-terminated, at most
 * JWT_JWKS_MAX_BYTES, JSON without duplicate names). Kept: RSA and EC public keys whose `use` is
 * absent or "sig" and whose `key_ops`, when present, contain "verify"; other key types are
 * ignored. Only the public members are kept (kty, n, e / crv, x, y; plus kid and alg): x5c, x5u
 * and the like are dropped, so nothing is ever fetched for a key. Refused (the current set is
 * kept, false, err says why): unreadable JSON, no "keys" array, more than JWT_JWKS_MAX_KEYS
 * keys, any private or secret member (d, p, q, dp, dq, qi, oth, k), or no usable key, that is
 * none that is RSA of 2048 to 8192 bits or EC P-256, with `alg` absent or matching. Malformed
 * keys, and RSA keys over 8192 bits, are skipped. */
bool jwt_verifier_set_jwks(struct jwt_verifier *v, const char *jwks_json, char *err,
                           size_t err_size);

/* Sets the URL from which the key set is fetched: "https://...", or "http://" on a loopback host
 * only (127.0.0.1, localhost, [::1]). Redirects are not followed; TLS certificates are checked.
 * Once set, jwt_verify fetches the set again when a token names a `kid` the set lacks (or the set
 * is empty), at most once per JWT_JWKS_REFRESH_SECONDS of the `now` it is given (a `now` that
 * far behind the last fetch also fetches: the clock went back); a failed fetch counts too and
 * keeps the current set. Does not fetch: call jwt_verifier_fetch_jwks at start. */
bool jwt_verifier_set_jwks_url(struct jwt_verifier *v, const char *url, char *err, size_t err_size);

/* Fetches the URL now (whatever the interval), replaces the set on success, and records `now` as
 * the time of the last fetch. False (err set) when no URL is set, on a network error, a status
 * other than 200, a body over JWT_JWKS_MAX_BYTES, or a JWKS jwt_verifier_set_jwks refuses. */
bool jwt_verifier_fetch_jwks(struct jwt_verifier *v, time_t now, char *err, size_t err_size);

/* Number of keys in the current set (usable or not), 0 before any set. */
size_t jwt_verifier_key_count(struct jwt_verifier *v);

#endif
