/* The key set of a verifier (see jwt_keys.h, and jwt_internal.h for what jwt.c uses).
 *
 * A set is a reference-counted immutable snapshot holding plain strings: each verification
 * imports its own jwk_t from the minimal JWK text, so no rhonabwy/jansson object is shared
 * between threads. Replacing the set swaps one pointer under `lock`; a verification in progress
 * keeps the set it acquired until it releases it. Fetches from the URL are serialised by
 * `refresh_lock` and rate-limited by the `now` the callers give. */
#include "jwt_keys.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rhonabwy.h>
#include <ulfius.h>

#include "base64url.h"
#include "jwt_internal.h"
#include "log.h"
#include "xalloc.h"

/* ---- one JWKS, parsed -------------------------------------------------------------------- */

enum key_kind { KEY_RSA, KEY_EC };

struct jwt_key {
    char *kid;      /* NULL when the JWK has none */
    char *jwk_json; /* minimal public JWK, imported afresh by each verification */
    char alg[16];   /* the JWK's "alg", "" when absent */
    enum key_kind kind;
    unsigned bits; /* RSA: exact modulus size */
    bool p256;     /* EC: crv is P-256 */
};

struct jwt_keyset {
    unsigned refs; /* guarded by the owning source's lock */
    size_t count;
    struct jwt_key keys[];
};

static void keyset_free(struct jwt_keyset *ks)
{
    if (ks == NULL)
        return;
    for (size_t i = 0; i < ks->count; i++) {
        free(ks->keys[i].kid);
        free(ks->keys[i].jwk_json);
    }
    free(ks);
}

static bool key_usable_for(const struct jwt_key *k, const char *alg)
{
    bool rs256 = strcmp(alg, "RS256") == 0;

    if (k->alg[0] != '\0' && strcmp(k->alg, alg) != 0)
        return false;
    if (rs256)
        return k->kind == KEY_RSA && k->bits >= 2048;
    return k->kind == KEY_EC && k->p256;
}

/* Exact size in bits of a big-endian unsigned integer (leading zero bytes do not count, so a
 * 2040-bit modulus padded to 256 bytes is not taken for a 2048-bit one). */
static unsigned bit_length(const unsigned char *b, size_t n)
{
    while (n > 0 && b[0] == 0) {
        b++;
        n--;
    }
    if (n == 0)
        return 0;
    unsigned bits = (unsigned)(n - 1) * 8;
    for (unsigned char top = b[0]; top != 0; top >>= 1)
        bits++;
    return bits;
}

/* Decodes the base64url JWK member `name` into buf; false when absent or invalid. */
static bool jwk_member_bytes(const json_t *jwk, const char *name, unsigned char *buf, size_t cap,
                             size_t *len)
{
    const json_t *m = json_object_get(jwk, name);

    return json_is_string(m) && json_string_length(m) > 0 &&
           base64url_decode(json_string_value(m), json_string_length(m), buf, cap, len);
}

static bool key_ops_allow_verify(const json_t *ops)
{
    size_t i;
    const json_t *op;

    if (ops == NULL)
        return true;
    if (!json_is_array(ops))
        return false;
    json_array_foreach(ops, i, op)
    {
        if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
            return true;
    }
    return false;
}

/* Asks rhonabwy (and through it GnuTLS) whether the minimal JWK text is a public key it can use:
 * exporting it to DER goes through gnutls_pubkey_import_*. */
static bool rhonabwy_accepts_public_key(const char *jwk_json, int expected_type)
{
    jwk_t *jwk = NULL;
    unsigned char der[2048];
    size_t der_len = sizeof der;
    int type;
    bool ok = false;

    if (r_jwk_init(&jwk) != RHN_OK || r_jwk_import_from_json_str(jwk, jwk_json) != RHN_OK)
        goto out;
    type = r_jwk_key_type(jwk, NULL, R_FLAG_IGNORE_REMOTE);
    if ((type & expected_type) == 0 || (type & R_KEY_TYPE_PUBLIC) == 0)
        goto out;
    ok = r_jwk_export_to_pem_der(jwk, R_FORMAT_DER, der, &der_len, R_FLAG_IGNORE_REMOTE) == RHN_OK;
out:
    r_jwk_free(jwk);
    return ok;
}

enum parse_key { PARSE_KEY_KEPT, PARSE_KEY_SKIPPED, PARSE_KEY_SECRET };

/* Reads one JWKS member into *e. Keeps only RSA and EC signature keys, as minimal public JWKs. */
static enum parse_key parse_key(const json_t *jwk, struct jwt_key *e)
{
    static const char *const secret_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    unsigned char buf[1024];
    size_t len = 0;
    const json_t *kty = json_object_get(jwk, "kty");
    const json_t *use = json_object_get(jwk, "use");
    const json_t *kid = json_object_get(jwk, "kid");
    const json_t *alg = json_object_get(jwk, "alg");
    json_t *minimal = NULL;
    enum parse_key result = PARSE_KEY_SKIPPED;

    memset(e, 0, sizeof *e);
    if (!json_is_object(jwk))
        goto out;
    for (size_t i = 0; i < sizeof secret_members / sizeof secret_members[0]; i++) {
        if (json_object_get(jwk, secret_members[i]) != NULL) {
            result = PARSE_KEY_SECRET;
            goto out;
        }
    }
    if (!json_is_string(kty))
        goto out;
    if (use != NULL && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0))
        goto out;
    if (!key_ops_allow_verify(json_object_get(jwk, "key_ops")))
        goto out;
    if (kid != NULL) {
        if (!json_is_string(kid) || json_string_length(kid) == 0 ||
            json_string_length(kid) > JWT_CLAIM_MAX)
            goto out;
        e->kid = xstrdup(json_string_value(kid));
    }
    if (alg != NULL) {
        if (!json_is_string(alg) || json_string_length(alg) >= sizeof e->alg)
            goto out;
        memcpy(e->alg, json_string_value(alg), json_string_length(alg) + 1);
    }
    if (strcmp(json_string_value(kty), "RSA") == 0) {
        if (!jwk_member_bytes(jwk, "e", buf, sizeof buf, &len) || bit_length(buf, len) == 0 ||
            !jwk_member_bytes(jwk, "n", buf, sizeof buf, &len))
            goto out;
        e->kind = KEY_RSA;
        e->bits = bit_length(buf, len);
        minimal = xjson(json_pack("{sssOsO}", "kty", "RSA", "n", json_object_get(jwk, "n"), "e",
                                  json_object_get(jwk, "e")));
    } else if (strcmp(json_string_value(kty), "EC") == 0) {
        const json_t *crv = json_object_get(jwk, "crv");
        size_t xlen = 0, ylen = 0;

        if (!json_is_string(crv) || !jwk_member_bytes(jwk, "x", buf, sizeof buf, &xlen) ||
            !jwk_member_bytes(jwk, "y", buf, sizeof buf, &ylen))
            goto out;
        e->kind = KEY_EC;
        e->p256 = strcmp(json_string_value(crv), "P-256") == 0;
        /* RFC 7518 §6.2.1.2: coordinates are exactly the curve size (32 bytes for P-256). */
        if (e->p256 && (xlen != 32 || ylen != 32))
            goto out;
        minimal = xjson(json_pack("{sssOsOsO}", "kty", "EC", "crv", crv, "x",
                                  json_object_get(jwk, "x"), "y", json_object_get(jwk, "y")));
    } else {
        goto out;
    }
    e->jwk_json = json_dumps(minimal, JSON_COMPACT | JSON_SORT_KEYS);
    if (e->jwk_json == NULL)
        die_bug("json_dumps failed");
    if (!rhonabwy_accepts_public_key(e->jwk_json,
                                     e->kind == KEY_RSA ? R_KEY_TYPE_RSA : R_KEY_TYPE_EC))
        goto out;
    result = PARSE_KEY_KEPT;
out:
    json_decref(minimal);
    if (result != PARSE_KEY_KEPT) {
        free(e->kid);
        free(e->jwk_json);
        memset(e, 0, sizeof *e);
    }
    return result;
}

/* Builds a key set from a JWKS document; NULL (err set) when it is refused. */
static struct jwt_keyset *keyset_from_json(const char *text, char *err, size_t err_size)
{
    json_t *root = NULL;
    const json_t *keys, *jwk;
    struct jwt_keyset *ks = NULL;
    size_t i, usable = 0, len;
    json_error_t jerr;

    if (text == NULL) {
        jwt_set_err(err, err_size, "JWKS absent.");
        goto fail;
    }
    len = strnlen(text, JWT_JWKS_MAX_BYTES + 1);
    if (len > JWT_JWKS_MAX_BYTES) {
        jwt_set_err(err, err_size, "JWKS trop volumineux (plus de %d octets).", JWT_JWKS_MAX_BYTES);
        goto fail;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        jwt_set_err(err, err_size, "JWKS illisible : JSON invalide (ligne %d, colonne %d).",
                    jerr.line, jerr.column);
        goto fail;
    }
    keys = json_object_get(root, "keys");
    if (!json_is_object(root) || !json_is_array(keys)) {
        jwt_set_err(err, err_size,
                    "JWKS invalide : un objet avec un tableau \"keys\" est attendu.");
        goto fail;
    }
    if (json_array_size(keys) > JWT_JWKS_MAX_KEYS) {
        jwt_set_err(err, err_size, "JWKS invalide : plus de %d cles.", JWT_JWKS_MAX_KEYS);
        goto fail;
    }
    ks = xcalloc(1, sizeof *ks + json_array_size(keys) * sizeof ks->keys[0]);
    ks->refs = 1;
    json_array_foreach(keys, i, jwk)
    {
        struct jwt_key *e = &ks->keys[ks->count];

        switch (parse_key(jwk, e)) {
        case PARSE_KEY_SECRET:
            jwt_set_err(err, err_size,
                        "JWKS refuse : la cle %zu contient un element prive ou secret "
                        "(un JWKS ne publie que des cles publiques).",
                        i);
            goto fail;
        case PARSE_KEY_KEPT:
            ks->count++;
            if (key_usable_for(e, "RS256") || key_usable_for(e, "ES256"))
                usable++;
            break;
        case PARSE_KEY_SKIPPED:
            break;
        }
    }
    if (usable == 0) {
        jwt_set_err(err, err_size,
                    "JWKS refuse : aucune cle publique utilisable (RSA d'au moins 2048 bits pour "
                    "RS256, EC P-256 pour ES256).");
        goto fail;
    }
    json_decref(root);
    return ks;
fail:
    json_decref(root);
    keyset_free(ks);
    return NULL;
}

/* ---- the key source of a verifier ----------------------------------------------------------- */

void jwt_keys_init(struct jwt_keys *k)
{
    memset(k, 0, sizeof *k);
    if (pthread_mutex_init(&k->lock, NULL) != 0 || pthread_mutex_init(&k->refresh_lock, NULL) != 0)
        die_bug("pthread_mutex_init failed");
}

void jwt_keys_destroy(struct jwt_keys *k)
{
    jwt_keys_release(k, k->current);
    k->current = NULL;
    pthread_mutex_destroy(&k->lock);
    pthread_mutex_destroy(&k->refresh_lock);
    free(k->url);
    k->url = NULL;
}

static struct jwt_keyset *keyset_acquire(struct jwt_keys *k)
{
    struct jwt_keyset *ks;

    pthread_mutex_lock(&k->lock);
    ks = k->current;
    if (ks != NULL)
        ks->refs++;
    pthread_mutex_unlock(&k->lock);
    return ks;
}

void jwt_keys_release(struct jwt_keys *k, struct jwt_keyset *held)
{
    unsigned left;

    if (held == NULL)
        return;
    pthread_mutex_lock(&k->lock);
    left = --held->refs;
    pthread_mutex_unlock(&k->lock);
    if (left == 0)
        keyset_free(held);
}

/* Replaces k's set with the JWKS text (see jwt_verifier_set_jwks). */
static bool keys_load(struct jwt_keys *k, const char *jwks_json, char *err, size_t err_size)
{
    struct jwt_keyset *fresh = keyset_from_json(jwks_json, err, err_size), *old;

    if (fresh == NULL)
        return false;
    pthread_mutex_lock(&k->lock);
    old = k->current;
    k->current = fresh;
    pthread_mutex_unlock(&k->lock);
    jwt_keys_release(k, old);
    return true;
}

bool jwt_verifier_set_jwks(struct jwt_verifier *v, const char *jwks_json, char *err,
                           size_t err_size)
{
    if (v == NULL) {
        jwt_set_err(err, err_size, "Verificateur absent.");
        return false;
    }
    return keys_load(&v->keys, jwks_json, err, err_size);
}

size_t jwt_verifier_key_count(struct jwt_verifier *v)
{
    struct jwt_keyset *ks;
    size_t n;

    if (v == NULL)
        return 0;
    ks = keyset_acquire(&v->keys);
    n = ks != NULL ? ks->count : 0;
    jwt_keys_release(&v->keys, ks);
    return n;
}

/* True when url is https://, or http:// to a loopback host. */
static bool url_allowed(const char *url)
{
    static const char *const loopback[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};

    if (strncmp(url, "https://", 8) == 0)
        return url[8] != '\0' && url[8] != '/';
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
        size_t n = strlen(loopback[i]);

        if (strncmp(url, loopback[i], n) == 0 && (url[n] == '\0' || url[n] == ':' || url[n] == '/'))
            return true;
    }
    return false;
}

bool jwt_verifier_set_jwks_url(struct jwt_verifier *v, const char *url, char *err, size_t err_size)
{
    if (v == NULL || url == NULL) {
        jwt_set_err(err, err_size, "Verificateur ou URL absent.");
        return false;
    }
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            jwt_set_err(err, err_size, "URL du JWKS invalide : caractere interdit.");
            return false;
        }
    }
    if (!url_allowed(url) || strlen(url) > 2048) {
        jwt_set_err(err, err_size,
                    "URL du JWKS refusee : https:// attendu (http:// seulement vers 127.0.0.1, "
                    "localhost ou [::1]).");
        return false;
    }
    pthread_mutex_lock(&v->keys.refresh_lock);
    free(v->keys.url);
    v->keys.url = xstrdup(url);
    v->keys.fetched = false;
    pthread_mutex_unlock(&v->keys.refresh_lock);
    return true;
}

struct fetch_body {
    char *data;
    size_t len;
    bool too_large;
};

static size_t fetch_write(void *contents, size_t size, size_t nmemb, void *user)
{
    struct fetch_body *b = user;

    if (size != 0 && nmemb > (JWT_JWKS_MAX_BYTES - b->len) / size) {
        b->too_large = true;
        return 0; /* aborts the transfer */
    }
    size_t n = size * nmemb;
    b->data = xrealloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, contents, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Fetches k's URL and loads it. Caller holds k->refresh_lock. */
static bool fetch_locked(struct jwt_keys *k, char *err, size_t err_size)
{
    struct _u_request req;
    struct _u_response res;
    struct fetch_body body = {NULL, 0, false};
    bool ok = false;
    int rc;

    ulfius_init_request(&req);
    ulfius_init_response(&res);
    if (ulfius_set_request_properties(
            &req, U_OPT_HTTP_VERB, "GET", U_OPT_HTTP_URL, k->url, U_OPT_TIMEOUT,
            (unsigned long)JWT_JWKS_FETCH_TIMEOUT_SECONDS, U_OPT_FOLLOW_REDIRECT, 0,
            U_OPT_CHECK_SERVER_CERTIFICATE, 1, U_OPT_HEADER_PARAMETER, "Accept",
            "application/jwk-set+json, application/json", U_OPT_NONE) != U_OK) {
        jwt_set_err(err, err_size, "Requete vers le JWKS impossible a preparer.");
        goto out;
    }
    rc = ulfius_send_http_streaming_request(&req, &res, fetch_write, &body);
    if (body.too_large) {
        jwt_set_err(err, err_size, "JWKS telecharge trop volumineux (plus de %d octets).",
                    JWT_JWKS_MAX_BYTES);
        goto out;
    }
    if (rc != U_OK) {
        jwt_set_err(err, err_size, "Telechargement du JWKS impossible (erreur reseau ou TLS).");
        goto out;
    }
    if (res.status != 200) {
        jwt_set_err(err, err_size, "Telechargement du JWKS : statut HTTP %ld.", res.status);
        goto out;
    }
    ok = keys_load(k, body.data != NULL ? body.data : "", err, err_size);
out:
    free(body.data);
    ulfius_clean_request(&req);
    ulfius_clean_response(&res);
    return ok;
}

bool jwt_verifier_fetch_jwks(struct jwt_verifier *v, time_t now, char *err, size_t err_size)
{
    struct jwt_keys *k;
    bool ok = false;

    if (v == NULL) {
        jwt_set_err(err, err_size, "Verificateur absent.");
        return false;
    }
    k = &v->keys;
    pthread_mutex_lock(&k->refresh_lock);
    if (k->url == NULL) {
        jwt_set_err(err, err_size, "Aucune URL de JWKS configuree.");
    } else {
        k->fetched = true;
        k->last_fetch = now;
        ok = fetch_locked(k, err, err_size);
    }
    pthread_mutex_unlock(&k->refresh_lock);
    return ok;
}

/* On an unknown kid: fetches the set again when a URL is set and the last fetch is at least
 * JWT_JWKS_REFRESH_SECONDS before now, or as much after it (the clock went back; a `now` only a
 * little behind, as from a request that read the clock just before another, does not fetch).
 * Threads arriving during a fetch wait for it, then look the kid up in the new set. */
static void refresh_on_unknown_kid(struct jwt_keys *k, time_t now)
{
    char err[256];

    pthread_mutex_lock(&k->refresh_lock);
    if (k->url != NULL && (!k->fetched || now - k->last_fetch >= JWT_JWKS_REFRESH_SECONDS ||
                           k->last_fetch - now >= JWT_JWKS_REFRESH_SECONDS)) {
        k->fetched = true;
        k->last_fetch = now;
        if (!fetch_locked(k, err, sizeof err))
            log_line(LOG_WARN, NULL, "JWKS refresh failed", "url", k->url, "reason", err,
                     (const char *)NULL);
    }
    pthread_mutex_unlock(&k->refresh_lock);
}

enum lookup { LOOKUP_FOUND, LOOKUP_UNKNOWN, LOOKUP_MISMATCH };

/* Chooses the key for (kid, alg) in ks. */
static enum lookup find_key(const struct jwt_keyset *ks, const char *kid, const char *alg,
                            const struct jwt_key **out)
{
    bool kid_seen = false;

    *out = NULL;
    if (ks == NULL || ks->count == 0)
        return LOOKUP_UNKNOWN;
    if (kid == NULL) {
        if (ks->count != 1)
            return LOOKUP_UNKNOWN;
        *out = &ks->keys[0];
        return key_usable_for(*out, alg) ? LOOKUP_FOUND : LOOKUP_MISMATCH;
    }
    for (size_t i = 0; i < ks->count; i++) {
        const struct jwt_key *k = &ks->keys[i];

        if (k->kid == NULL || strcmp(k->kid, kid) != 0)
            continue;
        kid_seen = true;
        if (key_usable_for(k, alg)) {
            *out = k;
            return LOOKUP_FOUND;
        }
    }
    return kid_seen ? LOOKUP_MISMATCH : LOOKUP_UNKNOWN;
}

enum jwt_error jwt_keys_find(struct jwt_keys *k, const char *kid, const char *alg, time_t now,
                             struct jwt_keyset **held, const struct jwt_key **key)
{
    struct jwt_keyset *ks = keyset_acquire(k);
    enum lookup found = find_key(ks, kid, alg, key);

    if (found == LOOKUP_UNKNOWN && (kid != NULL || ks == NULL || ks->count == 0)) {
        jwt_keys_release(k, ks);
        refresh_on_unknown_kid(k, now);
        ks = keyset_acquire(k);
        found = find_key(ks, kid, alg, key);
    }
    *held = ks;
    if (found == LOOKUP_FOUND)
        return JWT_OK;
    *key = NULL;
    return found == LOOKUP_MISMATCH ? JWT_ERR_KEY_MISMATCH : JWT_ERR_UNKNOWN_KID;
}

const char *jwt_key_jwk_json(const struct jwt_key *key)
{
    return key->jwk_json;
}

size_t jwt_key_signature_size(const struct jwt_key *key)
{
    return key->kind == KEY_EC ? 64 : (key->bits + 7) / 8;
}
