/* SHA-256 for OpenSSL 3's EVP calls, fetched from the default provider once per
 * process. EVP_sha256() hands out a legacy descriptor that makes every
 * EVP_DigestInit_ex fetch the algorithm again (a lookup under the provider
 * store's lock): on the verified-token cache's key of every authenticated
 * request, half of the hash's cost. */
#ifndef PVD_API_DIGEST_H
#define PVD_API_DIGEST_H

#include <openssl/evp.h>

/* The process's SHA-256 (owned by this module, never freed; thread-safe).
 * Aborts, with a line on stderr, when OpenSSL cannot provide SHA-256. */
const EVP_MD *digest_sha256(void);

#endif
