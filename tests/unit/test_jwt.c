/* Unit tests of api/jwt: bearer-token verification (RS256/ES256 against a JWKS, every refusal
 * with its own code), pvd-api's ES256 signer and public JWKS, concurrent verification during
 * key-set replacement, and the rate-limited JWKS refresh from a URL (a ulfius server on
 * 127.0.0.1 in the test).
 *
 * Keys are generated at test time with OpenSSL, and tokens are minted here by hand with OpenSSL
 * (RSASSA-PKCS1-v1_5 / ECDSA / HMAC) and api/base64url (tested on its own in test_base64url.c),
 * independently of the code under test, so that malicious tokens can be built freely. RSA
 * generation costs about 0.5 s, so RSA keys are made only by the tests that need one, and related
 * cases are grouped in table-driven tests. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <ulfius.h>
#include <unistd.h>

#include "api/base64url.h"
#include "api/jwt.h"
#include "api/jwt_keys.h"
#include "api/jwt_signer.h"
#include "api/log.h"

#define ISS    "https://proconnect.test/api/v2"
#define AUD    "pvd-api"
#define NOW    ((time_t)1790000000)
#define LEEWAY 60

/* ---- base64url, keys, JWKS ---------------------------------------------------------------- */

/* Fresh base64url text of data[0..n); the caller frees it. */
static char *b64url(const void *data, size_t n)
{
    char *out = malloc(BASE64URL_ENCODED_LEN(n) + 1);

    cr_assert_not_null(out);
    base64url_encode(data, n, out);
    return out;
}

static EVP_PKEY *gen_rsa(unsigned bits)
{
    EVP_PKEY *k = EVP_RSA_gen(bits);

    cr_assert_not_null(k, "RSA %u key generation", bits);
    return k;
}

static EVP_PKEY *gen_ec(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);

    cr_assert_not_null(k, "EC %s key generation", curve);
    return k;
}

/* base64url of a key parameter, left-padded with zeros to pad bytes (0: minimal length). */
static char *bn_param_b64url(const EVP_PKEY *k, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    size_t n;
    char *s;

    cr_assert_eq(EVP_PKEY_get_bn_param(k, param, &bn), 1, "parameter %s", param);
    n = pad ? pad : (size_t)BN_num_bytes(bn);
    cr_assert_leq(n, sizeof buf);
    cr_assert_eq(BN_bn2binpad(bn, buf, (int)n), (int)n);
    BN_free(bn);
    s = b64url(buf, n);
    return s;
}

static size_t ec_coordinate_size(const EVP_PKEY *k)
{
    return ((size_t)EVP_PKEY_get_bits(k) + 7) / 8;
}

/* The public JWK of k (RSA or EC), with kid when not NULL; extra members may be added. */
static json_t *public_jwk(const EVP_PKEY *k, const char *kid)
{
    json_t *jwk;

    if (EVP_PKEY_is_a(k, "RSA")) {
        char *n = bn_param_b64url(k, OSSL_PKEY_PARAM_RSA_N, 0);
        char *e = bn_param_b64url(k, OSSL_PKEY_PARAM_RSA_E, 0);

        jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", e);
        free(n);
        free(e);
    } else {
        char crv[32];
        size_t size = ec_coordinate_size(k);
        char *x = bn_param_b64url(k, OSSL_PKEY_PARAM_EC_PUB_X, size);
        char *y = bn_param_b64url(k, OSSL_PKEY_PARAM_EC_PUB_Y, size);

        cr_assert_eq(
            EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, crv, sizeof crv, NULL),
            1);
        jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
                        strcmp(crv, "prime256v1") == 0 ? "P-256" : "P-384", "x", x, "y", y);
        free(x);
        free(y);
    }
    cr_assert_not_null(jwk);
    if (kid != NULL)
        json_object_set_new(jwk, "kid", json_string(kid));
    return jwk;
}

/* {"keys":[...]} from a NULL-terminated list of JWKs (references stolen). */
static char *jwks_of(json_t *first, ...)
{
    json_t *keys = json_array(), *root;
    va_list ap;
    char *text;

    va_start(ap, first);
    for (json_t *k = first; k != NULL; k = va_arg(ap, json_t *))
        json_array_append_new(keys, k);
    va_end(ap);
    root = json_pack("{s:o}", "keys", keys);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    cr_assert_not_null(text);
    return text;
}

static char *public_pem(const EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *copy;
    long n;

    cr_assert_eq(PEM_write_bio_PUBKEY(bio, k), 1);
    n = BIO_get_mem_data(bio, &data);
    copy = strndup(data, (size_t)n);
    BIO_free(bio);
    return copy;
}

/* PEM of the private key, PKCS#8 ("PRIVATE KEY") or type-specific ("EC PRIVATE KEY"). */
static char *private_pem(const EVP_PKEY *k, bool pkcs8)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *copy;
    long n;

    if (pkcs8) {
        cr_assert_eq(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    } else {
        OSSL_ENCODER_CTX *ctx =
            OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, "PEM", "type-specific", NULL);
        cr_assert_not_null(ctx);
        cr_assert_eq(OSSL_ENCODER_to_bio(ctx, bio), 1);
        OSSL_ENCODER_CTX_free(ctx);
    }
    n = BIO_get_mem_data(bio, &data);
    copy = strndup(data, (size_t)n);
    BIO_free(bio);
    return copy;
}

/* ---- minting tokens by hand ---------------------------------------------------------------- */

enum how { SIG_NONE, SIG_RS256, SIG_ES256, SIG_HS256 };

/* header.payload.signature with the given header and payload texts, signed as `how` says: with
 * key (RS256/ES256, any size or curve: ES raw r||s is sized from the key) or with the HMAC
 * secret (HS256). */
static char *mint_text(const char *header, const char *payload, enum how how, EVP_PKEY *key,
                       const void *secret, size_t secret_len)
{
    char *h = b64url(header, strlen(header));
    char *p = b64url(payload, strlen(payload));
    size_t input_len = strlen(h) + 1 + strlen(p);
    char *input = malloc(input_len + 1);
    unsigned char sig[1024], raw[200];
    size_t sig_len = sizeof sig;
    unsigned int mac_len = 0;
    char *s, *token;

    snprintf(input, input_len + 1, "%s.%s", h, p);
    switch (how) {
    case SIG_NONE:
        sig_len = 0;
        break;
    case SIG_HS256:
        cr_assert_not_null(HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)input,
                                input_len, sig, &mac_len));
        sig_len = mac_len;
        break;
    case SIG_RS256:
    case SIG_ES256: {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        cr_assert_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
        cr_assert_eq(EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, input_len),
                     1);
        EVP_MD_CTX_free(ctx);
        if (how == SIG_ES256) { /* DER SEQUENCE{r, s} -> JWS r || s */
            const unsigned char *der = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)sig_len);
            size_t size = ec_coordinate_size(key);

            cr_assert_not_null(es);
            cr_assert_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)size), (int)size);
            cr_assert_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + size, (int)size), (int)size);
            ECDSA_SIG_free(es);
            memcpy(sig, raw, 2 * size);
            sig_len = 2 * size;
        }
        break;
    }
    }
    s = b64url(sig, sig_len);
    token = malloc(input_len + strlen(s) + 2);
    sprintf(token, "%s.%s", input, s);
    free(h);
    free(p);
    free(input);
    free(s);
    return token;
}

/* Same, from JSON values (references stolen). */
static char *mint(json_t *header, json_t *claims, enum how how, EVP_PKEY *key)
{
    char *h = json_dumps(header, JSON_COMPACT), *p = json_dumps(claims, JSON_COMPACT);
    char *token = mint_text(h, p, how, key, NULL, 0);

    free(h);
    free(p);
    json_decref(header);
    json_decref(claims);
    return token;
}

static json_t *hdr(const char *alg, const char *kid)
{
    json_t *h = json_pack("{s:s}", "alg", alg);

    if (kid != NULL)
        json_object_set_new(h, "kid", json_string(kid));
    return h;
}

/* Valid claims at NOW: iss, aud, sub, exp (+5 min), nbf and iat (-30 s), jti. */
static json_t *good_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", ISS, "aud", AUD, "sub",
                     "agent-42", "exp", (json_int_t)(NOW + 300), "nbf", (json_int_t)(NOW - 30),
                     "iat", (json_int_t)(NOW - 30), "jti", "jti-1");
}

static char *good_claims_text(void)
{
    json_t *c = good_claims();
    char *text = json_dumps(c, JSON_COMPACT);

    json_decref(c);
    return text;
}

static json_t *claims_with(const char *name, json_t *value)
{
    json_t *c = good_claims();

    if (value == NULL)
        json_object_del(c, name);
    else
        json_object_set_new(c, name, value);
    return c;
}

/* ---- fixture -------------------------------------------------------------------------------- */

static EVP_PKEY *rsa_key_, *ec_key_;
static struct jwt_verifier *verifier_;

static EVP_PKEY *rsa_key(void)
{
    if (rsa_key_ == NULL)
        rsa_key_ = gen_rsa(2048);
    return rsa_key_;
}

static EVP_PKEY *ec_key(void)
{
    if (ec_key_ == NULL)
        ec_key_ = gen_ec("P-256");
    return ec_key_;
}

static struct jwt_verifier *new_verifier(const char *jwks)
{
    char err[256] = "";
    struct jwt_verifier *v = jwt_verifier_new(ISS, AUD, LEEWAY);

    cr_assert_not_null(v);
    if (jwks != NULL)
        cr_assert(jwt_verifier_set_jwks(v, jwks, err, sizeof err), "JWKS refused: %s", err);
    return v;
}

/* The verifier of most tests: ES256 key "e1" only, or "r1" (RSA) + "e1" when with_rsa. */
static struct jwt_verifier *std_verifier(bool with_rsa)
{
    char *jwks = with_rsa ? jwks_of(public_jwk(rsa_key(), "r1"), public_jwk(ec_key(), "e1"), NULL)
                          : jwks_of(public_jwk(ec_key(), "e1"), NULL);

    verifier_ = new_verifier(jwks);
    free(jwks);
    return verifier_;
}

static void setup(void)
{
    cr_assert(jwt_global_init());
}

static void teardown(void)
{
    jwt_verifier_free(verifier_);
    EVP_PKEY_free(rsa_key_);
    EVP_PKEY_free(ec_key_);
    verifier_ = NULL;
    rsa_key_ = ec_key_ = NULL;
    jwt_global_close();
}

TestSuite(jwt, .init = setup, .fini = teardown);

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* Verifies token at `now` and asserts the result; on a refusal, asserts *out was zeroed. */
static void expect_at(struct jwt_verifier *v, const char *token, time_t now,
                      enum jwt_error expected, const char *what)
{
    struct jwt_claims c;
    enum jwt_error rc;

    memset(&c, 'x', sizeof c);
    rc = jwt_verify(v, token, now, &c);
    cr_assert_eq(rc, expected, "%s: got %s, expected %s", what, jwt_error_name(rc),
                 jwt_error_name(expected));
    if (expected != JWT_OK)
        cr_assert(all_zero(&c, sizeof c), "%s: claims not cleared on refusal", what);
}

static void expect(struct jwt_verifier *v, const char *token, enum jwt_error expected,
                   const char *what)
{
    expect_at(v, token, NOW, expected, what);
}

/* Mints, verifies at NOW, frees. */
static void expect_minted(struct jwt_verifier *v, json_t *header, json_t *claims, enum how how,
                          EVP_PKEY *key, enum jwt_error expected, const char *what)
{
    char *token = mint(header, claims, how, key);

    expect(v, token, expected, what);
    free(token);
}

/* ---- errors --------------------------------------------------------------------------------- */

Test(jwt, error_names_are_distinct_and_messages_fit_rfc6750)
{
    for (int i = 0; i < JWT_ERROR__COUNT; i++) {
        const char *name = jwt_error_name((enum jwt_error)i);
        const char *msg = jwt_error_message((enum jwt_error)i);

        cr_assert_neq(strcmp(name, "?"), 0);
        for (int j = 0; j < i; j++)
            cr_assert_neq(strcmp(name, jwt_error_name((enum jwt_error)j)), 0, "%s twice", name);
        for (const char *p = name; *p; p++)
            cr_assert((*p >= 'a' && *p <= 'z') || *p == '_', "name %s", name);
        cr_assert_gt(strlen(msg), 10);
        /* error_description = *( %x20-21 / %x23-5B / %x5D-7E ) */
        for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
            cr_assert(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\',
                      "message of %s has byte 0x%02x", name, *p);
    }
    cr_assert_str_eq(jwt_error_name(JWT_ERROR__COUNT), "?");
    cr_assert_str_eq(jwt_error_message((enum jwt_error) - 1), "?");
    cr_assert_str_eq(jwt_error_name(JWT_ERR_UNKNOWN_KID), "unknown_kid");
}

Test(jwt, verifier_new_refuses_bad_arguments)
{
    char long_iss[JWT_CLAIM_MAX + 2];

    memset(long_iss, 'i', sizeof long_iss - 1);
    long_iss[sizeof long_iss - 1] = '\0';
    cr_assert_null(jwt_verifier_new(NULL, AUD, 60));
    cr_assert_null(jwt_verifier_new(ISS, "", 60));
    cr_assert_null(jwt_verifier_new(long_iss, AUD, 60));
    cr_assert_null(jwt_verifier_new(ISS, AUD, JWT_LEEWAY_MAX + 1));
    jwt_verifier_free(jwt_verifier_new(ISS, AUD, JWT_LEEWAY_MAX));
    jwt_verifier_free(NULL);
}

/* ---- accepted tokens ------------------------------------------------------------------------ */

Test(jwt, accepts_rs256_and_es256_with_kid)
{
    struct jwt_verifier *v = std_verifier(true);
    struct jwt_claims c;
    char *rs = mint(hdr("RS256", "r1"), good_claims(), SIG_RS256, rsa_key());
    char *es = mint(hdr("ES256", "e1"), good_claims(), SIG_ES256, ec_key());

    cr_assert_eq(jwt_verify(v, rs, NOW, &c), JWT_OK);
    cr_assert_str_eq(c.iss, ISS);
    cr_assert_str_eq(c.sub, "agent-42");
    cr_assert_str_eq(c.kid, "r1");
    cr_assert_str_eq(c.alg, "RS256");
    cr_assert_str_eq(c.jti, "jti-1");
    cr_assert_eq(c.exp, NOW + 300);
    cr_assert(c.has_nbf && c.nbf == NOW - 30);
    cr_assert(c.has_iat && c.iat == NOW - 30);
    cr_assert_str_eq(c.client_id, "");
    cr_assert_str_eq(c.role, "");

    cr_assert_eq(jwt_verify(v, es, NOW, &c), JWT_OK);
    cr_assert_str_eq(c.kid, "e1");
    cr_assert_str_eq(c.alg, "ES256");
    free(rs);
    free(es);
}

Test(jwt, accepts_a_token_without_kid_when_the_set_has_one_key)
{
    char *jwks_rsa = jwks_of(public_jwk(rsa_key(), "r1"), NULL);
    char *jwks_ec = jwks_of(public_jwk(ec_key(), NULL), NULL); /* a key without kid too */
    struct jwt_verifier *vr = new_verifier(jwks_rsa), *ve = new_verifier(jwks_ec);
    struct jwt_claims c;
    char *rs = mint(hdr("RS256", NULL), good_claims(), SIG_RS256, rsa_key());
    char *es = mint(hdr("ES256", NULL), good_claims(), SIG_ES256, ec_key());

    cr_assert_eq(jwt_verify(vr, rs, NOW, &c), JWT_OK);
    cr_assert_str_eq(c.kid, "");
    cr_assert_eq(jwt_verify(ve, es, NOW, &c), JWT_OK);
    /* ...but a kid the set does not have is unknown, even with one key. */
    expect_minted(ve, hdr("ES256", "other"), good_claims(), SIG_ES256, ec_key(),
                  JWT_ERR_UNKNOWN_KID, "kid absent from a single-key set");
    free(rs);
    free(es);
    free(jwks_rsa);
    free(jwks_ec);
    jwt_verifier_free(vr);
    jwt_verifier_free(ve);
}

Test(jwt, returns_private_claims_and_accepts_aud_arrays_and_fractional_dates)
{
    struct jwt_verifier *v = std_verifier(false);
    json_t *claims = good_claims();
    struct jwt_claims c;
    char *token;

    json_object_set_new(claims, "aud", json_pack("[s, s]", "autre-service", AUD));
    json_object_set_new(claims, "client_id", json_string("aides-territoires"));
    json_object_set_new(claims, "role", json_string("financeur"));
    json_object_set_new(claims, "exp", json_real((double)(NOW + 100) + 0.75));
    json_object_del(claims, "nbf");
    json_object_del(claims, "iat");
    json_object_del(claims, "jti");
    token = mint(hdr("ES256", "e1"), claims, SIG_ES256, ec_key());
    cr_assert_eq(jwt_verify(v, token, NOW, &c), JWT_OK);
    cr_assert_str_eq(c.client_id, "aides-territoires");
    cr_assert_str_eq(c.role, "financeur");
    cr_assert_eq(c.exp, NOW + 100);
    cr_assert(!c.has_nbf && c.nbf == 0);
    cr_assert(!c.has_iat && c.iat == 0);
    cr_assert_str_eq(c.jti, "");
    free(token);
}

/* ---- size and structure --------------------------------------------------------------------- */

/* A valid ES256 token of exactly `size` bytes, padded with a private claim. The header varies
 * too: base64url never produces a length of 1 mod 4, so one header cannot reach every size. */
static char *token_of_size(size_t size)
{
    for (int variant = 0; variant < 3; variant++) {
        for (size_t pad = 5000; pad < 7000; pad++) {
            json_t *h = hdr("ES256", "e1");
            json_t *claims = good_claims();
            char *filler = malloc(pad + 1), *token;

            if (variant > 0)
                json_object_set_new(h, "typ", json_string(variant == 1 ? "J" : "JW"));
            memset(filler, 'p', pad);
            filler[pad] = '\0';
            json_object_set_new(claims, "pad", json_string(filler));
            free(filler);
            token = mint(h, claims, SIG_ES256, ec_key());
            if (strlen(token) == size)
                return token;
            free(token);
        }
    }
    cr_assert_fail("no token of %zu bytes", size);
    return NULL;
}

Test(jwt, size_limit_is_8192_bytes_checked_before_parsing)
{
    struct jwt_verifier *v = std_verifier(false);
    char *at_limit = token_of_size(JWT_MAX_TOKEN_BYTES);
    char *over = token_of_size(JWT_MAX_TOKEN_BYTES + 1);
    char *unterminated = malloc(JWT_MAX_TOKEN_BYTES + 1);

    expect(v, at_limit, JWT_OK, "valid token of 8192 bytes");
    expect(v, over, JWT_ERR_TOO_LARGE, "valid token of 8193 bytes");
    /* 8193 bytes and no NUL: under ASan, reading one byte more would be reported. */
    memset(unterminated, '.', JWT_MAX_TOKEN_BYTES + 1);
    expect(v, unterminated, JWT_ERR_TOO_LARGE, "8193 bytes without terminator");
    free(at_limit);
    free(over);
    free(unterminated);
}

Test(jwt, refuses_malformed_tokens)
{
    struct jwt_verifier *v = std_verifier(false);
    char *good = mint(hdr("ES256", "e1"), good_claims(), SIG_ES256, ec_key());
    char *dot1 = strchr(good, '.'), *dot2 = strchr(dot1 + 1, '.');
    char *h = strndup(good, (size_t)(dot1 - good));
    char *p = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    const char *s = dot2 + 1;
    char buf[4096];
    char *jwe_header = b64url("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}", 35);
    static const struct {
        const char *header, *payload;
        const char *what;
    } bad_json[] = {
        {"{\"alg\":\"ES256\",\"kid\":\"e1\"", NULL, "header is truncated JSON"},
        {"[\"ES256\"]", NULL, "header is an array"},
        {"{\"alg\":\"HS256\",\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, "duplicate alg"},
        {"{\"alg\":\"ES256\",\"kid\":\"e1\",\"crit\":[\"exp\"]}", NULL, "crit header"},
        {"{\"alg\":\"ES256\",\"kid\":\"e1\",\"zip\":\"DEF\"}", NULL, "zip header"},
        {"{\"alg\":\"ES256\",\"kid\":\"e1\",\"b64\":false}", NULL, "b64 header"},
        {"{\"alg\":\"ES256\",\"kid\":42}", NULL, "kid not a string"},
        {"{\"alg\":\"ES256\",\"kid\":\"\"}", NULL, "empty kid"},
        {NULL, "{\"sub\":\"a\"", "payload is truncated JSON"},
        {NULL, "\"a string\"", "payload is a string"},
        {NULL, "{\"sub\":\"a\",\"sub\":\"b\"}", "duplicate claim"},
    };

    expect(v, NULL, JWT_ERR_MALFORMED, "NULL");
    expect(v, "", JWT_ERR_MALFORMED, "empty string");
    expect(v, "garbage", JWT_ERR_MALFORMED, "garbage");
    expect(v, "Bearer abc.def.ghi", JWT_ERR_MALFORMED, "space");
    expect(v, "..", JWT_ERR_MALFORMED, "three empty parts");
    snprintf(buf, sizeof buf, "%s.%s", h, p);
    expect(v, buf, JWT_ERR_MALFORMED, "2 segments");
    snprintf(buf, sizeof buf, "%s.%s.%s.%s", h, p, s, s);
    expect(v, buf, JWT_ERR_MALFORMED, "4 segments");
    snprintf(buf, sizeof buf, "%s.%s.AAAA.%s.BBBB", jwe_header, p, p);
    expect(v, buf, JWT_ERR_MALFORMED, "JWE-like 5 parts");
    snprintf(buf, sizeof buf, "%s=.%s.%s", h, p, s);
    expect(v, buf, JWT_ERR_MALFORMED, "base64 padding");
    snprintf(buf, sizeof buf, "%s.%s.%s ", h, p, s);
    expect(v, buf, JWT_ERR_MALFORMED, "trailing space");
    snprintf(buf, sizeof buf, "%s.%s\n.%s", h, p, s);
    expect(v, buf, JWT_ERR_MALFORMED, "newline inside");
    snprintf(buf, sizeof buf, "%s+.%s.%s", h, p, s);
    expect(v, buf, JWT_ERR_MALFORMED, "base64 (not url) character");
    snprintf(buf, sizeof buf, ".%s.%s", p, s);
    expect(v, buf, JWT_ERR_MALFORMED, "empty header");
    snprintf(buf, sizeof buf, "%s..%s", h, s);
    expect(v, buf, JWT_ERR_MALFORMED, "empty payload");
    snprintf(buf, sizeof buf, "%sA.%s.%s", h, p, s);
    expect(v, buf, JWT_ERR_MALFORMED, "impossible base64 length");
    { /* Same bytes, other text: a padding bit set in the payload's last character. rhonabwy
       * alone accepts this (it verifies the signature over its own re-encoding of the decoded
       * payload), so the token string would not be bound by the signature. */
        char *alt = NULL, *last;
        int value;

        for (int extra = 0; alt == NULL; extra++) { /* a payload whose encoding has pad bits */
            json_t *claims = claims_with("x", json_stringn("xxx", (size_t)extra));
            char *t = mint(hdr("ES256", "e1"), claims, SIG_ES256, ec_key());
            char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');

            if ((d2 - d1 - 1) % 4 != 0) {
                expect(v, t, JWT_OK, "canonical encoding");
                alt = t;
                last = d2 - 1;
            } else {
                free(t);
            }
        }
        value = (int)(strchr(base64url_alphabet, *last) - base64url_alphabet);
        *last = base64url_alphabet[value ^ 1];
        expect(v, alt, JWT_ERR_MALFORMED, "non-canonical base64url");
        free(alt);
    }
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        char *claims = good_claims_text();
        char *token = mint_text(
            bad_json[i].header ? bad_json[i].header : "{\"alg\":\"ES256\",\"kid\":\"e1\"}",
            bad_json[i].payload ? bad_json[i].payload : claims, SIG_ES256, ec_key(), NULL, 0);

        expect(v, token, JWT_ERR_MALFORMED, bad_json[i].what);
        free(token);
        free(claims);
    }
    free(jwe_header);
    free(good);
    free(h);
    free(p);
}

/* ---- algorithms ----------------------------------------------------------------------------- */

Test(jwt, refuses_every_algorithm_but_rs256_and_es256_before_any_key_use)
{
    struct jwt_verifier *v = std_verifier(true);
    char *pem = public_pem(rsa_key());
    json_t *jwk = public_jwk(rsa_key(), "r1");
    char *jwk_text = json_dumps(jwk, JSON_COMPACT);
    char *jwks_text = jwks_of(json_incref(jwk), NULL);
    char *claims = good_claims_text();
    static const char *const other_algs[] = {"HS384",  "HS512", "RS384", "RS512", "PS256",
                                             "ES384",  "ES512", "EdDSA", "rs256", "es256",
                                             "RS256 ", "",      "NONE",  "None"};
    struct {
        const char *secret;
        const char *what;
    } hmac_secrets[] = {
        {pem, "HS256 keyed with the RSA public key PEM"},
        {jwk_text, "HS256 keyed with the RSA public JWK"},
        {jwks_text, "HS256 keyed with the JWKS"},
    };

    for (int i = 0; i < 2; i++) {
        char *token = mint_text(i == 0 ? "{\"alg\":\"none\"}" : "{\"alg\":\"none\",\"kid\":\"r1\"}",
                                claims, SIG_NONE, NULL, NULL, 0);

        expect(v, token, JWT_ERR_ALG, "alg none");
        free(token);
    }
    for (size_t i = 0; i < sizeof hmac_secrets / sizeof hmac_secrets[0]; i++) {
        for (int with_kid = 0; with_kid < 2; with_kid++) {
            char *token = mint_text(
                with_kid ? "{\"alg\":\"HS256\",\"kid\":\"r1\"}" : "{\"alg\":\"HS256\"}", claims,
                SIG_HS256, NULL, hmac_secrets[i].secret, strlen(hmac_secrets[i].secret));

            expect(v, token, JWT_ERR_ALG, hmac_secrets[i].what);
            free(token);
        }
    }
    for (size_t i = 0; i < sizeof other_algs / sizeof other_algs[0]; i++) {
        char header[64];
        char *token;

        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"e1\"}", other_algs[i]);
        token = mint_text(header, claims, SIG_ES256, ec_key(), NULL, 0);
        expect(v, token, JWT_ERR_ALG, other_algs[i]);
        free(token);
    }
    {
        char *no_alg = mint_text("{\"kid\":\"e1\"}", claims, SIG_ES256, ec_key(), NULL, 0);
        char *alg_num =
            mint_text("{\"alg\":256,\"kid\":\"e1\"}", claims, SIG_ES256, ec_key(), NULL, 0);

        expect(v, no_alg, JWT_ERR_ALG, "no alg");
        expect(v, alg_num, JWT_ERR_ALG, "alg not a string");
        free(no_alg);
        free(alg_num);
    }
    json_decref(jwk);
    free(jwk_text);
    free(jwks_text);
    free(pem);
    free(claims);
}

/* ---- keys ------------------------------------------------------------------------------------ */

Test(jwt, refuses_a_key_that_does_not_match_the_algorithm)
{
    EVP_PKEY *rsa1024 = gen_rsa(1024), *p384 = gen_ec("P-384");
    json_t *rsa_alg = public_jwk(rsa_key(), "r-ps");
    char *jwks;
    struct jwt_verifier *v;

    json_object_set_new(rsa_alg, "alg", json_string("PS256"));
    jwks = jwks_of(public_jwk(rsa_key(), "r1"), public_jwk(ec_key(), "e1"),
                   public_jwk(rsa1024, "r-small"), public_jwk(p384, "e-384"), rsa_alg, NULL);
    v = new_verifier(jwks);
    cr_assert_eq(jwt_verifier_key_count(v), 5);
    expect_minted(v, hdr("RS256", "e1"), good_claims(), SIG_RS256, rsa_key(), JWT_ERR_KEY_MISMATCH,
                  "RS256 header, kid of the EC key");
    expect_minted(v, hdr("ES256", "r1"), good_claims(), SIG_ES256, ec_key(), JWT_ERR_KEY_MISMATCH,
                  "ES256 header, kid of the RSA key");
    expect_minted(v, hdr("RS256", "r-small"), good_claims(), SIG_RS256, rsa1024,
                  JWT_ERR_KEY_MISMATCH, "RSA key of 1024 bits");
    expect_minted(v, hdr("ES256", "e-384"), good_claims(), SIG_ES256, p384, JWT_ERR_KEY_MISMATCH,
                  "EC key on P-384");
    expect_minted(v, hdr("RS256", "r-ps"), good_claims(), SIG_RS256, rsa_key(),
                  JWT_ERR_KEY_MISMATCH, "JWK alg PS256");
    free(jwks);
    jwt_verifier_free(v);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(p384);
}

Test(jwt, refuses_unknown_kid_and_kidless_tokens_when_several_keys)
{
    struct jwt_verifier *v = std_verifier(true);
    EVP_PKEY *attacker = gen_ec("P-256");
    json_t *h = hdr("ES256", NULL);

    expect_minted(v, hdr("ES256", "e9"), good_claims(), SIG_ES256, ec_key(), JWT_ERR_UNKNOWN_KID,
                  "unknown kid");
    expect_minted(v, hdr("ES256", NULL), good_claims(), SIG_ES256, ec_key(), JWT_ERR_UNKNOWN_KID,
                  "no kid, two keys");
    /* A key embedded in the header (jwk, jku, x5u) is never used nor fetched. */
    json_object_set_new(h, "jwk", public_jwk(attacker, "evil"));
    expect_minted(v, h, good_claims(), SIG_ES256, attacker, JWT_ERR_UNKNOWN_KID,
                  "embedded jwk without kid");
    h = hdr("ES256", "e1");
    json_object_set_new(h, "jwk", public_jwk(attacker, "e1"));
    json_object_set_new(h, "jku", json_string("http://127.0.0.1:9/jwks.json"));
    json_object_set_new(h, "x5u", json_string("http://127.0.0.1:9/cert.pem"));
    expect_minted(v, h, good_claims(), SIG_ES256, attacker, JWT_ERR_SIGNATURE,
                  "embedded jwk, jku and x5u with our kid");
    EVP_PKEY_free(attacker);
}

/* ---- signatures ----------------------------------------------------------------------------- */

/* The token with its payload replaced by claims (signature kept). */
static char *swap_payload(const char *token, json_t *claims)
{
    const char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
    char *text = json_dumps(claims, JSON_COMPACT), *p = b64url(text, strlen(text));
    size_t n = (size_t)(dot1 - token) + strlen(p) + strlen(dot2) + 2;
    char *out = malloc(n);

    snprintf(out, n, "%.*s.%s%s", (int)(dot1 - token), token, p, dot2);
    free(text);
    free(p);
    json_decref(claims);
    return out;
}

Test(jwt, refuses_bad_signatures)
{
    struct jwt_verifier *v = std_verifier(true);
    EVP_PKEY *other_rsa = gen_rsa(2048), *other_ec = gen_ec("P-256");
    char *rs = mint(hdr("RS256", "r1"), good_claims(), SIG_RS256, rsa_key());
    char *es = mint(hdr("ES256", "e1"), good_claims(), SIG_ES256, ec_key());
    char *tampered_rs = swap_payload(rs, claims_with("sub", json_string("admin")));
    char *tampered_es = swap_payload(es, claims_with("sub", json_string("admin")));
    char *truncated = strndup(es, strlen(es) - 4);
    char *flipped = strdup(rs);
    char *unsigned_rs = strndup(rs, (size_t)(strrchr(rs, '.') - rs + 1));
    char *der_sig;

    expect(v, rs, JWT_OK, "untouched RS256");
    expect(v, es, JWT_OK, "untouched ES256");
    expect(v, tampered_rs, JWT_ERR_SIGNATURE, "RS256 payload tampered");
    expect(v, tampered_es, JWT_ERR_SIGNATURE, "ES256 payload tampered");
    expect(v, truncated, JWT_ERR_SIGNATURE, "ES256 signature truncated");
    flipped[strlen(flipped) - 10] = flipped[strlen(flipped) - 10] == 'A' ? 'B' : 'A';
    expect(v, flipped, JWT_ERR_SIGNATURE, "RS256 signature altered");
    expect(v, unsigned_rs, JWT_ERR_SIGNATURE, "RS256 with an empty signature");
    expect_minted(v, hdr("RS256", "r1"), good_claims(), SIG_RS256, other_rsa, JWT_ERR_SIGNATURE,
                  "RS256 signed by another key under our kid");
    expect_minted(v, hdr("ES256", "e1"), good_claims(), SIG_ES256, other_ec, JWT_ERR_SIGNATURE,
                  "ES256 signed by another key under our kid");
    { /* ES256 with a DER-encoded signature instead of r || s */
        json_t *header = hdr("ES256", "e1");
        char *h = json_dumps(header, JSON_COMPACT);
        char *text = good_claims_text();
        char *hb = b64url(h, strlen(h)), *pb = b64url(text, strlen(text));
        char input[2048];
        unsigned char sig[128];
        size_t sig_len = sizeof sig;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        char *sb;

        snprintf(input, sizeof input, "%s.%s", hb, pb);
        cr_assert_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec_key()), 1);
        cr_assert_eq(EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)input, strlen(input)), 1);
        EVP_MD_CTX_free(ctx);
        sb = b64url(sig, sig_len);
        der_sig = malloc(strlen(input) + strlen(sb) + 2);
        sprintf(der_sig, "%s.%s", input, sb);
        expect(v, der_sig, JWT_ERR_SIGNATURE, "ES256 with a DER signature");
        json_decref(header);
        free(h);
        free(text);
        free(hb);
        free(pb);
        free(sb);
        free(der_sig);
    }
    EVP_PKEY_free(other_rsa);
    EVP_PKEY_free(other_ec);
    free(rs);
    free(es);
    free(tampered_rs);
    free(tampered_es);
    free(truncated);
    free(flipped);
    free(unsigned_rs);
}

/* ---- claims --------------------------------------------------------------------------------- */

Test(jwt, refuses_wrong_issuer_and_audience)
{
    struct jwt_verifier *v = std_verifier(false);
    struct {
        const char *name;
        json_t *value;
        enum jwt_error expected;
        const char *what;
    } cases[] = {
        {"iss", json_string("https://evil.test"), JWT_ERR_ISSUER, "other issuer"},
        {"iss", json_string(ISS "/"), JWT_ERR_ISSUER, "issuer with a trailing slash"},
        {"iss", NULL, JWT_ERR_ISSUER, "no issuer"},
        {"iss", json_pack("[s]", ISS), JWT_ERR_ISSUER, "issuer in an array"},
        {"aud", json_string("autre-service"), JWT_ERR_AUDIENCE, "aud string, not ours"},
        {"aud", json_pack("[s, s]", "a", "b"), JWT_ERR_AUDIENCE, "aud array without ours"},
        {"aud", json_pack("[]"), JWT_ERR_AUDIENCE, "empty aud array"},
        {"aud", NULL, JWT_ERR_AUDIENCE, "no aud"},
        {"aud", json_string(AUD "x"), JWT_ERR_AUDIENCE, "aud with our name as prefix"},
        {"aud", json_pack("[i, s]", 1, AUD), JWT_OK, "aud array with ours and a number"},
        {"aud", json_string(AUD), JWT_OK, "aud string, ours"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_minted(v, hdr("ES256", "e1"), claims_with(cases[i].name, cases[i].value), SIG_ES256,
                      ec_key(), cases[i].expected, cases[i].what);
}

Test(jwt, applies_the_leeway_to_exp_and_nbf)
{
    struct jwt_verifier *v = std_verifier(false);
    struct {
        const char *name;
        time_t value;
        enum jwt_error expected;
        const char *what;
    } cases[] = {
        {"exp", NOW - 61, JWT_ERR_EXPIRED, "expired 61 s ago"},
        {"exp", NOW - 60, JWT_ERR_EXPIRED, "expired 60 s ago (exp + leeway == now)"},
        {"exp", NOW - 59, JWT_OK, "expired 59 s ago"},
        {"exp", NOW, JWT_OK, "expiring now"},
        {"nbf", NOW + 61, JWT_ERR_NOT_YET_VALID, "valid in 61 s"},
        {"nbf", NOW + 60, JWT_OK, "valid in 60 s"},
        {"nbf", NOW + 59, JWT_OK, "valid in 59 s"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_minted(v, hdr("ES256", "e1"),
                      claims_with(cases[i].name, json_integer((json_int_t)cases[i].value)),
                      SIG_ES256, ec_key(), cases[i].expected, cases[i].what);
    /* A huge exp must not overflow into the past. */
    expect_minted(v, hdr("ES256", "e1"), claims_with("exp", json_integer(INT64_MAX)), SIG_ES256,
                  ec_key(), JWT_OK, "exp at INT64_MAX");
    expect_minted(v, hdr("ES256", "e1"), claims_with("nbf", json_integer(INT64_MIN)), SIG_ES256,
                  ec_key(), JWT_OK, "nbf at INT64_MIN");
}

Test(jwt, refuses_missing_or_invalid_exp_and_sub_and_mistyped_claims)
{
    struct jwt_verifier *v = std_verifier(false);
    char long_text[JWT_CLAIM_MAX + 2];
    struct {
        const char *name;
        json_t *value;
        enum jwt_error expected;
        const char *what;
    } cases[] = {
        {"exp", NULL, JWT_ERR_NO_EXP, "no exp"},
        {"exp", json_string("1790000300"), JWT_ERR_NO_EXP, "exp as a string"},
        {"exp", json_null(), JWT_ERR_NO_EXP, "exp null"},
        {"exp", json_real(1e300), JWT_ERR_NO_EXP, "exp out of range"},
        {"sub", NULL, JWT_ERR_NO_SUB, "no sub"},
        {"sub", json_string(""), JWT_ERR_NO_SUB, "empty sub"},
        {"sub", json_integer(42), JWT_ERR_NO_SUB, "sub a number"},
        {"sub", NULL /* long, set below */, JWT_ERR_CLAIMS, "sub over 255 bytes"},
        {"nbf", json_string("now"), JWT_ERR_CLAIMS, "nbf a string"},
        {"iat", json_true(), JWT_ERR_CLAIMS, "iat a boolean"},
        {"jti", json_integer(1), JWT_ERR_CLAIMS, "jti a number"},
        {"role", json_pack("[s]", "anct_national"), JWT_ERR_CLAIMS, "role an array"},
        {"client_id", json_integer(7), JWT_ERR_CLAIMS, "client_id a number"},
    };

    memset(long_text, 's', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    cases[7].value = json_string(long_text);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_minted(v, hdr("ES256", "e1"), claims_with(cases[i].name, cases[i].value), SIG_ES256,
                      ec_key(), cases[i].expected, cases[i].what);
    long_text[JWT_CLAIM_MAX] = '\0'; /* exactly 255 bytes: accepted */
    expect_minted(v, hdr("ES256", "e1"), claims_with("sub", json_string(long_text)), SIG_ES256,
                  ec_key(), JWT_OK, "sub of 255 bytes");
}

Test(jwt, checks_the_signature_before_the_claims)
{
    struct jwt_verifier *v = std_verifier(false);
    EVP_PKEY *other = gen_ec("P-256");

    expect_minted(v, hdr("ES256", "e1"), claims_with("exp", json_integer(NOW - 3600)), SIG_ES256,
                  other, JWT_ERR_SIGNATURE, "expired and forged");
    EVP_PKEY_free(other);
}

/* ---- key sets ------------------------------------------------------------------------------ */

Test(jwt, set_jwks_refuses_bad_sets_and_keeps_the_current_one)
{
    struct jwt_verifier *v = std_verifier(false);
    EVP_PKEY *rsa1024 = gen_rsa(1024), *p384 = gen_ec("P-384");
    json_t *with_d = public_jwk(ec_key(), "e2");
    json_t *enc_only = public_jwk(ec_key(), "e3");
    char err[256];
    char *bad[8];
    char *token = mint(hdr("ES256", "e1"), good_claims(), SIG_ES256, ec_key());

    json_object_set_new(with_d, "d", json_string("AAAA"));
    json_object_set_new(enc_only, "use", json_string("enc"));
    bad[0] = strdup("not json");
    bad[1] = strdup("{\"keys\":{}}");
    bad[2] = strdup("{\"keys\":[]}");
    bad[3] = jwks_of(public_jwk(rsa1024, "r-small"), public_jwk(p384, "e-384"), NULL);
    bad[4] = jwks_of(public_jwk(ec_key(), "e1"), with_d, NULL);
    bad[5] = jwks_of(enc_only, NULL);
    bad[6] = jwks_of(json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", "c2VjcmV0", "kid", "h"),
                     public_jwk(ec_key(), "e1"), NULL);
    bad[7] =
        strdup("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_assert_not(jwt_verifier_set_jwks(v, bad[i], err, sizeof err), "set %zu accepted", i);
        cr_assert_gt(strlen(err), 5, "set %zu: no reason given", i);
        cr_assert_null(strstr(err, "AAAA"), "set %zu: key material in the error", i);
        expect(v, token, JWT_OK, "current set kept");
        free(bad[i]);
    }
    cr_assert_not(jwt_verifier_set_jwks(v, NULL, NULL, 0));
    cr_assert_eq(jwt_verifier_key_count(v), 1);
    free(token);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(p384);
}

Test(jwt, set_jwks_keeps_public_signature_keys_only_and_replaces_the_set)
{
    struct jwt_verifier *v = std_verifier(false);
    EVP_PKEY *ec2 = gen_ec("P-256");
    json_t *enc = public_jwk(ec2, "enc-key");
    json_t *with_x5u = public_jwk(ec2, "e2");
    json_t *ops = public_jwk(ec2, "e-ops");
    char *jwks;
    char err[256];

    json_object_set_new(enc, "use", json_string("enc"));
    json_object_set_new(with_x5u, "x5u", json_string("http://127.0.0.1:9/never-fetched.pem"));
    json_object_set_new(with_x5u, "use", json_string("sig"));
    json_object_set_new(with_x5u, "alg", json_string("ES256"));
    json_object_set_new(ops, "key_ops", json_pack("[s]", "encrypt"));
    jwks = jwks_of(enc, with_x5u, ops,
                   json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                             "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
                   NULL);
    cr_assert(jwt_verifier_set_jwks(v, jwks, err, sizeof err), "%s", err);
    cr_assert_eq(jwt_verifier_key_count(v), 1, "only e2 is a signature key");
    expect_minted(v, hdr("ES256", "e2"), good_claims(), SIG_ES256, ec2, JWT_OK, "x5u ignored");
    expect_minted(v, hdr("ES256", "enc-key"), good_claims(), SIG_ES256, ec2, JWT_ERR_UNKNOWN_KID,
                  "use enc");
    expect_minted(v, hdr("ES256", "e-ops"), good_claims(), SIG_ES256, ec2, JWT_ERR_UNKNOWN_KID,
                  "key_ops without verify");
    expect_minted(v, hdr("ES256", "e1"), good_claims(), SIG_ES256, ec_key(), JWT_ERR_UNKNOWN_KID,
                  "key of the replaced set");
    free(jwks);
    EVP_PKEY_free(ec2);
}

/* ---- concurrency ---------------------------------------------------------------------------- */

#define WORKERS             4
#define VERIFIES_PER_WORKER 2000

struct race {
    struct jwt_verifier *v;
    const char *tokens[2];
    const char *sets[2];
    time_t now;
    int iterations;
    atomic_bool stop;
    atomic_uint failures;
    atomic_uint swaps;
};

static void *race_verify(void *arg)
{
    struct race *r = arg;
    struct jwt_claims c;

    for (int i = 0; i < r->iterations; i++)
        if (jwt_verify(r->v, r->tokens[i % 2], r->now, &c) != JWT_OK || strcmp(c.sub, "agent-42"))
            atomic_fetch_add(&r->failures, 1);
    return NULL;
}

static void *race_swap(void *arg)
{
    struct race *r = arg;

    const struct timespec pause = {0, 100 * 1000}; /* leaves the verifiers most of the CPU */

    for (unsigned i = 0; !atomic_load(&r->stop); i++) {
        if (!jwt_verifier_set_jwks(r->v, r->sets[i % 2], NULL, 0))
            atomic_fetch_add(&r->failures, 1);
        atomic_fetch_add(&r->swaps, 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

Test(jwt, concurrent_verification_while_the_key_set_is_replaced)
{
    EVP_PKEY *extra = gen_ec("P-256");
    char *set_a = jwks_of(public_jwk(rsa_key(), "r1"), public_jwk(ec_key(), "e1"), NULL);
    char *set_b = jwks_of(public_jwk(extra, "e2"), public_jwk(ec_key(), "e1"),
                          public_jwk(rsa_key(), "r1"), NULL);
    char *rs = mint(hdr("RS256", "r1"), good_claims(), SIG_RS256, rsa_key());
    char *es = mint(hdr("ES256", "e1"), good_claims(), SIG_ES256, ec_key());
    struct race r = {.v = new_verifier(set_a),
                     .tokens = {rs, es},
                     .sets = {set_a, set_b},
                     .now = NOW,
                     .iterations = VERIFIES_PER_WORKER};
    pthread_t workers[WORKERS], swapper;

    atomic_init(&r.stop, false);
    atomic_init(&r.failures, 0);
    atomic_init(&r.swaps, 0);
    cr_assert_eq(pthread_create(&swapper, NULL, race_swap, &r), 0);
    for (int i = 0; i < WORKERS; i++)
        cr_assert_eq(pthread_create(&workers[i], NULL, race_verify, &r), 0);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(workers[i], NULL);
    atomic_store(&r.stop, true);
    pthread_join(swapper, NULL);
    cr_assert_eq(atomic_load(&r.failures), 0, "%u failures", atomic_load(&r.failures));
    cr_assert_gt(atomic_load(&r.swaps), 10, "only %u set replacements", atomic_load(&r.swaps));
    cr_log_info("%d verifications during %u set replacements", WORKERS * VERIFIES_PER_WORKER,
                atomic_load(&r.swaps));
    jwt_verifier_free(r.v);
    EVP_PKEY_free(extra);
    free(set_a);
    free(set_b);
    free(rs);
    free(es);
}

/* ---- JWKS from a URL ------------------------------------------------------------------------ */

struct jwks_server {
    struct _u_instance instance;
    pthread_mutex_t lock;
    char *body;
    int status;
    unsigned hits;
    unsigned port;
};

static int serve_jwks(const struct _u_request *req, struct _u_response *res, void *user)
{
    struct jwks_server *s = user;

    (void)req;
    pthread_mutex_lock(&s->lock);
    s->hits++;
    ulfius_set_string_body_response(res, (unsigned)s->status, s->body ? s->body : "");
    pthread_mutex_unlock(&s->lock);
    return U_CALLBACK_COMPLETE;
}

/* Starts a server on a listening socket bound to 127.0.0.1 and a port chosen by the kernel. */
static void server_start(struct jwks_server *s)
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    cr_assert_eq(listen(fd, 16), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    s->port = ntohs(addr.sin_port);
    pthread_mutex_init(&s->lock, NULL);
    s->status = 200;
    cr_assert_eq(ulfius_init_instance(&s->instance, s->port, NULL, NULL), U_OK);
    ulfius_add_endpoint_by_val(&s->instance, "GET", "/jwks.json", NULL, 0, serve_jwks, s);
    {
        struct MHD_OptionItem ops[] = {
            {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)mhd_request_completed, NULL},
            {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)ulfius_uri_logger, NULL},
            {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
            {MHD_OPTION_END, 0, NULL},
        };

        cr_assert_eq(ulfius_start_framework_with_mhd_options(&s->instance,
                                                             MHD_USE_THREAD_PER_CONNECTION |
                                                                 MHD_USE_INTERNAL_POLLING_THREAD |
                                                                 MHD_USE_ERROR_LOG,
                                                             ops),
                     U_OK);
    }
}

static void server_serve(struct jwks_server *s, int status, char *body)
{
    pthread_mutex_lock(&s->lock);
    free(s->body);
    s->body = body;
    s->status = status;
    pthread_mutex_unlock(&s->lock);
}

static unsigned server_hits(struct jwks_server *s)
{
    unsigned n;

    pthread_mutex_lock(&s->lock);
    n = s->hits;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void server_stop(struct jwks_server *s)
{
    ulfius_stop_framework(&s->instance);
    ulfius_clean_instance(&s->instance);
    free(s->body);
    pthread_mutex_destroy(&s->lock);
}

static struct jwt_verifier *url_verifier(struct jwks_server *s)
{
    char url[64], err[256] = "";
    struct jwt_verifier *v = new_verifier(NULL);

    snprintf(url, sizeof url, "http://127.0.0.1:%u/jwks.json", s->port);
    cr_assert(jwt_verifier_set_jwks_url(v, url, err, sizeof err), "%s", err);
    return v;
}

Test(jwt, unknown_kid_refetches_the_jwks_at_most_once_a_minute)
{
    EVP_PKEY *k1 = ec_key(), *k2 = gen_ec("P-256"), *k3 = gen_ec("P-256");
    struct jwks_server s = {0};
    struct jwt_verifier *v;
    char *set1 = jwks_of(public_jwk(k1, "k1"), NULL);

    server_start(&s);
    v = url_verifier(&s);
    cr_assert(jwt_verifier_set_jwks(v, set1, NULL, 0));
    expect_minted(v, hdr("ES256", "k1"), good_claims(), SIG_ES256, k1, JWT_OK, "known kid");
    cr_assert_eq(server_hits(&s), 0, "a known kid never fetches");

    server_serve(&s, 200, jwks_of(public_jwk(k1, "k1"), public_jwk(k2, "k2"), NULL));
    expect_minted(v, hdr("ES256", "k2"), good_claims(), SIG_ES256, k2, JWT_OK, "new kid: fetched");
    cr_assert_eq(server_hits(&s), 1);

    server_serve(&s, 200,
                 jwks_of(public_jwk(k1, "k1"), public_jwk(k2, "k2"), public_jwk(k3, "k3"), NULL));
    {
        char *t3 = mint(hdr("ES256", "k3"), good_claims(), SIG_ES256, k3);

        expect_at(v, t3, NOW + 59, JWT_ERR_UNKNOWN_KID, "another new kid 59 s later: no fetch");
        cr_assert_eq(server_hits(&s), 1);
        expect_at(v, t3, NOW + 60, JWT_OK, "60 s later: fetched");
        cr_assert_eq(server_hits(&s), 2);
        free(t3);
    }
    {
        char *unknown = mint(hdr("ES256", "zz"), good_claims(), SIG_ES256, k1);
        char *kidless = mint(hdr("ES256", NULL), good_claims(), SIG_ES256, k1);

        expect_at(v, unknown, NOW + 61, JWT_ERR_UNKNOWN_KID, "unknown kid within the minute");
        expect_at(v, kidless, NOW + 200, JWT_ERR_UNKNOWN_KID, "no kid with several keys");
        cr_assert_eq(server_hits(&s), 2, "neither fetches");
        expect_at(v, unknown, NOW + 120, JWT_ERR_UNKNOWN_KID, "unknown kid a minute later");
        cr_assert_eq(server_hits(&s), 3, "that one fetches");
        expect_at(v, unknown, NOW + 119, JWT_ERR_UNKNOWN_KID,
                  "a request that read the clock "
                  "a second earlier");
        cr_assert_eq(server_hits(&s), 3, "does not fetch");
        expect_at(v, unknown, NOW + 60, JWT_ERR_UNKNOWN_KID, "clock set back by a minute");
        cr_assert_eq(server_hits(&s), 4, "fetches");
        free(unknown);
        free(kidless);
    }
    jwt_verifier_free(v);
    server_stop(&s);
    free(set1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
}

Test(jwt, fetch_at_start_failed_fetches_and_concurrent_unknown_kids)
{
    EVP_PKEY *k1 = ec_key(), *k2 = gen_ec("P-256");
    struct jwks_server s = {0};
    struct jwt_verifier *v;
    char err[256];
    char *big = malloc(JWT_JWKS_MAX_BYTES + 2);

    log_set_level(LOG_ERROR); /* the failed refreshes below log a warning each */
    server_start(&s);
    v = url_verifier(&s);
    /* Empty verifier: the first token fetches (nothing to wait for). */
    server_serve(&s, 200, jwks_of(public_jwk(k1, "k1"), NULL));
    expect_minted(v, hdr("ES256", "k1"), good_claims(), SIG_ES256, k1, JWT_OK,
                  "empty set: fetched");
    cr_assert_eq(server_hits(&s), 1);

    /* Explicit fetches (start-up) report failures and keep the current set. */
    server_serve(&s, 500, strdup("{\"error\":\"boom\"}"));
    cr_assert_not(jwt_verifier_fetch_jwks(v, NOW, err, sizeof err));
    cr_assert_not_null(strstr(err, "500"), "%s", err);
    server_serve(&s, 200, strdup("{\"keys\":[]}"));
    cr_assert_not(jwt_verifier_fetch_jwks(v, NOW, err, sizeof err));
    memset(big, ' ', JWT_JWKS_MAX_BYTES + 1);
    big[JWT_JWKS_MAX_BYTES + 1] = '\0';
    server_serve(&s, 200, big);
    cr_assert_not(jwt_verifier_fetch_jwks(v, NOW, err, sizeof err));
    cr_assert_not_null(strstr(err, "volumineux"), "%s", err);
    cr_assert_eq(jwt_verifier_key_count(v), 1);
    expect_minted(v, hdr("ES256", "k1"), good_claims(), SIG_ES256, k1, JWT_OK, "set kept");

    /* A failed refresh counts for the minute. */
    {
        char *t2 = mint(hdr("ES256", "k2"), good_claims(), SIG_ES256, k2);
        unsigned before;

        server_serve(&s, 503, strdup("down"));
        expect_at(v, t2, NOW + 100, JWT_ERR_UNKNOWN_KID, "refresh fails");
        before = server_hits(&s);
        server_serve(&s, 200, jwks_of(public_jwk(k1, "k1"), public_jwk(k2, "k2"), NULL));
        expect_at(v, t2, NOW + 130, JWT_ERR_UNKNOWN_KID, "30 s after a failed refresh");
        cr_assert_eq(server_hits(&s), before);
        free(t2);
    }
    {
        char *t3;
        EVP_PKEY *k3 = gen_ec("P-256");
        struct race r = {.v = v, .now = NOW + 200, .iterations = 3};
        pthread_t threads[WORKERS];
        unsigned before = server_hits(&s);

        /* Four threads meet a new kid at once: one fetch, all accepted. */
        server_serve(&s, 200, jwks_of(public_jwk(k1, "k1"), public_jwk(k3, "k3"), NULL));
        t3 = mint(hdr("ES256", "k3"), good_claims(), SIG_ES256, k3);
        r.tokens[0] = r.tokens[1] = t3;
        atomic_init(&r.failures, 0);
        for (int i = 0; i < WORKERS; i++)
            cr_assert_eq(pthread_create(&threads[i], NULL, race_verify, &r), 0);
        for (int i = 0; i < WORKERS; i++)
            pthread_join(threads[i], NULL);
        cr_assert_eq(atomic_load(&r.failures), 0);
        cr_assert_eq(server_hits(&s), before + 1);
        free(t3);
        EVP_PKEY_free(k3);
    }
    jwt_verifier_free(v);
    server_stop(&s);
    EVP_PKEY_free(k2);
}

Test(jwt, jwks_url_must_be_https_or_loopback_http)
{
    struct jwt_verifier *v = new_verifier(NULL);
    char err[256];
    static const char *const refused[] = {
        "http://example.org/jwks.json",
        "ftp://127.0.0.1/jwks",
        "https://",
        "https:///x",
        "http://127.0.0.1.evil.test/",
        "http://127.0.0.1@evil.test/",
        "file:///etc/passwd",
        "https://id.example/jw ks",
        "",
    };
    static const char *const accepted[] = {
        "https://auth.agentconnect.gouv.fr/api/v2/jwks",
        "http://127.0.0.1:8080/jwks",
        "http://localhost/jwks",
        "http://[::1]:9/jwks",
    };

    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        cr_assert_not(jwt_verifier_set_jwks_url(v, refused[i], err, sizeof err), "%s accepted",
                      refused[i]);
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        cr_assert(jwt_verifier_set_jwks_url(v, accepted[i], err, sizeof err), "%s: %s", accepted[i],
                  err);
    cr_assert_not(jwt_verifier_fetch_jwks(NULL, NOW, err, sizeof err));
    jwt_verifier_free(v);
    v = new_verifier(NULL);
    cr_assert_not(jwt_verifier_fetch_jwks(v, NOW, err, sizeof err), "no URL set");
    jwt_verifier_free(v);
}

/* ---- signer --------------------------------------------------------------------------------- */

/* RFC 7638 thumbprint of an EC P-256 public key, computed here from OpenSSL's point. */
static char *thumbprint(const EVP_PKEY *k)
{
    char *x = bn_param_b64url(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    char *y = bn_param_b64url(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    char canonical[256];
    unsigned char digest[SHA256_DIGEST_LENGTH];

    snprintf(canonical, sizeof canonical,
             "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    SHA256((const unsigned char *)canonical, strlen(canonical), digest);
    free(x);
    free(y);
    return b64url(digest, sizeof digest);
}

static struct jwt_signer *signer_for(const EVP_PKEY *k)
{
    char *pem = private_pem(k, true);
    char err[256] = "";
    struct jwt_signer *s = jwt_signer_new_from_pem(pem, strlen(pem), err, sizeof err);

    cr_assert_not_null(s, "%s", err);
    free(pem);
    return s;
}

/* Decodes part `index` (0: header, 1: payload) of a compact token as JSON. */
static json_t *token_part(const char *token, int index)
{
    const char *start = token, *end;
    unsigned char buf[4096];
    size_t len = 0;

    for (int i = 0; i < index; i++)
        start = strchr(start, '.') + 1;
    end = strchr(start, '.');
    cr_assert(base64url_decode(start, (size_t)(end - start), buf, sizeof buf, &len));
    cr_assert_gt(len, 0);
    return json_loadb((const char *)buf, len, 0, NULL);
}

/* Verifies the ES256 signature of token with OpenSSL and k's public key. */
static bool openssl_verifies(const char *token, EVP_PKEY *k)
{
    const char *last = strrchr(token, '.');
    unsigned char raw[64], der[80], *p = der;
    size_t raw_len = 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int der_len, ok;

    cr_assert(base64url_decode(last + 1, strlen(last + 1), raw, sizeof raw, &raw_len));
    cr_assert_eq(raw_len, 64);
    ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
    der_len = i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    cr_assert_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
    ok = EVP_DigestVerify(ctx, der, (size_t)der_len, (const unsigned char *)token,
                          (size_t)(last - token));
    EVP_MD_CTX_free(ctx);
    return ok == 1;
}

Test(jwt, signer_round_trip_through_its_public_jwks)
{
    EVP_PKEY *k = ec_key();
    struct jwt_signer *s = signer_for(k);
    const struct jwt_signer *const signers[] = {s};
    char *jwks = jwt_jwks_public_json(signers, 1);
    struct jwt_verifier *v = jwt_verifier_new("https://pvd-api.test", "pvd-api", 60);
    char *token = jwt_signer_issue(s, "https://pvd-api.test", "pvd-api", "client:42",
                                   "aides-territoires", "financeur", NOW, 3600, "jti-123");
    char *expected_kid = thumbprint(k);
    struct jwt_claims c;
    json_t *header, *claims;
    char err[256] = "";

    cr_assert_not_null(token);
    cr_assert_str_eq(jwt_signer_kid(s), expected_kid, "kid is the RFC 7638 thumbprint");
    cr_assert(jwt_verifier_set_jwks(v, jwks, err, sizeof err), "%s", err);
    cr_assert_eq(jwt_verify(v, token, NOW, &c), JWT_OK);
    cr_assert_str_eq(c.iss, "https://pvd-api.test");
    cr_assert_str_eq(c.sub, "client:42");
    cr_assert_str_eq(c.client_id, "aides-territoires");
    cr_assert_str_eq(c.role, "financeur");
    cr_assert_str_eq(c.jti, "jti-123");
    cr_assert_str_eq(c.kid, expected_kid);
    cr_assert_str_eq(c.alg, "ES256");
    cr_assert(c.has_iat && c.iat == NOW && c.has_nbf && c.nbf == NOW);
    cr_assert_eq(c.exp, NOW + 3600);
    expect_at(v, token, NOW + 3600 + 60, JWT_ERR_EXPIRED, "one hour and the leeway later");

    header = token_part(token, 0);
    claims = token_part(token, 1);
    cr_assert_str_eq(json_string_value(json_object_get(header, "alg")), "ES256");
    cr_assert_str_eq(json_string_value(json_object_get(header, "kid")), expected_kid);
    cr_assert_str_eq(json_string_value(json_object_get(header, "typ")), "at+jwt");
    cr_assert_str_eq(json_string_value(json_object_get(claims, "aud")), "pvd-api");
    cr_assert(openssl_verifies(token, k), "OpenSSL verifies the ES256 signature");
    /* r or s starts with a zero byte in 1 signature in 128: 300 of them cover that case. */
    for (int i = 0; i < 300; i++) {
        char *t = jwt_signer_issue(s, "https://pvd-api.test", "pvd-api", "client:42", NULL, NULL,
                                   NOW, 60, NULL);

        cr_assert(openssl_verifies(t, k), "signature %d", i);
        expect(v, t, JWT_OK, "issued token");
        free(t);
    }
    json_decref(header);
    json_decref(claims);
    free(token);
    free(jwks);
    free(expected_kid);
    jwt_verifier_free(v);
    jwt_signer_free(s);
}

Test(jwt, public_jwks_never_holds_private_members)
{
    EVP_PKEY *k2 = gen_ec("P-256");
    struct jwt_signer *a = signer_for(ec_key()), *b = signer_for(k2);
    const struct jwt_signer *const signers[] = {a, NULL, b};
    char *text = jwt_jwks_public_json(signers, 3);
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(root, "keys"), *key;
    size_t i;
    char *empty = jwt_jwks_public_json(NULL, 0);

    cr_assert_eq(json_array_size(keys), 2);
    json_array_foreach(keys, i, key)
    {
        const char *name;
        json_t *value;

        cr_assert_null(json_object_get(key, "d"));
        json_object_foreach(key, name, value)
        {
            static const char *const allowed[] = {"kty", "crv", "x", "y", "kid", "use", "alg"};
            bool known = false;

            for (size_t j = 0; j < sizeof allowed / sizeof allowed[0]; j++)
                known = known || strcmp(name, allowed[j]) == 0;
            cr_assert(known, "unexpected member %s", name);
            cr_assert(json_is_string(value));
        }
        cr_assert_str_eq(json_string_value(json_object_get(key, "kid")),
                         jwt_signer_kid(i == 0 ? a : b));
        cr_assert_str_eq(json_string_value(json_object_get(key, "use")), "sig");
        cr_assert_str_eq(json_string_value(json_object_get(key, "alg")), "ES256");
    }
    cr_assert_str_eq(empty, "{\"keys\":[]}");
    json_decref(root);
    free(text);
    free(empty);
    jwt_signer_free(a);
    jwt_signer_free(b);
    EVP_PKEY_free(k2);
}

Test(jwt, rotation_both_signers_verify)
{
    EVP_PKEY *old_key = gen_ec("P-256"), *outsider = gen_ec("P-256");
    struct jwt_signer *current = signer_for(ec_key()), *previous = signer_for(old_key);
    struct jwt_signer *other = signer_for(outsider);
    const struct jwt_signer *const signers[] = {current, previous};
    char *jwks = jwt_jwks_public_json(signers, 2);
    struct jwt_verifier *v = jwt_verifier_new("https://pvd-api.test", "pvd-api", 60);
    char *t_current = jwt_signer_issue(current, "https://pvd-api.test", "pvd-api", "c1", "c1",
                                       "financeur", NOW, 3600, NULL);
    char *t_previous = jwt_signer_issue(previous, "https://pvd-api.test", "pvd-api", "c1", "c1",
                                        "financeur", NOW, 3600, NULL);
    char *t_other = jwt_signer_issue(other, "https://pvd-api.test", "pvd-api", "c1", "c1",
                                     "financeur", NOW, 3600, NULL);
    struct jwt_claims c1, c2;

    cr_assert(jwt_verifier_set_jwks(v, jwks, NULL, 0));
    cr_assert_str_neq(jwt_signer_kid(current), jwt_signer_kid(previous));
    cr_assert_eq(jwt_verify(v, t_current, NOW, &c1), JWT_OK);
    cr_assert_eq(jwt_verify(v, t_previous, NOW, &c2), JWT_OK);
    cr_assert_str_eq(c1.kid, jwt_signer_kid(current));
    cr_assert_str_eq(c2.kid, jwt_signer_kid(previous));
    cr_assert_eq(strlen(c1.jti), 22, "random jti: 16 bytes in base64url");
    cr_assert_str_neq(c1.jti, c2.jti);
    expect(v, t_other, JWT_ERR_UNKNOWN_KID, "a signer outside the JWKS");
    free(t_current);
    free(t_previous);
    free(t_other);
    free(jwks);
    jwt_verifier_free(v);
    jwt_signer_free(current);
    jwt_signer_free(previous);
    jwt_signer_free(other);
    EVP_PKEY_free(old_key);
    EVP_PKEY_free(outsider);
}

Test(jwt, signer_accepts_only_ec_p256_private_keys)
{
    EVP_PKEY *rsa = gen_rsa(1024), *p384 = gen_ec("P-384");
    char *sec1 = private_pem(ec_key(), false);
    char *pub = public_pem(ec_key());
    char *rsa_pem = private_pem(rsa, true), *p384_pem = private_pem(p384, true);
    char err[256];
    struct jwt_signer *s;
    char *expected_kid = thumbprint(ec_key());

    cr_assert_not_null(strstr(sec1, "BEGIN EC PRIVATE KEY"));
    s = jwt_signer_new_from_pem(sec1, strlen(sec1), err, sizeof err);
    cr_assert_not_null(s, "SEC 1 PEM: %s", err);
    cr_assert_str_eq(jwt_signer_kid(s), expected_kid);
    jwt_signer_free(s);
    cr_assert_null(jwt_signer_new_from_pem(rsa_pem, strlen(rsa_pem), err, sizeof err));
    cr_assert_null(jwt_signer_new_from_pem(p384_pem, strlen(p384_pem), err, sizeof err));
    cr_assert_null(jwt_signer_new_from_pem(pub, strlen(pub), err, sizeof err));
    cr_assert_null(jwt_signer_new_from_pem("garbage", 7, err, sizeof err));
    { /* encrypted: refused, never a pass-phrase prompt */
        BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n;

        cr_assert_eq(PEM_write_bio_PrivateKey(bio, ec_key(), EVP_aes_256_cbc(),
                                              (const unsigned char *)"pass-phrase", 11, NULL, NULL),
                     1);
        n = BIO_get_mem_data(bio, &data);
        cr_assert_not_null(strstr(data, "ENCRYPTED"));
        cr_assert_null(jwt_signer_new_from_pem(data, (size_t)n, err, sizeof err));
        BIO_free(bio);
    }
    cr_assert_null(jwt_signer_new_from_pem(sec1, 0, err, sizeof err));
    cr_assert_null(jwt_signer_new_from_pem(NULL, 10, NULL, 0));
    cr_assert_null(strstr(err, "PRIVATE"), "no key material in the error");
    free(sec1);
    free(pub);
    free(rsa_pem);
    free(p384_pem);
    free(expected_kid);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
}

static bool coordinate_starts_with_zero(const EVP_PKEY *k, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[32];

    cr_assert_eq(EVP_PKEY_get_bn_param(k, param, &bn), 1);
    cr_assert_eq(BN_bn2binpad(bn, buf, sizeof buf), (int)sizeof buf);
    BN_free(bn);
    return buf[0] == 0;
}

/* rhonabwy's PEM import drops leading zero bytes of x and y (about 1 key in 100): the signer
 * must still publish full-length coordinates and the RFC 7638 thumbprint of them. */
Test(jwt, signer_keeps_full_length_coordinates_that_start_with_zero)
{
    int found = 0;

    for (int tries = 0; found < 2 && tries < 20000; tries++) {
        EVP_PKEY *k = gen_ec("P-256");
        struct jwt_signer *s;
        char *jwks, *token, *kid, *x, *y;
        json_t *root, *key;
        struct jwt_verifier *v;
        const struct jwt_signer *const *signers;

        if (!coordinate_starts_with_zero(k, OSSL_PKEY_PARAM_EC_PUB_X) &&
            !coordinate_starts_with_zero(k, OSSL_PKEY_PARAM_EC_PUB_Y)) {
            EVP_PKEY_free(k);
            continue;
        }
        found++;
        s = signer_for(k);
        signers = (const struct jwt_signer *const *)&s;
        jwks = jwt_jwks_public_json(signers, 1);
        root = json_loads(jwks, 0, NULL);
        key = json_array_get(json_object_get(root, "keys"), 0);
        kid = thumbprint(k);
        x = bn_param_b64url(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        y = bn_param_b64url(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        cr_assert_str_eq(jwt_signer_kid(s), kid);
        cr_assert_str_eq(json_string_value(json_object_get(key, "x")), x);
        cr_assert_str_eq(json_string_value(json_object_get(key, "y")), y);
        v = new_verifier(NULL);
        cr_assert(jwt_verifier_set_jwks(v, jwks, NULL, 0));
        token = jwt_signer_issue(s, ISS, AUD, "c1", NULL, NULL, NOW, 60, NULL);
        expect(v, token, JWT_OK, "token of a key with a short coordinate");
        cr_assert(openssl_verifies(token, k));
        free(token);
        free(jwks);
        free(kid);
        free(x);
        free(y);
        json_decref(root);
        jwt_verifier_free(v);
        jwt_signer_free(s);
        EVP_PKEY_free(k);
    }
    cr_assert_eq(found, 2, "no key with a leading zero coordinate in 20000");
}

Test(jwt, signer_issue_refuses_bad_arguments)
{
    struct jwt_signer *s = signer_for(ec_key());
    char long_text[JWT_CLAIM_MAX + 2];

    memset(long_text, 'c', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    cr_assert_null(jwt_signer_issue(NULL, "i", "a", "s", NULL, NULL, NOW, 60, NULL));
    cr_assert_null(jwt_signer_issue(s, NULL, "a", "s", NULL, NULL, NOW, 60, NULL));
    cr_assert_null(jwt_signer_issue(s, "i", "", "s", NULL, NULL, NOW, 60, NULL));
    cr_assert_null(jwt_signer_issue(s, "i", "a", NULL, NULL, NULL, NOW, 60, NULL));
    cr_assert_null(jwt_signer_issue(s, "i", "a", "s", NULL, NULL, NOW, 0, NULL));
    cr_assert_null(jwt_signer_issue(s, "i", "a", "s", long_text, NULL, NOW, 60, NULL));
    cr_assert_null(jwt_signer_issue(s, "i", "a", "s", NULL, "", NOW, 60, NULL));
    jwt_signer_free(s);
    jwt_signer_free(NULL);
}

Test(jwt, generated_pem_is_private_p256_and_never_overwritten)
{
    char dir[] = "/tmp/pvd-jwt-XXXXXX", path[128], err[256] = "";
    struct stat st;
    FILE *f;
    char pem[1024], again[1024];
    size_t n;
    struct jwt_signer *s;
    DIR *d;
    struct dirent *entry;
    int files = 0;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/signing-key.pem", dir);
    cr_assert(jwt_generate_es256_pem(path, err, sizeof err), "%s", err);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    f = fopen(path, "r");
    n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    cr_assert_not_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    s = jwt_signer_new_from_pem(pem, n, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    jwt_signer_free(s);

    cr_assert_not(jwt_generate_es256_pem(path, err, sizeof err), "existing key replaced");
    f = fopen(path, "r");
    cr_assert_eq(fread(again, 1, sizeof again, f), n);
    fclose(f);
    cr_assert_eq(memcmp(pem, again, n), 0, "existing key changed");
    cr_assert_not(jwt_generate_es256_pem("/nonexistent-dir/key.pem", err, sizeof err));
    cr_assert_not(jwt_generate_es256_pem("", err, sizeof err));
    d = opendir(dir);
    while ((entry = readdir(d)) != NULL)
        if (entry->d_name[0] != '.')
            files++;
    closedir(d);
    cr_assert_eq(files, 1, "temporary files left: %d files", files);
    unlink(path);
    rmdir(dir);
}
