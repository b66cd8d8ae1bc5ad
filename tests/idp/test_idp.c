/* A stand-in OpenID provider for the tests: makes a P-256 key and its JWKS,
 * and mints tokens signed with it.
 *   test-idp init DIR                       → DIR/idp.pem, DIR/jwks.json
 *   test-idp token DIR ISSUER AUDIENCE SUB [TTL_SECONDS [NOW_OFFSET_SECONDS]] → token on stdout */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/jwt_signer.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65536);
    *len = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = '\0';
    return buf;
}

static struct jwt_signer *load(const char *dir)
{
    char path[4096], err[256];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/idp.pem", dir);
    char *pem = read_file(path, &len);
    struct jwt_signer *s = pem ? jwt_signer_new_from_pem(pem, len, err, sizeof err) : NULL;
    free(pem);
    if (!s)
        fprintf(stderr, "test-idp: cannot load %s\n", path);
    return s;
}

int main(int argc, char **argv)
{
    char path[4096], err[256];
    int status = 1;
    if (!jwt_global_init())
        return 1;
    if (argc == 3 && strcmp(argv[1], "init") == 0) {
        snprintf(path, sizeof path, "%s/idp.pem", argv[2]);
        struct jwt_signer *s = NULL;
        if (jwt_generate_es256_pem(path, err, sizeof err) && (s = load(argv[2]))) {
            const struct jwt_signer *list[1] = {s};
            char *jwks = jwt_jwks_public_json(list, 1);
            snprintf(path, sizeof path, "%s/jwks.json", argv[2]);
            FILE *f = fopen(path, "w");
            if (jwks && f && fputs(jwks, f) >= 0)
                status = 0;
            if (f)
                fclose(f);
            free(jwks);
        } else {
            fprintf(stderr, "test-idp: %s\n", err);
        }
        jwt_signer_free(s);
    } else if (argc >= 6 && strcmp(argv[1], "token") == 0) {
        struct jwt_signer *s = load(argv[2]);
        long ttl = argc > 6 ? atol(argv[6]) : 3600;
        long offset = argc > 7 ? atol(argv[7]) : 0;
        char *token = s ? jwt_signer_issue(s, argv[3], argv[4], argv[5], NULL, NULL,
                                           time(NULL) + offset, (unsigned)ttl, "test")
                        : NULL;
        if (token) {
            puts(token);
            status = 0;
        }
        free(token);
        jwt_signer_free(s);
    } else {
        fprintf(stderr,
                "usage: test-idp init DIR | token DIR ISSUER AUDIENCE SUB [TTL [OFFSET]]\n");
        status = 2;
    }
    jwt_global_close();
    return status;
}
