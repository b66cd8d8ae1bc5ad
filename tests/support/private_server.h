/* A pvd-api of one test, on a database of its own: for a test that must
 * change what every reader of the suite's database would see (e.g. a
 * parameters version in force today, issue #10 §1), while the other suites
 * run against that database. Uses the suite's environment (tests/run.sh:
 * PVD_TEST_DATABASE_URL's cluster, PVD_TEST_SERVER_BIN, the identity
 * provider PVD_TEST_IDP, PVD_TEST_ISSUER, PVD_TEST_AUDIENCE). Every function
 * asserts (criterion) on failure. */
#ifndef PVD_TESTS_PRIVATE_SERVER_H
#define PVD_TESTS_PRIVATE_SERVER_H

#include <jansson.h>
#include <sys/types.h>

/* Drops and creates database `name` (a plain identifier, unique to the
 * test) in the suite's cluster, imports the referential into it, starts
 * `pvd-api serve` on it (a free port, the suite's authentication, bootstrap
 * admin "admin-initial", no rate limit) and points this process's HTTP
 * client at it: call it before the test's first request (the client reads
 * its base URL once per process). The server gets SIGTERM when this process
 * ends, a failed assertion included. Returns its pid. */
pid_t private_server_start(const char *name);

/* Publishes, as a fresh anct_national, the parameters in force today with
 * edit(doc, arg) applied, taking effect today — only on a private server:
 * doc is GET /api/v1/parametres without version, cree_par, cree_le, with
 * date_effet today. Asserts 200; returns the new version's number. */
long private_server_publish_today(void (*edit)(json_t *doc, void *arg), void *arg);

/* SIGTERMs the server, expects exit status 0, drops database `name`. */
void private_server_stop(pid_t pid, const char *name);

#endif
