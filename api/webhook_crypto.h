/* The cryptography of webhooks (issue 11 §2, Standard Webhooks): a
 * subscription's secret, its encryption at rest (AES-256-GCM under the key
 * of WEBHOOK_KEY_FILE) and the signature of a message. No I/O but the key
 * file functions; no allocation. */
#ifndef PVD_API_WEBHOOK_CRYPTO_H
#define PVD_API_WEBHOOK_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define WEBHOOK_SECRET_BYTES 32
/* "whsec_" + standard base64 (with padding) of the 32 bytes, and its NUL. */
#define WEBHOOK_SECRET_TEXT_SIZE 64
/* nonce (12) || ciphertext (32) || tag (16) */
#define WEBHOOK_SEALED_BYTES 60
#define WEBHOOK_KEY_BYTES    32
/* "v1," + base64 of an HMAC-SHA256, and its NUL. */
#define WEBHOOK_SIGNATURE_SIZE 48

/* A new secret from RAND_bytes: its bytes into raw, its text
 * ("whsec_<base64>") into text. Aborts (die_bug) when the generator fails. */
void webhook_secret_new(unsigned char raw[WEBHOOK_SECRET_BYTES],
                        char text[WEBHOOK_SECRET_TEXT_SIZE]);

/* Encrypts raw under key with a fresh random nonce into out. false only on
 * an OpenSSL failure. */
bool webhook_secret_seal(const unsigned char key[WEBHOOK_KEY_BYTES],
                         const unsigned char raw[WEBHOOK_SECRET_BYTES],
                         unsigned char out[WEBHOOK_SEALED_BYTES]);

/* Decrypts and authenticates sealed into raw. false when the tag does not
 * verify (another key, altered bytes) or OpenSSL fails; raw is then wiped. */
bool webhook_secret_open(const unsigned char key[WEBHOOK_KEY_BYTES],
                         const unsigned char sealed[WEBHOOK_SEALED_BYTES],
                         unsigned char raw[WEBHOOK_SECRET_BYTES]);

/* The webhook-signature header value "v1,<base64 HMAC-SHA256 of
 * msg_id.timestamp.body under secret>" into out. */
void webhook_sign(const unsigned char *secret, size_t secret_len, const char *msg_id,
                  long long timestamp, const char *body, size_t body_len,
                  char out[WEBHOOK_SIGNATURE_SIZE]);

/* Reads the key file: the standard base64 of 32 bytes, optionally followed
 * by a line feed. false, with a French reason in err (err_size bytes), when
 * the file cannot be read or does not hold exactly that; key is then wiped. */
bool webhook_key_load(const char *path, unsigned char key[WEBHOOK_KEY_BYTES], char *err,
                      size_t err_size);

/* Writes a new key file (mode 0600, created exclusively): false, with the
 * reason in err, when it exists or cannot be written. */
bool webhook_key_generate(const char *path, char *err, size_t err_size);

#endif
