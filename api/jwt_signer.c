/* pvd-api's own tokens (see jwt_signer.h).
 *
 * The signer reads its PEM key with OpenSSL (coordinates, thumbprint) and signs with rhonabwy,
 * which imports a fresh copy of the private JWK for each signature. */
#include "jwt_signer.h"

#include <errno.h>
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

#include "base64url.h"
#include "jwt_internal.h"
#include "xalloc.h"
#include "digest.h"

struct jwt_signer {
    char kid[64];      /* RFC 7638 thumbprint: 43 base64url characters */
    char x[64], y[64]; /* public point, base64url (43 characters each for P-256) */
    char *private_jwk; /* rhonabwy JWK text with "d", cleansed on free */
};

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
        base64url_encode(buf, sizeof buf, out);
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
        jwt_set_err(err, err_size, "Cle de signature absente ou illisible.");
        goto fail;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        die_bug("BIO_new_mem_buf failed");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (pkey == NULL) {
        jwt_set_err(err, err_size,
                    "Cle de signature illisible : une cle privee PEM non chiffree est attendue.");
        goto fail;
    }
    if (!EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1 ||
        strcmp(group, "prime256v1") != 0) {
        jwt_set_err(err, err_size,
                    "Cle de signature refusee : une cle privee EC P-256 est attendue.");
        goto fail;
    }
    s = xcalloc(1, sizeof *s);
    if (!p256_param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_X, s->x) ||
        !p256_param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, s->y) ||
        !p256_param_b64url(pkey, OSSL_PKEY_PARAM_PRIV_KEY, d)) {
        jwt_set_err(err, err_size, "Cle de signature inutilisable (parametres EC illisibles).");
        goto fail;
    }
    /* RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace. */
    n = snprintf(canonical, sizeof canonical,
                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", s->x, s->y);
    if (n < 0 || (size_t)n >= sizeof canonical ||
        EVP_Digest(canonical, (size_t)n, digest, NULL, digest_sha256(), NULL) != 1)
        die_bug("RFC 7638 thumbprint failed");
    base64url_encode(digest, sizeof digest, s->kid);
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
        jwt_set_err(err, err_size, "Cle de signature inutilisable par rhonabwy.");
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
    return s == NULL || jwt_string_ok(s);
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

    if (s == NULL || !jwt_string_ok(issuer) || !jwt_string_ok(audience) ||
        !jwt_string_ok(subject) || !optional_ok(client_id) || !optional_ok(role) ||
        !optional_ok(jti) || ttl_seconds == 0)
        goto out;
    if (jti == NULL) {
        unsigned char bytes[16];

        if (RAND_bytes(bytes, sizeof bytes) != 1)
            goto out;
        base64url_encode(bytes, sizeof bytes, random_jti);
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
        jwt_set_err(err, err_size, "Chemin de la cle absent.");
        goto out;
    }
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (pkey == NULL) {
        jwt_set_err(err, err_size, "Generation de la cle EC P-256 impossible.");
        goto out;
    }
    tmp = xmalloc(strlen(path) + sizeof ".tmp-XXXXXX");
    snprintf(tmp, strlen(path) + sizeof ".tmp-XXXXXX", "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    if (fd < 0) {
        jwt_set_err(err, err_size, "Creation du fichier temporaire de la cle impossible : %s.",
                    strerror(errno));
        goto out;
    }
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 || (f = fdopen(fd, "w")) == NULL) {
        jwt_set_err(err, err_size, "Ecriture de la cle impossible : %s.", strerror(errno));
        goto out;
    }
    fd = -1; /* owned by f */
    if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        jwt_set_err(err, err_size, "Ecriture de la cle impossible.");
        goto out;
    }
    if (link(tmp, path) != 0) { /* never replaces an existing key */
        jwt_set_err(err, err_size, "Publication de la cle impossible : %s.", strerror(errno));
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
