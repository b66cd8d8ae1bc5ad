/* Private to api/jwt.c, api/jwt_keys.c and api/jwt_signer.c: what two of them share. Nothing
 * else includes it. The conventions of jwt.h apply. */
#ifndef PVD_API_JWT_INTERNAL_H
#define PVD_API_JWT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jwt.h"

/* Writes a printf-formatted operator sentence into err[0..err_size) (NUL-terminated, truncated);
 * does nothing when err is NULL or err_size is 0. */
__attribute__((format(printf, 3, 4))) void jwt_set_err(char *err, size_t err_size, const char *fmt,
                                                       ...);

/* True when s is a string of 1..JWT_CLAIM_MAX bytes (false for NULL). */
bool jwt_string_ok(const char *s);

/* ---- the key set of a verifier (jwt_keys.c), as jwt.c uses it ---------------------------- */

/* An immutable, reference-counted snapshot of a JWKS, and one public key in it. */
struct jwt_keyset;
struct jwt_key;

/* The key source of one verifier: its current set and the URL it is fetched from. */
struct jwt_keys {
    pthread_mutex_t lock;       /* guards `current` and the refs of every set it handed out */
    struct jwt_keyset *current; /* NULL until a set is loaded */

    pthread_mutex_t refresh_lock; /* serialises fetches; guards the members below */
    char *url;                    /* NULL until jwt_verifier_set_jwks_url */
    bool fetched;
    time_t last_fetch;
};

struct jwt_verifier {
    char *issuer;
    char *audience;
    unsigned leeway;
    struct jwt_keys keys;
};

/* An empty source (no set, no URL). Aborts (die_bug) when a mutex cannot be made. */
void jwt_keys_init(struct jwt_keys *k);
/* Frees what k holds. No other call on k may be running. */
void jwt_keys_destroy(struct jwt_keys *k);

/* Chooses the key for a token's (kid, alg), alg being "RS256" or "ES256" and kid NULL when the
 * token has none, with the rules of jwt_verify (jwt.h), including the one fetch from the URL on
 * an unknown kid or an empty set. Returns JWT_OK (*key set), JWT_ERR_UNKNOWN_KID or
 * JWT_ERR_KEY_MISMATCH (*key NULL). Whatever the result, *held is the set *key belongs to (or
 * NULL): *key stays valid until the caller gives *held back with jwt_keys_release. */
enum jwt_error jwt_keys_find(struct jwt_keys *k, const char *kid, const char *alg, time_t now,
                             struct jwt_keyset **held, const struct jwt_key **key);
/* Gives back a set obtained from jwt_keys_find; NULL is accepted. */
void jwt_keys_release(struct jwt_keys *k, struct jwt_keyset *held);

/* The key as a minimal public JWK text, for r_jwk_import_from_json_str. */
const char *jwt_key_jwk_json(const struct jwt_key *key);
/* Exact size in bytes of a signature made with the key: 64 for EC P-256 (r || s), the modulus
 * size for RSA. */
size_t jwt_key_signature_size(const struct jwt_key *key);

#endif
