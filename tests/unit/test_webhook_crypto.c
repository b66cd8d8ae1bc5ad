/* Webhook cryptography (api/webhook_crypto.h, issue 11 §2): the Standard
 * Webhooks signature against the specification's published example, the
 * secret's form, its sealing at rest (AES-256-GCM: round trip, a changed
 * byte or another key refused) and the key file. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../api/webhook_crypto.h"

/* The example of the Standard Webhooks reference libraries (also what the
 * npm standardwebhooks 1.3.0 signs for these inputs). */
Test(webhook_crypto, signature_matches_the_standard_webhooks_example)
{
    unsigned char secret[64];
    char signature[WEBHOOK_SIGNATURE_SIZE];
    int n = EVP_DecodeBlock(secret, (const unsigned char *)"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32);
    cr_assert_eq(n, 24);
    const char *body = "{\"test\": 2432232314}";
    webhook_sign(secret, 24, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
                 signature);
    cr_assert_str_eq(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* Every signed part matters. */
    webhook_sign(secret, 24, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body),
                 signature);
    cr_assert_str_neq(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

Test(webhook_crypto, secret_is_whsec_and_the_base64_of_its_bytes)
{
    unsigned char raw[WEBHOOK_SECRET_BYTES], decoded[48], other[WEBHOOK_SECRET_BYTES];
    char text[WEBHOOK_SECRET_TEXT_SIZE], text2[WEBHOOK_SECRET_TEXT_SIZE];
    webhook_secret_new(raw, text);
    cr_assert_eq(strncmp(text, "whsec_", 6), 0);
    cr_assert_eq(strlen(text), 6 + 44);
    cr_assert_eq(EVP_DecodeBlock(decoded, (const unsigned char *)text + 6, 44), 33);
    cr_assert_eq(memcmp(decoded, raw, sizeof raw), 0);
    webhook_secret_new(other, text2);
    cr_assert_str_neq(text, text2, "random");
}

Test(webhook_crypto, sealed_secret_opens_only_intact_under_its_key)
{
    unsigned char key[WEBHOOK_KEY_BYTES], key2[WEBHOOK_KEY_BYTES], raw[WEBHOOK_SECRET_BYTES];
    unsigned char sealed[WEBHOOK_SEALED_BYTES], sealed2[WEBHOOK_SEALED_BYTES];
    unsigned char opened[WEBHOOK_SECRET_BYTES];
    char text[WEBHOOK_SECRET_TEXT_SIZE];
    memset(key, 7, sizeof key);
    memset(key2, 8, sizeof key2);
    webhook_secret_new(raw, text);
    cr_assert(webhook_secret_seal(key, raw, sealed));
    cr_assert(webhook_secret_seal(key, raw, sealed2));
    cr_assert_neq(memcmp(sealed, sealed2, sizeof sealed), 0, "a fresh nonce each time");
    cr_assert_eq(memmem(sealed, sizeof sealed, raw, sizeof raw), NULL, "not in clear");
    cr_assert(webhook_secret_open(key, sealed, opened));
    cr_assert_eq(memcmp(opened, raw, sizeof raw), 0);
    cr_assert_not(webhook_secret_open(key2, sealed, opened), "another key");
    for (size_t i = 0; i < sizeof sealed; i += 7) {
        unsigned char bad[WEBHOOK_SEALED_BYTES];
        memcpy(bad, sealed, sizeof bad);
        bad[i] ^= 1;
        cr_assert_not(webhook_secret_open(key, bad, opened), "byte %zu changed", i);
    }
}

Test(webhook_crypto, key_file_generated_then_loaded_never_overwritten)
{
    char path[] = "/tmp/pvd-webhook-key-XXXXXX", err[200];
    unsigned char key[WEBHOOK_KEY_BYTES];
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_not(webhook_key_generate(path, err, sizeof err), "an existing file is kept");
    unlink(path);
    cr_assert(webhook_key_generate(path, err, sizeof err), "%s", err);
    cr_assert(webhook_key_load(path, key, err, sizeof err), "%s", err);
    FILE *f = fopen(path, "w");
    fputs("trop court\n", f);
    fclose(f);
    cr_assert_not(webhook_key_load(path, key, err, sizeof err));
    cr_assert_not(webhook_key_load("/nonexistent/pvd-key", key, err, sizeof err));
    unlink(path);
}
