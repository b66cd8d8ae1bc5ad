/* The verifier of JSON Web Tokens (see jwt.h), on rhonabwy.
 *
 * Layering of the verification: everything an attacker controls is checked here first with a
 * strict parser (size, charset, three parts, canonical base64url, JSON objects without duplicate
 * names, alg allow-list, kid, signature length), so rhonabwy only ever sees a well-formed
 * RS256/ES256 compact JWS and one trusted public key, chosen by jwt_keys.c. rhonabwy is then
 * asked for the signature only: it is called with R_PARSE_NONE (never import a jwk/jku/x5c/x5u
 * from the token header) and R_FLAG_IGNORE_REMOTE (never download anything), and always with an
 * explicit key. The claims are checked here against the caller's `now` (r_jwt_validate_claims
 * reads the clock itself). */
#include "jwt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rhonabwy.h>

#include "base64url.h"
#include "jwt_internal.h"
#include "xalloc.h"

/* ---- errors ------------------------------------------------------------------------------ */

static const char *const error_names[] = {
#define JWT_ERROR_NAME(code, name, message) name,
    JWT_ERRORS(JWT_ERROR_NAME)
#undef JWT_ERROR_NAME
};

static const char *const error_messages[] = {
#define JWT_ERROR_MESSAGE(code, name, message) message,
    JWT_ERRORS(JWT_ERROR_MESSAGE)
#undef JWT_ERROR_MESSAGE
};

const char *jwt_error_name(enum jwt_error e)
{
    return (unsigned)e < JWT_ERROR__COUNT ? error_names[e] : "?";
}

const char *jwt_error_message(enum jwt_error e)
{
    return (unsigned)e < JWT_ERROR__COUNT ? error_messages[e] : "?";
}

/* ---- helpers shared with jwt_keys.c and jwt_signer.c (jwt_internal.h) ------------------- */

void jwt_set_err(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

bool jwt_string_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= JWT_CLAIM_MAX;
}

/* ---- verifier ---------------------------------------------------------------------------- */

/* Copies a JSON string of 1..JWT_CLAIM_MAX bytes into out[JWT_CLAIM_MAX + 1]. */
static bool copy_claim_string(const json_t *j, char *out)
{
    size_t n = json_string_length(j);

    if (!json_is_string(j) || n == 0 || n > JWT_CLAIM_MAX)
        return false;
    memcpy(out, json_string_value(j), n + 1);
    return true;
}

/* Decodes a base64url part of a token into a fresh NUL-terminated JSON object, rejecting
 * duplicate member names (two parsers reading different values is a classic JWT bypass). */
static json_t *decode_json_object(const char *part, size_t n)
{
    size_t cap = BASE64URL_DECODED_MAX(n), len = 0;
    unsigned char *buf = xmalloc(cap + 1);
    json_t *obj = NULL;

    if (n > 0 && base64url_decode(part, n, buf, cap, &len)) {
        obj = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
        if (obj != NULL && !json_is_object(obj)) {
            json_decref(obj);
            obj = NULL;
        }
    }
    free(buf);
    return obj;
}

struct jwt_verifier *jwt_verifier_new(const char *issuer, const char *audience,
                                      unsigned leeway_seconds)
{
    struct jwt_verifier *v;

    if (!jwt_string_ok(issuer) || !jwt_string_ok(audience) || leeway_seconds > JWT_LEEWAY_MAX)
        return NULL;
    v = xcalloc(1, sizeof *v);
    v->issuer = xstrdup(issuer);
    v->audience = xstrdup(audience);
    v->leeway = leeway_seconds;
    jwt_keys_init(&v->keys);
    return v;
}

void jwt_verifier_free(struct jwt_verifier *v)
{
    if (v == NULL)
        return;
    jwt_keys_destroy(&v->keys);
    free(v->issuer);
    free(v->audience);
    free(v);
}

/* Signature check by rhonabwy with one explicit key; never parses header keys, never fetches. */
static enum jwt_error verify_signature(const char *token, size_t len, const struct jwt_key *k,
                                       jwa_alg alg)
{
    jws_t *jws = NULL;
    jwk_t *jwk = NULL;
    enum jwt_error rc = JWT_ERR_INTERNAL;

    if (r_jws_init(&jws) != RHN_OK || r_jwk_init(&jwk) != RHN_OK)
        goto out;
    if (r_jwk_import_from_json_str(jwk, jwt_key_jwk_json(k)) != RHN_OK)
        goto out;
    if (r_jws_advanced_compact_parsen(jws, token, len, R_PARSE_NONE, R_FLAG_IGNORE_REMOTE) !=
        RHN_OK) {
        rc = JWT_ERR_MALFORMED;
        goto out;
    }
    if (r_jws_get_alg(jws) != alg) { /* both parsers must read the same header */
        rc = JWT_ERR_MALFORMED;
        goto out;
    }
    rc = r_jws_verify_signature(jws, jwk, R_FLAG_IGNORE_REMOTE) == RHN_OK ? JWT_OK
                                                                          : JWT_ERR_SIGNATURE;
out:
    r_jwk_free(jwk);
    r_jws_free(jws);
    return rc;
}

/* Reads a NumericDate claim: 0 absent, 1 read, -1 present but not a number in range. */
static int numeric_date(const json_t *claims, const char *name, time_t *out)
{
    const json_t *j = json_object_get(claims, name);

    if (j == NULL)
        return 0;
    if (json_is_integer(j)) {
        *out = (time_t)json_integer_value(j);
        return 1;
    }
    if (json_is_real(j)) {
        double d = json_real_value(j);

        /* RFC 7519 allows fractions; whole seconds are enough. Bounded to stay in time_t. */
        if (!(d > -1e15 && d < 1e15))
            return -1;
        *out = (time_t)d;
        return 1;
    }
    return -1;
}

static bool audience_matches(const json_t *aud, const char *audience)
{
    size_t i;
    const json_t *a;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    if (!json_is_array(aud))
        return false;
    json_array_foreach(aud, i, a)
    {
        if (json_is_string(a) && strcmp(json_string_value(a), audience) == 0)
            return true;
    }
    return false;
}

/* Optional string claim: absent leaves out ""; false when present but not a string of
 * 0..JWT_CLAIM_MAX bytes. */
static bool optional_string(const json_t *claims, const char *name, char *out)
{
    const json_t *j = json_object_get(claims, name);

    if (j == NULL)
        return true;
    if (!json_is_string(j) || json_string_length(j) > JWT_CLAIM_MAX)
        return false;
    memcpy(out, json_string_value(j), json_string_length(j) + 1);
    return true;
}

static enum jwt_error check_claims(const struct jwt_verifier *v, const json_t *claims, time_t now,
                                   struct jwt_claims *c)
{
    const json_t *iss = json_object_get(claims, "iss");
    const json_t *sub = json_object_get(claims, "sub");
    time_t leeway = (time_t)v->leeway;

    if (!json_is_string(iss) || strcmp(json_string_value(iss), v->issuer) != 0)
        return JWT_ERR_ISSUER;
    memcpy(c->iss, v->issuer, strlen(v->issuer) + 1);
    if (!audience_matches(json_object_get(claims, "aud"), v->audience))
        return JWT_ERR_AUDIENCE;
    if (numeric_date(claims, "exp", &c->exp) != 1)
        return JWT_ERR_NO_EXP;
    if (c->exp <= now - leeway) /* exp + leeway <= now, without overflow on a huge exp */
        return JWT_ERR_EXPIRED;
    switch (numeric_date(claims, "nbf", &c->nbf)) {
    case -1:
        return JWT_ERR_CLAIMS;
    case 1:
        c->has_nbf = true;
        if (c->nbf > now + leeway) /* nbf - leeway > now */
            return JWT_ERR_NOT_YET_VALID;
        break;
    default:
        break;
    }
    if (!json_is_string(sub) || json_string_length(sub) == 0)
        return JWT_ERR_NO_SUB;
    if (!copy_claim_string(sub, c->sub))
        return JWT_ERR_CLAIMS;
    switch (numeric_date(claims, "iat", &c->iat)) {
    case -1:
        return JWT_ERR_CLAIMS;
    case 1:
        c->has_iat = true;
        break;
    default:
        break;
    }
    if (!optional_string(claims, "jti", c->jti) ||
        !optional_string(claims, "client_id", c->client_id) ||
        !optional_string(claims, "role", c->role))
        return JWT_ERR_CLAIMS;
    return JWT_OK;
}

/* Header checks after the structure: alg allow-list, then the members we refuse. */
static enum jwt_error check_header(const json_t *header, jwa_alg *alg, const char **kid)
{
    static const char *const refused[] = {"crit", "zip", "enc", "b64"};
    const json_t *a = json_object_get(header, "alg");
    const json_t *k = json_object_get(header, "kid");

    if (!json_is_string(a))
        return JWT_ERR_ALG;
    if (strcmp(json_string_value(a), "RS256") == 0)
        *alg = R_JWA_ALG_RS256;
    else if (strcmp(json_string_value(a), "ES256") == 0)
        *alg = R_JWA_ALG_ES256;
    else
        return JWT_ERR_ALG;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (json_object_get(header, refused[i]) != NULL)
            return JWT_ERR_MALFORMED;
    *kid = NULL;
    if (k != NULL) {
        if (!json_is_string(k) || json_string_length(k) == 0 ||
            json_string_length(k) > JWT_CLAIM_MAX)
            return JWT_ERR_MALFORMED;
        *kid = json_string_value(k);
    }
    return JWT_OK;
}

/* Expected signature size: ES256 is r || s (2 x 32 bytes), RS256 the modulus size. */
static bool signature_length_ok(const char *sig, size_t n, const struct jwt_key *k)
{
    size_t cap = BASE64URL_DECODED_MAX(n), len = 0;
    unsigned char *buf = xmalloc(cap + 1);
    bool ok = n > 0 && base64url_decode(sig, n, buf, cap, &len) && len == jwt_key_signature_size(k);

    free(buf);
    return ok;
}

enum jwt_error jwt_verify(struct jwt_verifier *v, const char *token, time_t now,
                          struct jwt_claims *out)
{
    struct jwt_claims c;
    json_t *header = NULL, *claims = NULL;
    struct jwt_keyset *ks = NULL;
    const struct jwt_key *key = NULL;
    const char *kid = NULL, *alg_name, *dot1, *dot2;
    jwa_alg alg = R_JWA_ALG_UNKNOWN;
    enum jwt_error rc = JWT_ERR_MALFORMED;
    size_t len, dots = 0;

    memset(&c, 0, sizeof c);
    if (v == NULL || out == NULL) {
        rc = JWT_ERR_INTERNAL;
        goto out;
    }
    if (token == NULL)
        goto out;
    len = strnlen(token, JWT_MAX_TOKEN_BYTES + 1);
    if (len > JWT_MAX_TOKEN_BYTES) {
        rc = JWT_ERR_TOO_LARGE;
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.')
            dots++;
        else if (!base64url_is_char((unsigned char)token[i]))
            goto out; /* whitespace, padding, "+/"... */
    }
    if (dots != 2) /* a compact JWE has five parts */
        goto out;
    dot1 = strchr(token, '.');
    dot2 = strchr(dot1 + 1, '.');
    header = decode_json_object(token, (size_t)(dot1 - token));
    claims = decode_json_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (header == NULL || claims == NULL)
        goto out;
    rc = check_header(header, &alg, &kid);
    if (rc != JWT_OK)
        goto out;

    alg_name = alg == R_JWA_ALG_RS256 ? "RS256" : "ES256";
    rc = jwt_keys_find(&v->keys, kid, alg_name, now, &ks, &key);
    if (rc != JWT_OK)
        goto out;
    if (!signature_length_ok(dot2 + 1, len - (size_t)(dot2 + 1 - token), key)) {
        rc = JWT_ERR_SIGNATURE;
        goto out;
    }
    rc = verify_signature(token, len, key, alg);
    if (rc != JWT_OK)
        goto out;

    memcpy(c.alg, alg_name, strlen(alg_name) + 1);
    if (kid != NULL)
        memcpy(c.kid, kid, strlen(kid) + 1);
    rc = check_claims(v, claims, now, &c);
out:
    if (v != NULL)
        jwt_keys_release(&v->keys, ks);
    json_decref(header);
    json_decref(claims);
    if (out != NULL) {
        if (rc == JWT_OK)
            *out = c;
        else
            memset(out, 0, sizeof *out);
    }
    return rc;
}

/* ---- initialisation ---------------------------------------------------------------------- */

bool jwt_global_init(void)
{
    return r_global_init() == RHN_OK;
}

void jwt_global_close(void)
{
    r_global_close();
}
