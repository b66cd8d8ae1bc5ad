/* Bearer tokens for the HTTP tests, minted by the test identity provider
 * (build/bin/test-idp; PVD_TEST_IDP = "<binary> <dir>", PVD_TEST_ISSUER,
 * PVD_TEST_AUDIENCE, as tests/run.sh sets them). */
#ifndef PVD_TESTS_TOKENS_H
#define PVD_TESTS_TOKENS_H

/* A token for sub, valid for ttl seconds from now + offset. Owned (free()).
 * Fails the test when the provider cannot be run. */
char *token_mint(const char *issuer, const char *audience, const char *sub, long ttl, long offset);
/* A valid token of the configured provider for sub. Owned (free()). */
char *token_for(const char *sub);
/* "Authorization: Bearer <token>" into out. */
void token_header(char *out, unsigned long size, const char *token);
/* A subject unique to this test process ("<prefix>-<pid>-<n>"), into out. */
void token_unique_subject(char *out, unsigned long size, const char *prefix);
/* The configured issuer. */
const char *token_issuer(void);

#endif
