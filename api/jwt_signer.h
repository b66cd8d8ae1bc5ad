/* pvd-api's own tokens: an ES256 signer and the JWKS of its public keys. The conventions of
 * jwt.h (ownership, `err` texts, secrets, start-up: jwt_global_init before any signer) apply. */
#ifndef PVD_API_JWT_SIGNER_H
#define PVD_API_JWT_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jwt.h"

/* A signer is immutable once made: jwt_signer_issue, jwt_signer_kid and jwt_jwks_public_json
 * may be called concurrently from any threads (each signature imports its own copy of the key).
 * jwt_signer_free must not run concurrently with them. */
struct jwt_signer;

/* A signer for the EC P-256 private key in pem[0..len) (PKCS#8 "PRIVATE KEY" or SEC 1 "EC
 * PRIVATE KEY", unencrypted; an encrypted one is refused, never prompted for). Its kid is the
 * RFC 7638 thumbprint of the public key (base64url of SHA-256, 43 characters). NULL (err set) on
 * anything else, including RSA or other curves. */
struct jwt_signer *jwt_signer_new_from_pem(const char *pem, size_t len, char *err, size_t err_size);

/* The signer's kid (thumbprint); valid as long as the signer. */
const char *jwt_signer_kid(const struct jwt_signer *s);

/* A compact JWS, header {"alg":"ES256","typ":"at+jwt","kid":<kid>}, claims iss, aud (a string),
 * sub, client_id and role (each omitted when NULL), iat = nbf = now, exp = now + ttl_seconds, jti
 * (16 random bytes in base64url when jti is NULL). issuer, audience and subject are required;
 * every string is 1..JWT_CLAIM_MAX bytes; ttl_seconds > 0. NULL on an invalid argument or a
 * signing failure. The caller frees the result. */
char *jwt_signer_issue(const struct jwt_signer *s, const char *issuer, const char *audience,
                       const char *subject, const char *client_id, const char *role, time_t now,
                       unsigned ttl_seconds, const char *jti);

/* {"keys":[...]}: the public JWK of each signer, in order (kty, crv, x, y, kid, use "sig", alg
 * "ES256"; never d), e.g. the current key then the previous one during a rotation. NULL entries
 * are skipped. The caller frees the result. */
char *jwt_jwks_public_json(const struct jwt_signer *const *signers, size_t count);

void jwt_signer_free(struct jwt_signer *s);

/* Writes a new EC P-256 private key (PKCS#8 PEM, unencrypted) to path with mode 0600, through a
 * temporary file in the same directory then link(2), so path never holds a partial key and an
 * existing file is never replaced (false when path exists). */
bool jwt_generate_es256_pem(const char *path, char *err, size_t err_size);

#endif
