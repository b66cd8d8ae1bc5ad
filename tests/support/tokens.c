/* Test bearer tokens (see tokens.h). */
#define _POSIX_C_SOURCE 200809L
#include "tokens.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s must be set (see tests/run.sh)", name);
    return v;
}

const char *token_issuer(void)
{
    return env_or_fail("PVD_TEST_ISSUER");
}

char *token_mint(const char *issuer, const char *audience, const char *sub, long ttl, long offset)
{
    char cmd[2048], buf[4096];
    const char *idp = env_or_fail("PVD_TEST_IDP");
    const char *space = strchr(idp, ' ');
    cr_assert(space, "PVD_TEST_IDP is \"<binary> <dir>\"");
    snprintf(cmd, sizeof cmd, "%.*s token %s '%s' '%s' '%s' %ld %ld", (int)(space - idp), idp,
             space + 1, issuer, audience, sub, ttl, offset);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run the test identity provider");
    char *ok = fgets(buf, sizeof buf, p);
    int rc = pclose(p);
    cr_assert(ok && rc == 0, "test-idp failed: %s", cmd);
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

char *token_for(const char *sub)
{
    return token_mint(token_issuer(), env_or_fail("PVD_TEST_AUDIENCE"), sub, 3600, 0);
}

void token_header(char *out, unsigned long size, const char *token)
{
    snprintf(out, size, "Authorization: Bearer %s", token);
}

void token_unique_subject(char *out, unsigned long size, const char *prefix)
{
    static unsigned n;
    snprintf(out, size, "%s-%ld-%u", prefix, (long)getpid(), n++);
}
