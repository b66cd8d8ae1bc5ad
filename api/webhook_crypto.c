/* Webhook secrets and signatures (see webhook_crypto.h). */
#include "webhook_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"
#include "digest.h"

#define NONCE_BYTES 12
#define TAG_BYTES   16
/* Additional authenticated data: binds a sealed secret to this use. */
static const unsigned char AAD[] = "pvd-api webhook secret v1";

void webhook_secret_new(unsigned char raw[WEBHOOK_SECRET_BYTES],
                        char text[WEBHOOK_SECRET_TEXT_SIZE])
{
    if (RAND_bytes(raw, WEBHOOK_SECRET_BYTES) != 1)
        die_bug("RAND_bytes failed");
    memcpy(text, "whsec_", 6);
    EVP_EncodeBlock((unsigned char *)text + 6, raw, WEBHOOK_SECRET_BYTES);
}

bool webhook_secret_seal(const unsigned char key[WEBHOOK_KEY_BYTES],
                         const unsigned char raw[WEBHOOK_SECRET_BYTES],
                         unsigned char out[WEBHOOK_SEALED_BYTES])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok = c && RAND_bytes(out, NONCE_BYTES) == 1 &&
              EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
              EVP_EncryptInit_ex(c, NULL, NULL, key, out) == 1 &&
              EVP_EncryptUpdate(c, NULL, &len, AAD, (int)sizeof AAD - 1) == 1 &&
              EVP_EncryptUpdate(c, out + NONCE_BYTES, &len, raw, WEBHOOK_SECRET_BYTES) == 1 &&
              len == WEBHOOK_SECRET_BYTES &&
              EVP_EncryptFinal_ex(c, out + NONCE_BYTES + len, &fin) == 1 && fin == 0 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_BYTES,
                                  out + NONCE_BYTES + WEBHOOK_SECRET_BYTES) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

bool webhook_secret_open(const unsigned char key[WEBHOOK_KEY_BYTES],
                         const unsigned char sealed[WEBHOOK_SEALED_BYTES],
                         unsigned char raw[WEBHOOK_SECRET_BYTES])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    unsigned char tag[TAG_BYTES];
    int len = 0, fin = 0;
    memcpy(tag, sealed + NONCE_BYTES + WEBHOOK_SECRET_BYTES, TAG_BYTES);
    bool ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
              EVP_DecryptInit_ex(c, NULL, NULL, key, sealed) == 1 &&
              EVP_DecryptUpdate(c, NULL, &len, AAD, (int)sizeof AAD - 1) == 1 &&
              EVP_DecryptUpdate(c, raw, &len, sealed + NONCE_BYTES, WEBHOOK_SECRET_BYTES) == 1 &&
              len == WEBHOOK_SECRET_BYTES &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1 &&
              EVP_DecryptFinal_ex(c, raw + len, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        OPENSSL_cleanse(raw, WEBHOOK_SECRET_BYTES);
    return ok;
}

void webhook_sign(const unsigned char *secret, size_t secret_len, const char *msg_id,
                  long long timestamp, const char *body, size_t body_len,
                  char out[WEBHOOK_SIGNATURE_SIZE])
{
    char ts[24];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    int ts_len = snprintf(ts, sizeof ts, "%lld", timestamp);
    size_t id_len = strlen(msg_id), len = id_len + 1 + (size_t)ts_len + 1 + body_len;
    unsigned char *message = xmalloc(len);
    memcpy(message, msg_id, id_len);
    message[id_len] = '.';
    memcpy(message + id_len + 1, ts, (size_t)ts_len);
    message[id_len + 1 + (size_t)ts_len] = '.';
    memcpy(message + id_len + 2 + (size_t)ts_len, body, body_len);
    if (HMAC(digest_sha256(), secret, (int)secret_len, message, len, mac, &mac_len) == NULL ||
        mac_len != 32)
        die_bug("HMAC-SHA256 failed");
    free(message);
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, 32);
}

bool webhook_key_load(const char *path, unsigned char key[WEBHOOK_KEY_BYTES], char *err,
                      size_t err_size)
{
    char text[128];
    unsigned char decoded[96];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_size, "fichier illisible");
        return false;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    /* 32 bytes: 44 characters with one '=' of padding. */
    bool ok = n == 44 && text[43] == '=' && text[42] != '=' &&
              EVP_DecodeBlock(decoded, (const unsigned char *)text, 44) == 33;
    if (ok)
        memcpy(key, decoded, WEBHOOK_KEY_BYTES);
    else
        snprintf(err, err_size, "base64 de 32 octets attendu (pvd-api gen-webhook-key FICHIER)");
    OPENSSL_cleanse(text, sizeof text);
    OPENSSL_cleanse(decoded, sizeof decoded);
    return ok;
}

bool webhook_key_generate(const char *path, char *err, size_t err_size)
{
    unsigned char raw[WEBHOOK_KEY_BYTES];
    char text[64];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        snprintf(err, err_size, "générateur aléatoire indisponible");
        return false;
    }
    int n = EVP_EncodeBlock((unsigned char *)text, raw, sizeof raw);
    text[n++] = '\n';
    OPENSSL_cleanse(raw, sizeof raw);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    bool ok = fd >= 0 && write(fd, text, (size_t)n) == n;
    if (!ok)
        snprintf(err, err_size, "%s", strerror(errno));
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    OPENSSL_cleanse(text, sizeof text);
    return ok;
}
