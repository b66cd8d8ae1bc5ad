/* JSON Web Tokens on rhonabwy (see jwt.h).
 *
 * Layering of the verification: everything an attacker controls is checked here first with a
 * strict parser (size, charset, three parts, canonical base64url, JSON objects without duplicate
 * names, alg allow-list, kid, signature length), so rhonabwy only ever sees a well-formed
 * RS256/ES256 compact JWS and one trusted public key. rhonabwy is then asked for the signature
 * only: it is called with R_PARSE_NONE (never import a jwk/jku/x5c/x5u from the token header) and
 * R_FLAG_IGNORE_REMOTE (never download anything), and always with an explicit key. The claims
 * are checked here against the caller's `now` (r_jwt_validate_claims reads the clock itself).
 *
 * Key sets are reference-counted immutable snapshots holding plain strings: each verification
 * imports its own jwk_t from the minimal JWK text, so no rhonabwy/jansson object is shared.
 *
 * The signer reads its PEM key with OpenSSL (coordinates, thumbprint) and signs with rhonabwy,
 * which imports a fresh copy of the private JWK for each signature. */
#include "jwt.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <rhonabwy.h>
#include <ulfius.h>

#include "log.h"
#include "xalloc.h"

/* ---- errors and small helpers ------------------------------------------------------------ */

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

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t err_size,
                                                          const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* Copies a JSON string of 1..JWT_CLAIM_MAX bytes into out[JWT_CLAIM_MAX + 1]. */
static bool copy_claim_string(const json_t *j, char *out)
{
    size_t n = json_string_length(j);

    if (!json_is_string(j) || n == 0 || n > JWT_CLAIM_MAX)
        return false;
    memcpy(out, json_string_value(j), n + 1);
    return true;
}

static bool is_nonempty_bounded(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= JWT_CLAIM_MAX;
}

/* ---- strict base64url (RFC 7515 §2: no padding, canonical) ------------------------------- */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static size_t b64url_decoded_max(size_t n)
{
    return n / 4 * 3 + 2;
}

/* Decodes in[0..n) into out (capacity out_cap). False on a character outside the alphabet, a
 * length no encoder produces (n % 4 == 1), non-zero padding bits, or an output too large. */
static bool b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_cap,
                          size_t *out_len)
{
    size_t o = 0;

    if (n % 4 == 1)
        return false;
    for (size_t i = 0; i < n; i += 4) {
        size_t k = n - i < 4 ? n - i : 4;
        uint32_t w = 0;

        for (size_t j = 0; j < 4; j++) {
            int v = j < k ? b64url_value((unsigned char)in[i + j]) : 0;

            if (v < 0)
                return false;
            w = (w << 6) | (uint32_t)v;
        }
        size_t bytes = k - 1;
        if ((bytes == 1 && (w & 0xFFFF)) || (bytes == 2 && (w & 0xFF)))
            return false;
        if (o + bytes > out_cap)
            return false;
        out[o++] = (unsigned char)(w >> 16);
        if (bytes > 1)
            out[o++] = (unsigned char)(w >> 8);
        if (bytes > 2)
            out[o++] = (unsigned char)w;
    }
    *out_len = o;
    return true;
}

/* Encodes n bytes; out must hold (n + 2) / 3 * 4 + 1 bytes. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64url_alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64url_alphabet[v & 63];
    }
    out[o] = '\0';
}

/* Decodes a base64url part of a token into a fresh NUL-terminated JSON object, rejecting
 * duplicate member names (two parsers reading different values is a classic JWT bypass). */
static json_t *decode_json_object(const char *part, size_t n)
{
    size_t cap = b64url_decoded_max(n), len = 0;
    unsigned char *buf = xmalloc(cap + 1);
    json_t *obj = NULL;

    if (n > 0 && b64url_decode(part, n, buf, cap, &len)) {
        obj = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
        if (obj != NULL && !json_is_object(obj)) {
            json_decref(obj);
            obj = NULL;
        }
    }
    free(buf);
    return obj;
}

/* ---- key sets ---------------------------------------------------------------------------- */

enum key_kind { KEY_RSA, KEY_EC };

struct key_entry {
    char *kid;      /* NULL when the JWK has none */
    char *jwk_json; /* minimal public JWK, imported afresh by each verification */
    char alg[16];   /* the JWK's "alg", "" when absent */
    enum key_kind kind;
    unsigned bits; /* RSA: exact modulus size */
    bool p256;     /* EC: crv is P-256 */
};

struct keyset {
    unsigned refs; /* guarded by the owning verifier's lock */
    size_t count;
    struct key_entry keys[];
};

static void keyset_free(struct keyset *ks)
{
    if (ks == NULL)
        return;
    for (size_t i = 0; i < ks->count; i++) {
        free(ks->keys[i].kid);
        free(ks->keys[i].jwk_json);
    }
    free(ks);
}

static bool key_usable_for(const struct key_entry *k, const char *alg)
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
           b64url_decode(json_string_value(m), json_string_length(m), buf, cap, len);
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
static enum parse_key parse_key(const json_t *jwk, struct key_entry *e)
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
static struct keyset *keyset_from_json(const char *text, char *err, size_t err_size)
{
    json_t *root = NULL;
    const json_t *keys, *jwk;
    struct keyset *ks = NULL;
    size_t i, usable = 0, len;
    json_error_t jerr;

    if (text == NULL) {
        set_err(err, err_size, "JWKS absent.");
        goto fail;
    }
    len = strnlen(text, JWT_JWKS_MAX_BYTES + 1);
    if (len > JWT_JWKS_MAX_BYTES) {
        set_err(err, err_size, "JWKS trop volumineux (plus de %d octets).", JWT_JWKS_MAX_BYTES);
        goto fail;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        set_err(err, err_size, "JWKS illisible : JSON invalide (ligne %d, colonne %d).", jerr.line,
                jerr.column);
        goto fail;
    }
    keys = json_object_get(root, "keys");
    if (!json_is_object(root) || !json_is_array(keys)) {
        set_err(err, err_size, "JWKS invalide : un objet avec un tableau \"keys\" est attendu.");
        goto fail;
    }
    if (json_array_size(keys) > JWT_JWKS_MAX_KEYS) {
        set_err(err, err_size, "JWKS invalide : plus de %d cles.", JWT_JWKS_MAX_KEYS);
        goto fail;
    }
    ks = xcalloc(1, sizeof *ks + json_array_size(keys) * sizeof ks->keys[0]);
    ks->refs = 1;
    json_array_foreach(keys, i, jwk)
    {
        struct key_entry *e = &ks->keys[ks->count];

        switch (parse_key(jwk, e)) {
        case PARSE_KEY_SECRET:
            set_err(err, err_size,
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
        set_err(err, err_size,
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

/* ---- verifier ---------------------------------------------------------------------------- */

struct jwt_verifier {
    char *issuer;
    char *audience;
    unsigned leeway;

    pthread_mutex_t lock; /* guards `keys` and every keyset's refs */
    struct keyset *keys;  /* NULL until a set is loaded */

    pthread_mutex_t refresh_lock; /* serialises fetches; guards the members below */
    char *url;
    bool fetched;
    time_t last_fetch;
};

static struct keyset *keyset_acquire(struct jwt_verifier *v)
{
    struct keyset *ks;

    pthread_mutex_lock(&v->lock);
    ks = v->keys;
    if (ks != NULL)
        ks->refs++;
    pthread_mutex_unlock(&v->lock);
    return ks;
}

static void keyset_release(struct jwt_verifier *v, struct keyset *ks)
{
    unsigned left;

    if (ks == NULL)
        return;
    pthread_mutex_lock(&v->lock);
    left = --ks->refs;
    pthread_mutex_unlock(&v->lock);
    if (left == 0)
        keyset_free(ks);
}

struct jwt_verifier *jwt_verifier_new(const char *issuer, const char *audience,
                                      unsigned leeway_seconds)
{
    struct jwt_verifier *v;

    if (!is_nonempty_bounded(issuer) || !is_nonempty_bounded(audience) ||
        leeway_seconds > JWT_LEEWAY_MAX)
        return NULL;
    v = xcalloc(1, sizeof *v);
    v->issuer = xstrdup(issuer);
    v->audience = xstrdup(audience);
    v->leeway = leeway_seconds;
    if (pthread_mutex_init(&v->lock, NULL) != 0 || pthread_mutex_init(&v->refresh_lock, NULL) != 0)
        die_bug("pthread_mutex_init failed");
    return v;
}

void jwt_verifier_free(struct jwt_verifier *v)
{
    if (v == NULL)
        return;
    keyset_release(v, v->keys);
    pthread_mutex_destroy(&v->lock);
    pthread_mutex_destroy(&v->refresh_lock);
    free(v->issuer);
    free(v->audience);
    free(v->url);
    free(v);
}

bool jwt_verifier_set_jwks(struct jwt_verifier *v, const char *jwks_json, char *err,
                           size_t err_size)
{
    struct keyset *fresh, *old;

    if (v == NULL) {
        set_err(err, err_size, "Verificateur absent.");
        return false;
    }
    fresh = keyset_from_json(jwks_json, err, err_size);
    if (fresh == NULL)
        return false;
    pthread_mutex_lock(&v->lock);
    old = v->keys;
    v->keys = fresh;
    pthread_mutex_unlock(&v->lock);
    keyset_release(v, old);
    return true;
}

size_t jwt_verifier_key_count(struct jwt_verifier *v)
{
    struct keyset *ks;
    size_t n;

    if (v == NULL)
        return 0;
    ks = keyset_acquire(v);
    n = ks != NULL ? ks->count : 0;
    keyset_release(v, ks);
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
        set_err(err, err_size, "Verificateur ou URL absent.");
        return false;
    }
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            set_err(err, err_size, "URL du JWKS invalide : caractere interdit.");
            return false;
        }
    }
    if (!url_allowed(url) || strlen(url) > 2048) {
        set_err(err, err_size,
                "URL du JWKS refusee : https:// attendu (http:// seulement vers 127.0.0.1, "
                "localhost ou [::1]).");
        return false;
    }
    pthread_mutex_lock(&v->refresh_lock);
    free(v->url);
    v->url = xstrdup(url);
    v->fetched = false;
    pthread_mutex_unlock(&v->refresh_lock);
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

/* Fetches url and loads it. Caller holds refresh_lock. */
static bool fetch_locked(struct jwt_verifier *v, char *err, size_t err_size)
{
    struct _u_request req;
    struct _u_response res;
    struct fetch_body body = {NULL, 0, false};
    bool ok = false;
    int rc;

    ulfius_init_request(&req);
    ulfius_init_response(&res);
    if (ulfius_set_request_properties(
            &req, U_OPT_HTTP_VERB, "GET", U_OPT_HTTP_URL, v->url, U_OPT_TIMEOUT,
            (unsigned long)JWT_JWKS_FETCH_TIMEOUT_SECONDS, U_OPT_FOLLOW_REDIRECT, 0,
            U_OPT_CHECK_SERVER_CERTIFICATE, 1, U_OPT_HEADER_PARAMETER, "Accept",
            "application/jwk-set+json, application/json", U_OPT_NONE) != U_OK) {
        set_err(err, err_size, "Requete vers le JWKS impossible a preparer.");
        goto out;
    }
    rc = ulfius_send_http_streaming_request(&req, &res, fetch_write, &body);
    if (body.too_large) {
        set_err(err, err_size, "JWKS telecharge trop volumineux (plus de %d octets).",
                JWT_JWKS_MAX_BYTES);
        goto out;
    }
    if (rc != U_OK) {
        set_err(err, err_size, "Telechargement du JWKS impossible (erreur reseau ou TLS).");
        goto out;
    }
    if (res.status != 200) {
        set_err(err, err_size, "Telechargement du JWKS : statut HTTP %ld.", res.status);
        goto out;
    }
    ok = jwt_verifier_set_jwks(v, body.data != NULL ? body.data : "", err, err_size);
out:
    free(body.data);
    ulfius_clean_request(&req);
    ulfius_clean_response(&res);
    return ok;
}

bool jwt_verifier_fetch_jwks(struct jwt_verifier *v, time_t now, char *err, size_t err_size)
{
    bool ok = false;

    if (v == NULL) {
        set_err(err, err_size, "Verificateur absent.");
        return false;
    }
    pthread_mutex_lock(&v->refresh_lock);
    if (v->url == NULL) {
        set_err(err, err_size, "Aucune URL de JWKS configuree.");
    } else {
        v->fetched = true;
        v->last_fetch = now;
        ok = fetch_locked(v, err, err_size);
    }
    pthread_mutex_unlock(&v->refresh_lock);
    return ok;
}

/* On an unknown kid: fetches the set again when a URL is set and the last fetch is at least
 * JWT_JWKS_REFRESH_SECONDS before now, or as much after it (the clock went back; a `now` only a
 * little behind, as from a request that read the clock just before another, does not fetch).
 * Threads arriving during a fetch wait for it, then look the kid up in the new set. */
static void refresh_on_unknown_kid(struct jwt_verifier *v, time_t now)
{
    char err[256];

    pthread_mutex_lock(&v->refresh_lock);
    if (v->url != NULL && (!v->fetched || now - v->last_fetch >= JWT_JWKS_REFRESH_SECONDS ||
                           v->last_fetch - now >= JWT_JWKS_REFRESH_SECONDS)) {
        v->fetched = true;
        v->last_fetch = now;
        if (!fetch_locked(v, err, sizeof err))
            log_line(LOG_WARN, NULL, "JWKS refresh failed", "url", v->url, "reason", err,
                     (const char *)NULL);
    }
    pthread_mutex_unlock(&v->refresh_lock);
}

enum lookup { LOOKUP_FOUND, LOOKUP_UNKNOWN, LOOKUP_MISMATCH };

/* Chooses the key for (kid, alg) in ks. */
static enum lookup find_key(const struct keyset *ks, const char *kid, const char *alg,
                            const struct key_entry **out)
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
        const struct key_entry *k = &ks->keys[i];

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

/* Signature check by rhonabwy with one explicit key; never parses header keys, never fetches. */
static enum jwt_error verify_signature(const char *token, size_t len, const struct key_entry *k,
                                       jwa_alg alg)
{
    jws_t *jws = NULL;
    jwk_t *jwk = NULL;
    enum jwt_error rc = JWT_ERR_INTERNAL;

    if (r_jws_init(&jws) != RHN_OK || r_jwk_init(&jwk) != RHN_OK)
        goto out;
    if (r_jwk_import_from_json_str(jwk, k->jwk_json) != RHN_OK)
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
static bool signature_length_ok(const char *sig, size_t n, const struct key_entry *k)
{
    size_t expected = k->kind == KEY_EC ? 64 : (k->bits + 7) / 8;
    unsigned char *buf = xmalloc(b64url_decoded_max(n) + 1);
    size_t len = 0;
    bool ok = n > 0 && b64url_decode(sig, n, buf, b64url_decoded_max(n), &len) && len == expected;

    free(buf);
    return ok;
}

enum jwt_error jwt_verify(struct jwt_verifier *v, const char *token, time_t now,
                          struct jwt_claims *out)
{
    struct jwt_claims c;
    json_t *header = NULL, *claims = NULL;
    struct keyset *ks = NULL;
    const struct key_entry *key = NULL;
    const char *kid = NULL, *alg_name, *dot1, *dot2;
    jwa_alg alg = R_JWA_ALG_UNKNOWN;
    enum jwt_error rc = JWT_ERR_MALFORMED;
    enum lookup found;
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
        else if (b64url_value((unsigned char)token[i]) < 0)
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
    ks = keyset_acquire(v);
    found = find_key(ks, kid, alg_name, &key);
    if (found == LOOKUP_UNKNOWN && (kid != NULL || ks == NULL || ks->count == 0)) {
        keyset_release(v, ks);
        refresh_on_unknown_kid(v, now);
        ks = keyset_acquire(v);
        found = find_key(ks, kid, alg_name, &key);
    }
    if (found != LOOKUP_FOUND) {
        rc = found == LOOKUP_MISMATCH ? JWT_ERR_KEY_MISMATCH : JWT_ERR_UNKNOWN_KID;
        goto out;
    }
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
        keyset_release(v, ks);
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

/* ---- signer ------------------------------------------------------------------------------ */

struct jwt_signer {
    char kid[64];      /* RFC 7638 thumbprint: 43 base64url characters */
    char x[64], y[64]; /* public point, base64url (43 characters each for P-256) */
    char *private_jwk; /* rhonabwy JWK text with "d", cleansed on free */
};

bool jwt_global_init(void)
{
    return r_global_init() == RHN_OK;
}

void jwt_global_close(void)
{
    r_global_close();
}

/* Frees a string holding key material, wiped first. */
static void free_secret_string(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* PEM pass-phrase callback: refuses, so an encrypted key fails instead of prompting on a tty. */
static int no_passphrase(char *buf, int size, int rwflag, void *user)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)user;
    return -1;
}

/* base64url of the key parameter `name`, left-padded to 32 bytes, into out[64]. */
static bool p256_param_b64url(const EVP_PKEY *pkey, const char *name, char out[64])
{
    BIGNUM *bn = NULL;
    unsigned char buf[32];
    bool ok = EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 &&
              BN_bn2binpad(bn, buf, sizeof buf) == (int)sizeof buf;

    if (ok)
        b64url_encode(buf, sizeof buf, out);
    OPENSSL_cleanse(buf, sizeof buf);
    BN_clear_free(bn);
    return ok;
}

/* The key is read, and its coordinates and thumbprint computed, with OpenSSL: rhonabwy's
 * r_jwk_import_from_pem_der drops leading zero bytes of x, y and d (about 1 key in 100), which
 * makes an RFC 7518-invalid JWK and a wrong RFC 7638 thumbprint. rhonabwy then signs with the
 * full-length private JWK built here. */
struct jwt_signer *jwt_signer_new_from_pem(const char *pem, size_t len, char *err, size_t err_size)
{
    struct jwt_signer *s = NULL;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    jwk_t *jwk = NULL;
    char group[32], d[64], canonical[160], text[320];
    unsigned char digest[32];
    int n;

    memset(d, 0, sizeof d);
    memset(text, 0, sizeof text);
    if (pem == NULL || len == 0 || len > INT32_MAX || memchr(pem, '\0', len) != NULL) {
        set_err(err, err_size, "Cle de signature absente ou illisible.");
        goto fail;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        die_bug("BIO_new_mem_buf failed");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (pkey == NULL) {
        set_err(err, err_size,
                "Cle de signature illisible : une cle privee PEM non chiffree est attendue.");
        goto fail;
    }
    if (!EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1 ||
        strcmp(group, "prime256v1") != 0) {
        set_err(err, err_size, "Cle de signature refusee : une cle privee EC P-256 est attendue.");
        goto fail;
    }
    s = xcalloc(1, sizeof *s);
    if (!p256_param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_X, s->x) ||
        !p256_param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, s->y) ||
        !p256_param_b64url(pkey, OSSL_PKEY_PARAM_PRIV_KEY, d)) {
        set_err(err, err_size, "Cle de signature inutilisable (parametres EC illisibles).");
        goto fail;
    }
    /* RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace. */
    n = snprintf(canonical, sizeof canonical,
                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", s->x, s->y);
    if (n < 0 || (size_t)n >= sizeof canonical ||
        EVP_Digest(canonical, (size_t)n, digest, NULL, EVP_sha256(), NULL) != 1)
        die_bug("RFC 7638 thumbprint failed");
    b64url_encode(digest, sizeof digest, s->kid);
    n = snprintf(text, sizeof text,
                 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\","
                 "\"kid\":\"%s\",\"alg\":\"ES256\"}",
                 s->x, s->y, d, s->kid);
    if (n < 0 || (size_t)n >= sizeof text)
        die_bug("private JWK too long");
    /* rhonabwy must take it as an EC private key, or every signature would fail later. */
    if (r_jwk_init(&jwk) != RHN_OK || r_jwk_import_from_json_str(jwk, text) != RHN_OK ||
        (r_jwk_key_type(jwk, NULL, R_FLAG_IGNORE_REMOTE) & (R_KEY_TYPE_EC | R_KEY_TYPE_PRIVATE)) !=
            (R_KEY_TYPE_EC | R_KEY_TYPE_PRIVATE)) {
        set_err(err, err_size, "Cle de signature inutilisable par rhonabwy.");
        goto fail;
    }
    s->private_jwk = xstrdup(text);
    goto out;
fail:
    jwt_signer_free(s);
    s = NULL;
out:
    OPENSSL_cleanse(d, sizeof d);
    OPENSSL_cleanse(text, sizeof text);
    r_jwk_free(jwk);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return s;
}

const char *jwt_signer_kid(const struct jwt_signer *s)
{
    return s != NULL ? s->kid : NULL;
}

void jwt_signer_free(struct jwt_signer *s)
{
    if (s == NULL)
        return;
    free_secret_string(s->private_jwk);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

static bool optional_ok(const char *s)
{
    return s == NULL || is_nonempty_bounded(s);
}

char *jwt_signer_issue(const struct jwt_signer *s, const char *issuer, const char *audience,
                       const char *subject, const char *client_id, const char *role, time_t now,
                       unsigned ttl_seconds, const char *jti)
{
    json_t *claims = NULL;
    char *payload = NULL, *serialized = NULL, *token = NULL;
    jws_t *jws = NULL;
    jwk_t *jwk = NULL;
    char random_jti[32];

    if (s == NULL || !is_nonempty_bounded(issuer) || !is_nonempty_bounded(audience) ||
        !is_nonempty_bounded(subject) || !optional_ok(client_id) || !optional_ok(role) ||
        !optional_ok(jti) || ttl_seconds == 0)
        goto out;
    if (jti == NULL) {
        unsigned char bytes[16];

        if (RAND_bytes(bytes, sizeof bytes) != 1)
            goto out;
        b64url_encode(bytes, sizeof bytes, random_jti);
        jti = random_jti;
    }
    claims = xjson(json_pack("{sssssssIsIsIss}", "iss", issuer, "aud", audience, "sub", subject,
                             "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
                             (json_int_t)(now + (time_t)ttl_seconds), "jti", jti));
    if (client_id != NULL)
        json_object_set_new(claims, "client_id", xjson(json_string(client_id)));
    if (role != NULL)
        json_object_set_new(claims, "role", xjson(json_string(role)));
    payload = json_dumps(claims, JSON_COMPACT);
    if (payload == NULL)
        die_bug("json_dumps failed");

    if (r_jws_init(&jws) != RHN_OK || r_jwk_init(&jwk) != RHN_OK ||
        r_jwk_import_from_json_str(jwk, s->private_jwk) != RHN_OK ||
        r_jws_set_alg(jws, R_JWA_ALG_ES256) != RHN_OK ||
        r_jws_set_header_str_value(jws, "typ", "at+jwt") != RHN_OK ||
        r_jws_set_header_str_value(jws, "kid", s->kid) != RHN_OK ||
        r_jws_set_payload(jws, (const unsigned char *)payload, strlen(payload)) != RHN_OK)
        goto out;
    serialized = r_jws_serialize(jws, jwk, R_FLAG_IGNORE_REMOTE);
    if (serialized != NULL && strlen(serialized) <= JWT_MAX_TOKEN_BYTES)
        token = xstrdup(serialized);
out:
    r_free(serialized);
    r_jwk_free(jwk);
    r_jws_free(jws);
    free(payload);
    json_decref(claims);
    return token;
}

char *jwt_jwks_public_json(const struct jwt_signer *const *signers, size_t count)
{
    json_t *keys = xjson(json_array());
    json_t *root = xjson(json_pack("{so}", "keys", keys));
    char *text;

    for (size_t i = 0; signers != NULL && i < count; i++) {
        const struct jwt_signer *s = signers[i];

        if (s == NULL)
            continue;
        json_array_append_new(
            keys, xjson(json_pack("{ssssssssssssss}", "kty", "EC", "crv", "P-256", "x", s->x, "y",
                                  s->y, "kid", s->kid, "use", "sig", "alg", "ES256")));
    }
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL)
        die_bug("json_dumps failed");
    json_decref(root);
    return text;
}

bool jwt_generate_es256_pem(const char *path, char *err, size_t err_size)
{
    EVP_PKEY *pkey = NULL;
    FILE *f = NULL;
    char *tmp = NULL;
    int fd = -1;
    bool ok = false;

    if (path == NULL || path[0] == '\0') {
        set_err(err, err_size, "Chemin de la cle absent.");
        goto out;
    }
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (pkey == NULL) {
        set_err(err, err_size, "Generation de la cle EC P-256 impossible.");
        goto out;
    }
    tmp = xmalloc(strlen(path) + sizeof ".tmp-XXXXXX");
    snprintf(tmp, strlen(path) + sizeof ".tmp-XXXXXX", "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    if (fd < 0) {
        set_err(err, err_size, "Creation du fichier temporaire de la cle impossible : %s.",
                strerror(errno));
        goto out;
    }
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 || (f = fdopen(fd, "w")) == NULL) {
        set_err(err, err_size, "Ecriture de la cle impossible : %s.", strerror(errno));
        goto out;
    }
    fd = -1; /* owned by f */
    if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        set_err(err, err_size, "Ecriture de la cle impossible.");
        goto out;
    }
    if (link(tmp, path) != 0) { /* never replaces an existing key */
        set_err(err, err_size, "Publication de la cle impossible : %s.", strerror(errno));
        goto out;
    }
    ok = true;
out:
    if (fd >= 0 || f != NULL)
        unlink(tmp); /* the temporary name only: path keeps its own link */
    if (f != NULL)
        fclose(f);
    if (fd >= 0)
        close(fd);
    free(tmp);
    EVP_PKEY_free(pkey);
    return ok;
}
