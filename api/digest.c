/* The process's SHA-256 (see digest.h). */
#include "digest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static EVP_MD *sha256;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;

static void fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *digest_sha256(void)
{
    pthread_once(&fetched, fetch);
    if (sha256 == NULL) {
        fputs("pvd-api: SHA-256 unavailable from OpenSSL\n", stderr);
        abort();
    }
    return sha256;
}
