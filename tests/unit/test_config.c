/* Unit tests of api/config: the environment is replaced by a fake lookup
 * table (the real environment is never read), every variable is parsed
 * strictly, each bad value is named, and the database secret never leaks
 * into the error text. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/config.h"

#define SECRET      "S3cr3t-p4ss-Q9z"
#define SECRET_URL  "postgresql://pvd:" SECRET "@db.internal:5432/pvd"
#define ERRORS_SIZE 4096

struct fake_var {
    const char *name;
    const char *value;
};

/* A NULL-name-terminated table of variables. */
static const char *fake_lookup(const char *name, void *ctx)
{
    const struct fake_var *vars = ctx;

    cr_assert_not_null(name);
    for (; vars && vars->name; vars++)
        if (strcmp(vars->name, name) == 0)
            return vars->value;
    return NULL;
}

/* config_load with a table, into an errors buffer first filled with garbage. */
static bool load(struct app_config *config, const struct fake_var *vars, bool require_database,
                 char errors[ERRORS_SIZE])
{
    memset(errors, 'x', ERRORS_SIZE);
    return config_load(config, fake_lookup, (void *)vars, require_database, errors, ERRORS_SIZE);
}

static size_t count_lines(const char *text)
{
    size_t n = 0;

    for (; *text; text++)
        if (*text == '\n')
            n++;
    return n;
}

/* Asserts that NAME=value alone is refused with an error line naming NAME. */
static void assert_refused(const char *name, const char *value)
{
    struct fake_var vars[] = {{name, value}, {NULL, NULL}};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert_not(load(&config, vars, false, errors), "%s=\"%s\" was accepted", name, value);
    cr_assert(strncmp(errors, name, strlen(name)) == 0 && errors[strlen(name)] == ':',
              "%s=\"%s\": errors \"%s\" do not start with the variable", name, value, errors);
    cr_assert_eq(count_lines(errors), 1, "one line per bad variable: \"%s\"", errors);
    cr_assert_null(config.database_url);
}

/* Asserts that NAME=value alone is accepted. */
static void assert_accepted(const char *name, const char *value, struct app_config *config)
{
    struct fake_var vars[] = {{name, value}, {NULL, NULL}};
    char errors[ERRORS_SIZE];

    cr_assert(load(config, vars, false, errors), "%s=\"%s\" refused: %s", name, value, errors);
}

/* Writes content into a new temporary file; returns its path (static). */
static const char *temp_file(const char *content)
{
    static char path[64];
    int fd;
    size_t n = strlen(content);

    snprintf(path, sizeof path, "/tmp/pvd-config-test-XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

Test(config, defaults)
{
    static const struct fake_var none[] = {{NULL, NULL}};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert(load(&config, none, false, errors), "%s", errors);
    cr_assert_str_eq(errors, "");
    cr_assert_eq(config.http_port, 8080);
    cr_assert_str_eq(config.http_bind_address, "0.0.0.0");
    cr_assert_eq(config.http_threads, 4);
    cr_assert_eq(config.http_max_connections, 256);
    cr_assert_eq(config.http_idle_timeout_seconds, 15);
    cr_assert_eq(config.http_max_body_bytes, 1048576, "HTTP_MAX_BODY_BYTES defaults to 1 MiB");
    cr_assert_null(config.database_url);
    cr_assert_eq(config.db_pool_size, 4);
    cr_assert_eq(config.db_acquire_timeout_ms, 2000);
    cr_assert_eq(config.db_statement_timeout_ms, 5000);
    cr_assert_eq(config.db_connect_timeout_seconds, 5);
    cr_assert_eq(config.shutdown_grace_seconds, 20);
    cr_assert_eq(config.log_level, LOG_INFO);
    cr_assert_str_eq(config.problem_base_url, "https://pvd-api.example/problemes/");
    cr_assert_eq(config.referentiel_reload_seconds, 300);
    cr_assert_eq(config.read_cache_bytes, 8u * 1024 * 1024, "READ_CACHE_BYTES defaults to 8 MiB");
    cr_assert_eq(config.read_cache_max_staleness_ms, 0, "reads are strict by default");
    cr_assert_eq(config.read_cache_ttl_ms, 1000);
    config_release(&config);
}

Test(config, every_variable_is_parsed)
{
    static const struct fake_var vars[] = {
        {"HTTP_PORT", "18080"},
        {"HTTP_BIND_ADDRESS", "127.0.0.1"},
        {"HTTP_THREADS", "16"},
        {"HTTP_MAX_CONNECTIONS", "1000"},
        {"HTTP_IDLE_TIMEOUT_SECONDS", "30"},
        {"HTTP_MAX_BODY_BYTES", "2048"},
        {"DATABASE_URL", SECRET_URL},
        {"DB_POOL_SIZE", "12"},
        {"DB_ACQUIRE_TIMEOUT_MS", "300"},
        {"DB_STATEMENT_TIMEOUT_MS", "15000"},
        {"DB_CONNECT_TIMEOUT_SECONDS", "7"},
        {"SHUTDOWN_GRACE_SECONDS", "0"},
        {"LOG_LEVEL", "warn"},
        {"PVD_PROBLEM_BASE_URL", "http://localhost:8080/problemes/"},
        {"PVD_REFERENTIEL_RELOAD_SECONDS", "86400"},
        {NULL, NULL},
    };
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert(load(&config, vars, true, errors), "%s", errors);
    cr_assert_str_eq(errors, "");
    cr_assert_eq(config.http_port, 18080);
    cr_assert_str_eq(config.http_bind_address, "127.0.0.1");
    cr_assert_eq(config.http_threads, 16);
    cr_assert_eq(config.http_max_connections, 1000);
    cr_assert_eq(config.http_idle_timeout_seconds, 30);
    cr_assert_eq(config.http_max_body_bytes, 2048);
    cr_assert_str_eq(config.database_url, SECRET_URL);
    cr_assert_eq(config.db_pool_size, 12);
    cr_assert_eq(config.db_acquire_timeout_ms, 300);
    cr_assert_eq(config.db_statement_timeout_ms, 15000);
    cr_assert_eq(config.db_connect_timeout_seconds, 7);
    cr_assert_eq(config.shutdown_grace_seconds, 0);
    cr_assert_eq(config.log_level, LOG_WARN);
    cr_assert_str_eq(config.problem_base_url, "http://localhost:8080/problemes/");
    cr_assert_eq(config.referentiel_reload_seconds, 86400);
    config_release(&config);
    cr_assert_null(config.database_url);
}

Test(config, log_levels)
{
    static const struct {
        const char *text;
        enum log_level level;
    } levels[] = {
        {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR}};
    struct app_config config;

    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        assert_accepted("LOG_LEVEL", levels[i].text, &config);
        cr_assert_eq(config.log_level, levels[i].level, "LOG_LEVEL=%s", levels[i].text);
        config_release(&config);
    }
}

Test(config, bounds_are_inclusive)
{
    struct app_config config;

    assert_accepted("HTTP_PORT", "1", &config);
    cr_assert_eq(config.http_port, 1);
    assert_accepted("HTTP_PORT", "65535", &config);
    cr_assert_eq(config.http_port, 65535);
    assert_accepted("HTTP_MAX_BODY_BYTES", "1024", &config);
    cr_assert_eq(config.http_max_body_bytes, 1024);
    assert_accepted("HTTP_MAX_BODY_BYTES", "67108864", &config);
    cr_assert_eq(config.http_max_body_bytes, 67108864);
    assert_accepted("READ_CACHE_BYTES", "0", &config);
    cr_assert_eq(config.read_cache_bytes, 0, "READ_CACHE_BYTES=0 turns the read cache off");
    assert_accepted("READ_CACHE_TTL_MS", "60000", &config);
    cr_assert_eq(config.read_cache_ttl_ms, 60000);
    assert_accepted("READ_CACHE_MAX_STALENESS_MS", "250", &config);
    cr_assert_eq(config.read_cache_max_staleness_ms, 250);
    assert_accepted("READ_CACHE_MAX_STALENESS_MS", "0", &config);
    assert_accepted("HTTP_PORT", "08080", &config);
    cr_assert_eq(config.http_port, 8080, "leading zeros are decimal, not octal");
}

Test(config, negative_values_are_named)
{
    assert_refused("HTTP_PORT", "-1");
    assert_refused("HTTP_THREADS", "-4");
    assert_refused("DB_POOL_SIZE", "-1");
    assert_refused("SHUTDOWN_GRACE_SECONDS", "-0");
    assert_refused("HTTP_MAX_BODY_BYTES", "-1048576");
}

Test(config, non_numeric_values_are_named)
{
    assert_refused("HTTP_PORT", "http");
    assert_refused("HTTP_PORT", "");
    assert_refused("HTTP_PORT", "80a");
    assert_refused("HTTP_PORT", "8080 ");
    assert_refused("HTTP_PORT", "+8080");
    assert_refused("HTTP_PORT", "0x1F90");
    assert_refused("HTTP_PORT", "8e3");
    assert_refused("HTTP_PORT", "80.5");
    assert_refused("HTTP_THREADS", "four");
    assert_refused("HTTP_MAX_CONNECTIONS", "1 000");
    assert_refused("HTTP_IDLE_TIMEOUT_SECONDS", "15s");
    assert_refused("HTTP_MAX_BODY_BYTES", "1MiB");
    assert_refused("DB_ACQUIRE_TIMEOUT_MS", "2s");
    assert_refused("DB_STATEMENT_TIMEOUT_MS", "5000ms");
    assert_refused("DB_CONNECT_TIMEOUT_SECONDS", "five");
    assert_refused("SHUTDOWN_GRACE_SECONDS", "20.0");
    assert_refused("PVD_REFERENTIEL_RELOAD_SECONDS", "5m");
}

/* Strict parsing: "+8080" and "8080 " are refused, so a leading blank must
 * be too (strtoull skips it silently). */
Test(config, leading_blanks_are_refused)
{
    assert_refused("HTTP_PORT", " 8080");
    assert_refused("DB_POOL_SIZE", "\t4");
    assert_refused("SHUTDOWN_GRACE_SECONDS", " -0");
}

Test(config, overflowing_values_are_named)
{
    assert_refused("HTTP_PORT", "18446744073709551616");
    assert_refused("HTTP_PORT", "99999999999999999999999999");
    assert_refused("HTTP_PORT", "4294975488"); /* 2^32 + 8192: no wrap into range */
    assert_refused("HTTP_MAX_BODY_BYTES", "18446744073709551615");
    assert_refused("DB_POOL_SIZE", "4294967297");
}

Test(config, out_of_range_values_are_named)
{
    assert_refused("HTTP_PORT", "0");
    assert_refused("HTTP_PORT", "65536");
    assert_refused("HTTP_THREADS", "0");
    assert_refused("HTTP_THREADS", "257");
    assert_refused("HTTP_MAX_CONNECTIONS", "0");
    assert_refused("HTTP_MAX_CONNECTIONS", "100001");
    assert_refused("HTTP_IDLE_TIMEOUT_SECONDS", "0");
    assert_refused("HTTP_IDLE_TIMEOUT_SECONDS", "3601");
    assert_refused("HTTP_MAX_BODY_BYTES", "1023");
    assert_refused("HTTP_MAX_BODY_BYTES", "67108865");
    assert_refused("DB_POOL_SIZE", "0");
    assert_refused("DB_POOL_SIZE", "513");
    assert_refused("DB_ACQUIRE_TIMEOUT_MS", "0");
    assert_refused("DB_ACQUIRE_TIMEOUT_MS", "600001");
    assert_refused("DB_STATEMENT_TIMEOUT_MS", "0");
    assert_refused("DB_STATEMENT_TIMEOUT_MS", "3600001");
    assert_refused("DB_CONNECT_TIMEOUT_SECONDS", "0");
    assert_refused("DB_CONNECT_TIMEOUT_SECONDS", "3601");
    assert_refused("SHUTDOWN_GRACE_SECONDS", "3601");
    assert_refused("PVD_REFERENTIEL_RELOAD_SECONDS", "0");
    assert_refused("PVD_REFERENTIEL_RELOAD_SECONDS", "86401");
    assert_refused("READ_CACHE_BYTES", "1073741825");
    assert_refused("READ_CACHE_BYTES", "-1");
    assert_refused("READ_CACHE_TTL_MS", "0");
    assert_refused("READ_CACHE_TTL_MS", "60001");
    assert_refused("READ_CACHE_MAX_STALENESS_MS", "60001");
    assert_refused("READ_CACHE_MAX_STALENESS_MS", "-1");
}

/* Slowloris and per-route limits (issue #8): defaults, bounds, 0 = no per-address cap. */
Test(config, connection_deadlines_and_route_limits)
{
    static const struct fake_var none[] = {{NULL, NULL}};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert(load(&config, none, false, errors), "%s", errors);
    cr_assert_eq(config.http_max_connections_per_address, 32);
    cr_assert_eq(config.http_request_headers_timeout_seconds, 10);
    cr_assert_eq(config.http_request_body_timeout_seconds, 60);
    cr_assert_eq(config.import_max_bytes, 5u * 1024 * 1024, "PVD_IMPORT_MAX_BYTES: 5 MiB");
    config_release(&config);

    assert_accepted("HTTP_MAX_CONNECTIONS_PER_ADDRESS", "0", &config);
    cr_assert_eq(config.http_max_connections_per_address, 0, "0: no cap per address");
    assert_accepted("HTTP_MAX_CONNECTIONS_PER_ADDRESS", "100000", &config);
    cr_assert_eq(config.http_max_connections_per_address, 100000);
    assert_accepted("HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS", "1", &config);
    cr_assert_eq(config.http_request_headers_timeout_seconds, 1);
    assert_accepted("HTTP_REQUEST_BODY_TIMEOUT_SECONDS", "3600", &config);
    cr_assert_eq(config.http_request_body_timeout_seconds, 3600);
    assert_accepted("PVD_IMPORT_MAX_BYTES", "1024", &config);
    cr_assert_eq(config.import_max_bytes, 1024);

    assert_refused("HTTP_MAX_CONNECTIONS_PER_ADDRESS", "-1");
    assert_refused("HTTP_MAX_CONNECTIONS_PER_ADDRESS", "100001");
    assert_refused("HTTP_MAX_CONNECTIONS_PER_ADDRESS", "32 ");
    assert_refused("HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS", "0");
    assert_refused("HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS", "3601");
    assert_refused("HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS", "10s");
    assert_refused("HTTP_REQUEST_BODY_TIMEOUT_SECONDS", "0");
    assert_refused("HTTP_REQUEST_BODY_TIMEOUT_SECONDS", "3601");
    assert_refused("PVD_IMPORT_MAX_BYTES", "1023");
    /* Above the CSV parser's own cap, the gate would let through what the import refuses. */
    assert_refused("PVD_IMPORT_MAX_BYTES", "5242881");
    assert_refused("PVD_IMPORT_MAX_BYTES", "5MiB");
}

Test(config, bad_log_level_is_named)
{
    assert_refused("LOG_LEVEL", "verbose");
    assert_refused("LOG_LEVEL", "");
    assert_refused("LOG_LEVEL", "warning");
    assert_refused("LOG_LEVEL", "info ");
}

Test(config, bad_problem_base_url_is_named)
{
    char too_long[300];

    assert_refused("PVD_PROBLEM_BASE_URL", "ftp://pvd-api.example/problemes/");
    assert_refused("PVD_PROBLEM_BASE_URL", "pvd-api.example/problemes/");
    assert_refused("PVD_PROBLEM_BASE_URL", "");
    assert_refused("PVD_PROBLEM_BASE_URL", "/problemes/");
    snprintf(too_long, sizeof too_long, "https://pvd-api.example/%0250d/", 0);
    assert_refused("PVD_PROBLEM_BASE_URL", too_long);
}

Test(config, bad_bind_address_is_named)
{
    char too_long[100];

    memset(too_long, '1', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_refused("HTTP_BIND_ADDRESS", too_long);
}

Test(config, every_bad_variable_gets_its_own_line)
{
    static const struct fake_var vars[] = {
        {"HTTP_PORT", "0"},
        {"HTTP_THREADS", "many"},
        {"DB_POOL_SIZE", "-3"},
        {"LOG_LEVEL", "loud"},
        {"PVD_PROBLEM_BASE_URL", "mailto:x"},
        {"DB_STATEMENT_TIMEOUT_MS", "99999999999999999999999"},
        {NULL, NULL},
    };
    static const char *const names[] = {"HTTP_PORT",
                                        "HTTP_THREADS",
                                        "DB_POOL_SIZE",
                                        "LOG_LEVEL",
                                        "PVD_PROBLEM_BASE_URL",
                                        "DATABASE_URL",
                                        "DB_STATEMENT_TIMEOUT_MS"};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert_not(load(&config, vars, true, errors));
    cr_assert_eq(count_lines(errors), 7, "errors:\n%s", errors);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_not_null(strstr(errors, names[i]), "%s not named in:\n%s", names[i], errors);
}

Test(config, database_url_required_only_when_asked)
{
    static const struct fake_var none[] = {{NULL, NULL}};
    static const struct fake_var with_url[] = {{"DATABASE_URL", SECRET_URL}, {NULL, NULL}};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert(load(&config, none, false, errors), "%s", errors);
    cr_assert_null(config.database_url);
    config_release(&config);

    cr_assert_not(load(&config, none, true, errors));
    cr_assert_not_null(strstr(errors, "DATABASE_URL"), "%s", errors);
    cr_assert_eq(count_lines(errors), 1, "%s", errors);
    cr_assert_null(config.database_url);

    cr_assert(load(&config, with_url, true, errors), "%s", errors);
    cr_assert_str_eq(config.database_url, SECRET_URL);
    config_release(&config);

    cr_assert(load(&config, with_url, false, errors), "%s", errors);
    cr_assert_str_eq(config.database_url, SECRET_URL);
    config_release(&config);
}

Test(config, database_url_file_is_read_without_trailing_newline)
{
    const char *path = temp_file(SECRET_URL "\n");
    struct fake_var vars[] = {{"DATABASE_URL_FILE", path}, {NULL, NULL}};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert(load(&config, vars, true, errors), "%s", errors);
    cr_assert_str_eq(config.database_url, SECRET_URL);
    config_release(&config);
    unlink(path);

    path = temp_file(SECRET_URL "\r\n");
    vars[0].value = path;
    cr_assert(load(&config, vars, true, errors), "%s", errors);
    cr_assert_str_eq(config.database_url, SECRET_URL, "CRLF stripped too");
    config_release(&config);
    unlink(path);

    path = temp_file(SECRET_URL);
    vars[0].value = path;
    cr_assert(load(&config, vars, true, errors), "%s", errors);
    cr_assert_str_eq(config.database_url, SECRET_URL, "no newline at all");
    config_release(&config);
    unlink(path);
}

Test(config, unreadable_database_url_file_is_named)
{
    static const struct fake_var vars[] = {{"DATABASE_URL_FILE", "/nonexistent/pvd-api/" SECRET},
                                           {NULL, NULL}};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert_not(load(&config, vars, false, errors));
    cr_assert_not_null(strstr(errors, "DATABASE_URL_FILE"), "%s", errors);
    cr_assert_null(config.database_url);
}

Test(config, database_url_and_file_both_set_is_an_error)
{
    const char *path = temp_file(SECRET_URL "\n");
    struct fake_var vars[] = {
        {"DATABASE_URL", SECRET_URL}, {"DATABASE_URL_FILE", path}, {NULL, NULL}};
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert_not(load(&config, vars, false, errors));
    cr_assert_not_null(strstr(errors, "DATABASE_URL"), "%s", errors);
    cr_assert_not_null(strstr(errors, "DATABASE_URL_FILE"), "%s", errors);
    cr_assert_null(strstr(errors, SECRET), "secret leaked: %s", errors);
    cr_assert_null(config.database_url);
    unlink(path);
}

Test(config, secret_never_appears_in_errors)
{
    static const struct fake_var vars[] = {
        {"DATABASE_URL", SECRET_URL},  {"HTTP_PORT", "seventy"}, {"LOG_LEVEL", "chatty"},
        {"PVD_PROBLEM_BASE_URL", "x"}, {"DB_POOL_SIZE", "0"},    {NULL, NULL},
    };
    struct app_config config;
    char errors[ERRORS_SIZE];

    cr_assert_not(load(&config, vars, true, errors));
    cr_assert_eq(count_lines(errors), 4, "%s", errors);
    cr_assert_null(strstr(errors, SECRET), "secret leaked: %s", errors);
    cr_assert_null(strstr(errors, "db.internal"), "connection string leaked: %s", errors);
    cr_assert_null(config.database_url, "released on failure");
}

Test(config, small_error_buffer_is_terminated)
{
    static const struct fake_var vars[] = {
        {"HTTP_PORT", "0"}, {"HTTP_THREADS", "0"}, {"LOG_LEVEL", "x"}, {NULL, NULL}};
    struct app_config config;
    char errors[16];

    memset(errors, 'x', sizeof errors);
    cr_assert_not(config_load(&config, fake_lookup, (void *)vars, false, errors, sizeof errors));
    cr_assert_lt(strnlen(errors, sizeof errors), sizeof errors);
    cr_assert_not(config_load(&config, fake_lookup, (void *)vars, false, NULL, 0));
}

/* Issue 12 §2: DB_POOLER (none or transaction) and DATABASE_READ_URL (optional, a secret
 * like DATABASE_URL, also from a _FILE; empty means absent). */
Test(config, pooler_and_read_replica)
{
    struct app_config config;
    char errors[ERRORS_SIZE];
    static const struct fake_var none[] = {{NULL, NULL}};
    static const struct fake_var read[] = {{"DATABASE_READ_URL", SECRET_URL}, {NULL, NULL}};
    static const struct fake_var empty[] = {{"DATABASE_READ_URL", ""}, {NULL, NULL}};

    cr_assert(load(&config, none, false, errors), "%s", errors);
    cr_assert_not(config.db_transaction_pooler);
    cr_assert_null(config.database_read_url);
    config_release(&config);

    assert_accepted("DB_POOLER", "transaction", &config);
    cr_assert(config.db_transaction_pooler);
    config_release(&config);
    assert_accepted("DB_POOLER", "none", &config);
    cr_assert_not(config.db_transaction_pooler);
    config_release(&config);
    assert_refused("DB_POOLER", "session");
    assert_refused("DB_POOLER", "");

    cr_assert(load(&config, read, false, errors), "%s", errors);
    cr_assert_str_eq(config.database_read_url, SECRET_URL);
    config_release(&config);
    cr_assert_null(config.database_read_url);
    cr_assert(load(&config, empty, false, errors), "%s", errors);
    cr_assert_null(config.database_read_url);
    config_release(&config);

    const char *path = temp_file(SECRET_URL "\n");
    struct fake_var from_file[] = {{"DATABASE_READ_URL_FILE", path}, {NULL, NULL}};
    cr_assert(load(&config, from_file, false, errors), "%s", errors);
    cr_assert_str_eq(config.database_read_url, SECRET_URL);
    config_release(&config);
    unlink(path);

    struct fake_var both[] = {
        {"DATABASE_READ_URL", SECRET_URL}, {"DATABASE_READ_URL_FILE", path}, {NULL, NULL}};
    cr_assert_not(load(&config, both, false, errors));
    cr_assert_null(strstr(errors, SECRET), "the secret leaked: %s", errors);
}

/* Issue 11 §2: the webhook retry schedule (Standard Webhooks' by default),
 * and a lease that outlives an attempt. */
Test(config, webhook_retry_schedule_and_lease)
{
    struct app_config config;
    static const unsigned standard[] = {5, 300, 1800, 7200, 18000, 36000, 36000};
    assert_accepted("LOG_LEVEL", "info", &config);
    cr_assert_eq(config.webhook_retry_count, 7);
    for (size_t i = 0; i < 7; i++)
        cr_assert_eq(config.webhook_retry_schedule[i], standard[i]);
    cr_assert_eq(config.webhook_timeout_seconds, 10);
    cr_assert_eq(config.webhook_lease_seconds, 60);
    config_release(&config);
    assert_accepted("WEBHOOK_RETRY_SCHEDULE_SECONDS", "1,1", &config);
    cr_assert_eq(config.webhook_retry_count, 2);
    cr_assert_eq(config.webhook_retry_schedule[1], 1);
    config_release(&config);
    static const char *const bad[] = {
        "",   "0",   "1,,2",  "1,", ",1",
        "-1", "1;2", "86401", "5s", "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_refused("WEBHOOK_RETRY_SCHEDULE_SECONDS", bad[i]);
    assert_refused("WEBHOOK_LEASE_SECONDS", "10");
    assert_refused("WEBHOOK_ALLOW_HTTP_LOCALHOST", "2");
}
