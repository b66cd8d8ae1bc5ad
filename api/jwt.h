/* JSON Web Tokens (issue 3 §1 and §3), on rhonabwy 1.1 (GnuTLS/nettle) for the signatures, in
 * three parts with a header each:
 * - jwt.h (api/jwt.c), the verifier: bearer tokens of the OpenID Connect provider and pvd-api's
 *   own client-credentials tokens (a second verifier fed with jwt_jwks_public_json). Only compact
 *   JWS signed RS256 (RSA >= 2048 bits) or ES256 (P-256).
 * - jwt_keys.h (api/jwt_keys.c), a verifier's key set: a JWKS given as text or fetched from a
 *   URL, fetched again on an unknown kid.
 * - jwt_signer.h (api/jwt_signer.c), the signer: pvd-api's ES256 tokens, its key from a PEM
 *   file, `kid` = RFC 7638 thumbprint, and the JWKS that publishes its public keys.
 *
 * Conventions of all three headers (stated here only):
 * - Ownership: pointer arguments are borrowed for the call and copied when kept. An object made
 *   by a *_new function is freed by the matching *_free (NULL is accepted there). A returned
 *   `char *` is malloc'd: the caller frees it with free().
 * - Errors: `err`/`err_size` receive a French sentence for operators (truncated to err_size,
 *   NUL-terminated; err may be NULL). They never contain a token, a claim or key material.
 * - Secrets: this module never logs nor copies a token into an error text or a log line. Its only
 *   log line is a warning when a JWKS refresh from the URL fails (URL and reason, no token).
 * - Start-up: main calls jwt_global_init() once, after ulfius_global_init() and before starting
 *   any thread; jwt_global_close() at exit, after every thread using this module has stopped
 *   (before ulfius_global_close()). Neither is thread-safe: they initialise libcurl and set
 *   jansson's allocator (r_global_init does both).
 */
#ifndef PVD_API_JWT_H
#define PVD_API_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* A longer token is refused before any parsing (the length scan stops at 8193 bytes). */
#define JWT_MAX_TOKEN_BYTES 8192
/* Longest string claim or kid accepted or issued, in bytes (OpenID Connect caps `sub` at 255). */
#define JWT_CLAIM_MAX 255
/* Largest leeway jwt_verifier_new accepts, in seconds. */
#define JWT_LEEWAY_MAX 300

/* X(code, stable ASCII name, French description). The description is the WWW-Authenticate
 * `error_description`: RFC 6750 §3 allows only %x20-21 / %x23-5B / %x5D-7E there, so it is
 * written without accents, double quotes or backslashes. */
#define JWT_ERRORS(X)                                                                              \
    X(JWT_OK, "ok", "Jeton valide.")                                                               \
    X(JWT_ERR_TOO_LARGE, "too_large", "Le jeton depasse la taille maximale de 8192 octets.")       \
    X(JWT_ERR_MALFORMED, "malformed", "Le jeton n'est pas un JWS compact bien forme.")             \
    X(JWT_ERR_ALG, "alg_not_allowed",                                                              \
      "Algorithme de signature refuse : seuls RS256 et ES256 sont acceptes.")                      \
    X(JWT_ERR_KEY_MISMATCH, "key_mismatch",                                                        \
      "La cle designee ne convient pas a l'algorithme du jeton.")                                  \
    X(JWT_ERR_UNKNOWN_KID, "unknown_kid", "La cle de signature du jeton est inconnue.")            \
    X(JWT_ERR_SIGNATURE, "bad_signature", "La signature du jeton est invalide.")                   \
    X(JWT_ERR_ISSUER, "bad_issuer", "L'emetteur du jeton (iss) n'est pas celui attendu.")          \
    X(JWT_ERR_AUDIENCE, "bad_audience", "Le jeton n'est pas destine a ce service (aud).")          \
    X(JWT_ERR_NO_EXP, "exp_missing", "Le jeton n'a pas de date d'expiration (exp) valide.")        \
    X(JWT_ERR_EXPIRED, "expired", "Le jeton a expire.")                                            \
    X(JWT_ERR_NOT_YET_VALID, "not_yet_valid", "Le jeton n'est pas encore valide (nbf).")           \
    X(JWT_ERR_NO_SUB, "sub_missing", "Le jeton ne designe pas son sujet (sub).")                   \
    X(JWT_ERR_CLAIMS, "bad_claims",                                                                \
      "Une revendication du jeton a un type ou une taille invalide.")                              \
    X(JWT_ERR_INTERNAL, "internal", "Erreur interne pendant la verification du jeton.")

enum jwt_error {
#define JWT_ERROR_ENUM(code, name, message) code,
    JWT_ERRORS(JWT_ERROR_ENUM)
#undef JWT_ERROR_ENUM
        JWT_ERROR__COUNT
};

/* Stable ASCII name ("unknown_kid"...), for logs and metrics; "?" outside the enum. */
const char *jwt_error_name(enum jwt_error e);
/* French description, RFC 6750 error_description-safe (see JWT_ERRORS); "?" outside the enum. */
const char *jwt_error_message(enum jwt_error e);

/* Claims of a verified token. String members are NUL-terminated copies, "" when the claim is
 * absent; times are seconds since the epoch. */
struct jwt_claims {
    char iss[JWT_CLAIM_MAX + 1];
    char sub[JWT_CLAIM_MAX + 1];
    char kid[JWT_CLAIM_MAX + 1]; /* header `kid`, "" when the token has none */
    char alg[8];                 /* "RS256" or "ES256" */
    char jti[JWT_CLAIM_MAX + 1];
    char client_id[JWT_CLAIM_MAX + 1]; /* private claim of pvd-api's tokens */
    char role[JWT_CLAIM_MAX + 1];      /* private claim of pvd-api's tokens */
    time_t exp;
    time_t nbf; /* 0 when !has_nbf */
    time_t iat; /* 0 when !has_iat */
    bool has_nbf;
    bool has_iat;
};

/* ---- initialisation ---------------------------------------------------------------------- */

/* Calls r_global_init(). False when it fails (the process should not start). */
bool jwt_global_init(void);
void jwt_global_close(void);

/* ---- verifier ---------------------------------------------------------------------------- */

/* Thread-safety: jwt_verify and the key functions of jwt_keys.h (jwt_verifier_set_jwks,
 * jwt_verifier_fetch_jwks, jwt_verifier_key_count) may be called concurrently from any threads on
 * one verifier. The key set is an immutable, reference-counted snapshot: a replacement is atomic, a
 * verification in progress finishes with the set it started with, and no rhonabwy object is shared
 * between threads (each verification imports its own copy of the key). jwt_verifier_set_jwks_url
 * and jwt_verifier_free must not run concurrently with any other call on the same verifier. */
struct jwt_verifier;

/* A verifier expecting `iss` == issuer and `aud` containing audience (both 1..JWT_CLAIM_MAX
 * bytes), with leeway_seconds (<= JWT_LEEWAY_MAX) on exp and nbf. It has no key until
 * jwt_verifier_set_jwks or a fetch (jwt_keys.h). NULL on an invalid argument. */
struct jwt_verifier *jwt_verifier_new(const char *issuer, const char *audience,
                                      unsigned leeway_seconds);

/* Verifies a compact JWS at time `now` and, on JWT_OK only, fills *out (always written: zeroed on
 * any refusal, so a caller never sees claims of a refused token). Checks, in this order, each
 * refusal with its own code:
 *   too large (> JWT_MAX_TOKEN_BYTES, before any parsing); malformed (not exactly three
 *   base64url parts without padding, so a 5-part JWE is malformed; header or payload not a JSON
 *   object, duplicate member names, header with crit, zip, enc or b64, kid not a string of
 *   1..JWT_CLAIM_MAX bytes); alg not exactly "RS256" or "ES256" (so none and HS256 are refused
 *   before any key is looked at); unknown kid; key type not matching alg (RS256: RSA >= 2048
 *   bits, ES256: EC P-256, and the JWK's alg when it has one); bad signature; iss; aud (a string,
 *   or an array containing audience); exp absent or not a number; exp + leeway <= now; nbf -
 *   leeway > now; sub absent, not a string or empty; other claims of a wrong type or longer than
 *   JWT_CLAIM_MAX (nbf, iat: numbers; jti, client_id, role, sub: strings).
 * Key choice: a token with a kid uses the key(s) with exactly that kid (a key without kid never
 * matches it); a token without kid is accepted only when the set holds exactly one key (whatever
 * that key's kid), otherwise unknown_kid. With a URL set, an unknown kid may trigger one fetch
 * (see jwt_verifier_set_jwks_url in jwt_keys.h), which blocks this call for at most
 * JWT_JWKS_FETCH_TIMEOUT_SECONDS. JWT_ERR_INTERNAL for a NULL verifier or out argument; a NULL
 * token is malformed. */
enum jwt_error jwt_verify(struct jwt_verifier *v, const char *token, time_t now,
                          struct jwt_claims *out);

void jwt_verifier_free(struct jwt_verifier *v);

#endif
