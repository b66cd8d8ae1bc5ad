/* HTTP client for the integration and resilience suites (see http_client.h). */
#include "http_client.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000L

/* ---- small utilities ---------------------------------------------------------------- */

static void *xrealloc_or_die(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "http_client: out of memory\n");
        abort();
    }
    return q;
}

static char *xstrndup_or_die(const char *s, size_t n)
{
    char *d = xrealloc_or_die(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buffer {
    char *data;
    size_t len, cap;
};

static void buffer_append(struct buffer *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        b->data = xrealloc_or_die(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof *resp);
}

static void headers_clear(struct http_response *resp)
{
    for (size_t i = 0; i < resp->header_count; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->header_count = 0;
}

/* Adds "Name: value" (line without CRLF); ignores lines without a colon. */
static void headers_add_line(struct http_response *resp, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    if (colon == NULL || colon == line)
        return;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    resp->headers =
        xrealloc_or_die(resp->headers, (resp->header_count + 1) * sizeof *resp->headers);
    resp->headers[resp->header_count].name = xstrndup_or_die(line, name_len);
    resp->headers[resp->header_count].value = xstrndup_or_die(v, (size_t)(end - v));
    resp->header_count++;
}

const char *http_header(const struct http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->header_count; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

void http_response_release(struct http_response *resp)
{
    headers_clear(resp);
    free(resp->body);
    json_decref(resp->json);
    memset(resp, 0, sizeof *resp);
}

static bool is_json_media_type(const char *content_type)
{
    char base[128];
    size_t n = strcspn(content_type, ";");
    while (n > 0 && content_type[n - 1] == ' ')
        n--;
    if (n == 0 || n >= sizeof base)
        return false;
    for (size_t i = 0; i < n; i++)
        base[i] =
            (char)((content_type[i] >= 'A' && content_type[i] <= 'Z') ? content_type[i] - 'A' + 'a'
                                                                      : content_type[i]);
    base[n] = '\0';
    return strcmp(base, "application/json") == 0 || (n > 5 && strcmp(base + n - 5, "+json") == 0);
}

/* Fills content_type and json from the headers and body. */
static void response_finish(struct http_response *resp)
{
    const char *ct = http_header(resp, "Content-Type");
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ct ? ct : "");
    if (resp->body == NULL)
        resp->body = xstrndup_or_die("", 0);
    if (ct && resp->body_len > 0 && is_json_media_type(ct)) {
        json_error_t err;
        resp->json = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &err);
        if (resp->json == NULL)
            snprintf(resp->error, sizeof resp->error, "corps JSON illisible : %s (ligne %d)",
                     err.text, err.line);
    }
}

/* ---- capture ------------------------------------------------------------------------ */

/* A JSON string of s (n bytes); bytes that are not valid UTF-8 become '?'. */
static json_t *safe_string(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *copy = xstrndup_or_die(s, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)copy[i] >= 0x80 || copy[i] == '\0')
            copy[i] = '?';
    j = json_stringn(copy, n);
    free(copy);
    return j;
}

static bool capture_paused;

void http_capture_pause(bool paused)
{
    capture_paused = paused;
}

static void capture(const char *method, const char *path, const struct http_response *resp)
{
    if (capture_paused)
        return;
    const char *file = getenv("PVD_TEST_CAPTURE");
    if (file == NULL || file[0] == '\0' || resp->status <= 0)
        return;
    json_t *line = json_object();
    json_t *headers = json_object();
    json_object_set_new(line, "method", safe_string(method, strlen(method)));
    json_object_set_new(line, "path", safe_string(path, strlen(path)));
    json_object_set_new(line, "status", json_integer(resp->status));
    json_object_set_new(line, "content_type",
                        resp->content_type[0]
                            ? safe_string(resp->content_type, strlen(resp->content_type))
                            : json_null());
    json_object_set_new(line, "body", resp->json ? json_incref(resp->json) : json_null());
    for (size_t i = 0; i < resp->header_count; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s", resp->headers[i].name);
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        const char *value = resp->headers[i].value;
        json_t *prev = json_object_get(headers, name);
        if (prev) { /* repeated header: one field, values joined (RFC 9110 §5.3) */
            size_t n = strlen(json_string_value(prev)) + strlen(value) + 3;
            char *joined = xrealloc_or_die(NULL, n);
            snprintf(joined, n, "%s, %s", json_string_value(prev), value);
            json_object_set_new(headers, name, safe_string(joined, strlen(joined)));
            free(joined);
        } else {
            json_object_set_new(headers, name, safe_string(value, strlen(value)));
        }
    }
    json_object_set_new(line, "headers", headers);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    text = xrealloc_or_die(text, n + 2);
    text[n++] = '\n';
    text[n] = '\0';
    /* One write() on an O_APPEND descriptor: lines of parallel workers never interleave. */
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, text, n);
        if (w != (ssize_t)n)
            fprintf(stderr, "http_client: capture to %s incomplete (%zd of %zu bytes)\n", file, w,
                    n);
        close(fd);
    } else {
        fprintf(stderr, "http_client: cannot open capture file %s: %s\n", file, strerror(errno));
    }
    free(text);
}

/* ---- base URL ----------------------------------------------------------------------- */

/* Read once per process: tests send requests from several threads (races,
 * held locks), and a buffer rewritten on every call was read half-written
 * by another thread ("URL using bad/illegal format"). PVD_TEST_BASE_URL may
 * list several servers of one database, comma-separated (issue #12 §1,
 * replicas): unpinned requests go to the first, or to each in turn with
 * PVD_TEST_ALTERNATE=1. */
#define BASE_URLS_MAX 4
static char base_urls[BASE_URLS_MAX][512];
static size_t base_url_count;
static atomic_size_t base_url_next;
static bool alternate; /* PVD_TEST_ALTERNATE=1: unpinned requests go to the servers in turn */
static pthread_once_t base_url_once = PTHREAD_ONCE_INIT;

static void base_url_init(void)
{
    const char *alt = getenv("PVD_TEST_ALTERNATE");
    alternate = alt && strcmp(alt, "1") == 0;
    const char *env = getenv("PVD_TEST_BASE_URL");
    for (const char *p = env; p && *p && base_url_count < BASE_URLS_MAX;) {
        size_t n = strcspn(p, ",");
        if (n > 0 && n < sizeof base_urls[0]) {
            char *u = base_urls[base_url_count++];
            memcpy(u, p, n);
            u[n] = '\0';
            while (n > 0 && u[n - 1] == '/')
                u[--n] = '\0';
        }
        p += n + (p[n] == ',');
    }
}

static const char *base_url_or_null(void)
{
    pthread_once(&base_url_once, base_url_init);
    return base_url_count ? base_urls[0] : NULL;
}

/* The server this thread's requests go to (http_pin), or -1: in turn. */
static _Thread_local int pinned = -1;

void http_pin(int server)
{
    pinned = server;
}

/* The server of the next request: the pinned one, else the servers in turn. */
static const char *base_url_next_or_null(void)
{
    pthread_once(&base_url_once, base_url_init);
    if (base_url_count == 0)
        return NULL;
    if (pinned >= 0)
        return base_urls[(size_t)pinned % base_url_count];
    if (!alternate)
        return base_urls[0];
    return base_urls[atomic_fetch_add(&base_url_next, 1) % base_url_count];
}

const char *http_base_url(void)
{
    const char *base = base_url_or_null();
    cr_assert(base != NULL, "PVD_TEST_BASE_URL is not set: these tests need a running pvd-api "
                            "(e.g. PVD_TEST_BASE_URL=http://127.0.0.1:18181); see tests/run.sh");
    return base;
}

size_t http_server_count(void)
{
    pthread_once(&base_url_once, base_url_init);
    return base_url_count;
}

/* ---- libcurl ------------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buffer *b = userdata;
    buffer_append(b, ptr, size * nmemb);
    return size * nmemb;
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
    struct http_response *resp = userdata;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
        headers_clear(resp); /* a new (final or interim) response starts */
    else
        headers_add_line(resp, ptr, n);
    return n;
}

struct upload {
    const char *data;
    size_t len, off;
};

static size_t on_read(char *out, size_t size, size_t nitems, void *userdata)
{
    struct upload *u = userdata;
    size_t room = size * nitems, left = u->len - u->off;
    size_t n = left < room ? left : room;
    if (n > 16384)
        n = 16384; /* several chunks */
    memcpy(out, u->data + u->off, n);
    u->off += n;
    return n;
}

static bool headers_ask_chunked(const char *const *headers)
{
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], "Transfer-Encoding:", 18) == 0 &&
            strstr(headers[i] + 18, "chunked"))
            return true;
    return false;
}

int http_try_request(const char *method, const char *path, const char *const *headers,
                     const void *body, size_t body_len, long timeout_ms, struct http_response *resp)
{
    response_init(resp);
    const char *base = base_url_next_or_null();
    if (base == NULL) {
        snprintf(resp->error, sizeof resp->error, "PVD_TEST_BASE_URL is not set");
        return -1;
    }
    pthread_once(&curl_once, curl_init_once);
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(resp->error, sizeof resp->error, "curl_easy_init failed");
        return -1;
    }
    size_t url_len = strlen(base) + strlen(path) + 1;
    char *url = xrealloc_or_die(NULL, url_len);
    snprintf(url, url_len, "%s%s", base, path);

    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    struct buffer received = {NULL, 0, 0};
    struct upload upload = {body, body_len, 0};
    char curl_error[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    if (list)
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (body != NULL && headers_ask_chunked(headers)) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    } else if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }

    double start = now_seconds();
    CURLcode rc = curl_easy_perform(curl);
    resp->seconds = now_seconds() - start;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->body = received.data;
        resp->body_len = received.len;
        received.data = NULL;
        response_finish(resp);
        capture(method, path, resp);
    } else {
        snprintf(resp->error, sizeof resp->error, "%s %s: %s (%s)", method, path,
                 curl_easy_strerror(rc), curl_error);
        resp->body = xstrndup_or_die("", 0);
        headers_clear(resp);
    }
    free(received.data);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    free(url);
    return rc == CURLE_OK ? 0 : (int)rc;
}

void http_request(const char *method, const char *path, const char *const *headers,
                  const void *body, size_t body_len, struct http_response *resp)
{
    http_base_url();
    int rc = http_try_request(method, path, headers, body, body_len, DEFAULT_TIMEOUT_MS, resp);
    cr_assert(rc == 0, "no HTTP response: %s", resp->error);
}

void http_get(const char *path, struct http_response *resp)
{
    http_request("GET", path, NULL, NULL, 0, resp);
}

/* ---- raw socket --------------------------------------------------------------------- */

/* Splits "http://host:port[/...]" into host and port. */
static bool split_base(const char *base, char *host, size_t host_size, char *port, size_t port_size)
{
    const char *p = strstr(base, "://");
    p = p ? p + 3 : base;
    const char *end = p + strcspn(p, "/");
    const char *colon = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == ':')
            colon = q;
    size_t host_len = (size_t)((colon ? colon : end) - p);
    if (host_len == 0 || host_len >= host_size)
        return false;
    memcpy(host, p, host_len);
    host[host_len] = '\0';
    if (colon) {
        size_t port_len = (size_t)(end - colon - 1);
        if (port_len == 0 || port_len >= port_size)
            return false;
        memcpy(port, colon + 1, port_len);
        port[port_len] = '\0';
    } else {
        snprintf(port, port_size, "80");
    }
    return true;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Offset of the body when the header block is complete, else 0. */
static size_t header_end(const struct buffer *b)
{
    for (size_t i = 0; b->len >= 4 && i + 4 <= b->len; i++)
        if (memcmp(b->data + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

/* Parses status line and headers of the (last non-1xx) response in b into resp. */
static void parse_raw(const struct buffer *b, struct http_response *resp)
{
    size_t off = 0;
    for (;;) {
        struct buffer rest = {b->data + off, b->len - off, 0};
        size_t hend = header_end(&rest);
        if (hend == 0)
            return;
        const char *p = b->data + off;
        long status = 0;
        if (sscanf(p, "HTTP/%*d.%*d %ld", &status) != 1)
            return;
        if (status >= 100 && status < 200) { /* interim response: skip it */
            off += hend;
            continue;
        }
        resp->status = status;
        const char *line = memchr(p, '\n', hend);
        while (line && (size_t)(line + 1 - p) < hend) {
            line++;
            const char *eol = memchr(line, '\n', hend - (size_t)(line - p));
            if (eol == NULL)
                break;
            size_t n = (size_t)(eol - line);
            if (n > 0 && line[n - 1] == '\r')
                n--;
            if (n > 0)
                headers_add_line(resp, line, n);
            line = eol;
        }
        size_t body_len = b->len - off - hend;
        const char *cl = http_header(resp, "Content-Length");
        if (cl) {
            size_t announced = (size_t)strtoull(cl, NULL, 10);
            if (announced < body_len)
                body_len = announced;
        }
        resp->body = xstrndup_or_die(p + hend, body_len);
        resp->body_len = body_len;
        return;
    }
}

/* True when b holds a complete final response. */
static bool raw_complete(const struct buffer *b)
{
    struct http_response tmp;
    response_init(&tmp);
    parse_raw(b, &tmp);
    bool done = false;
    if (tmp.status >= 200) {
        const char *cl = http_header(&tmp, "Content-Length");
        size_t want = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
        done = cl != NULL && tmp.body_len >= want;
    }
    http_response_release(&tmp);
    return done;
}

int http_try_raw(const char *request, size_t len, long timeout_ms, struct http_response *resp)
{
    response_init(resp);
    const char *base = base_url_or_null();
    char host[256], port[16];
    if (base == NULL || !split_base(base, host, sizeof host, port, sizeof port)) {
        snprintf(resp->error, sizeof resp->error, "PVD_TEST_BASE_URL unset or malformed");
        resp->body = xstrndup_or_die("", 0);
        return -1;
    }
    double start = now_seconds();
    int fd = connect_to(host, port);
    if (fd < 0) {
        snprintf(resp->error, sizeof resp->error, "connect %.100s:%s: %s", host, port,
                 strerror(errno));
        resp->body = xstrndup_or_die("", 0);
        return -1;
    }
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the server may answer and close early: read what it sent */
        sent += (size_t)n;
    }
    struct buffer got = {NULL, 0, 0};
    bool closed = false, complete = false;
    for (;;) {
        double left_ms = (double)timeout_ms - (now_seconds() - start) * 1000.0;
        if (left_ms <= 0)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)left_ms + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        char chunk[16384];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            closed = true;
            break;
        }
        buffer_append(&got, chunk, (size_t)n);
        if (raw_complete(&got)) {
            complete = true;
            break;
        }
    }
    close(fd);
    resp->seconds = now_seconds() - start;
    if (got.data)
        parse_raw(&got, resp);
    if (resp->body == NULL)
        resp->body = xstrndup_or_die("", 0);
    if (!complete && closed && resp->status >= 200 && http_header(resp, "Content-Length") == NULL)
        complete = true; /* body delimited by the close */
    free(got.data);
    if (resp->status > 0) {
        response_finish(resp);
        char method[16] = "", path[2048] = "";
        if (sscanf(request, "%15s %2047s", method, path) == 2)
            capture(method, path, resp);
    }
    if (!complete) {
        snprintf(resp->error, sizeof resp->error, "%s after %.3f s (%zu bytes sent of %zu)",
                 closed ? "connection closed before a complete response"
                        : "no complete response before the timeout",
                 resp->seconds, sent, len);
        return -1;
    }
    return 0;
}

/* ---- assertions --------------------------------------------------------------------- */

/* Heuristic for "French text": accented letters or common French words, and none of a few
 * common English ones. */
static bool looks_french(const char *s)
{
    static const char *const french[] = {
        "é",     "è",    "ê",     "à",     "ç",   "ù",     "ô",    "î",     " de ", " la ",  " le ",
        " les ", " du ", " des ", " est ", " n'", " pas ", " ce ", " une ", " un ", "Aucun", NULL};
    static const char *const english[] = {" the ",  " is ",   " not ", "Not ",
                                          " must ", " error", "Error", NULL};
    bool fr = false;
    for (size_t i = 0; french[i] && !fr; i++)
        fr = strstr(s, french[i]) != NULL;
    for (size_t i = 0; english[i]; i++)
        if (strstr(s, english[i]))
            return false;
    return fr;
}

void http_expect_problem(const struct http_response *resp, long status, const char *code)
{
    cr_assert_eq(resp->status, status, "expected HTTP %ld (%s), got %ld: " HTTP_BODY, status, code,
                 resp->status, resp->body);
    cr_assert(strncmp(resp->content_type, "application/problem+json", 24) == 0,
              "HTTP %ld: Content-Type should be application/problem+json, is \"%s\": " HTTP_BODY,
              status, resp->content_type, resp->body);
    cr_assert(resp->json != NULL && json_is_object(resp->json),
              "problem body is not a JSON object (%s): " HTTP_BODY, resp->error, resp->body);
    const json_t *p = resp->json;
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    const char *got_code = json_string_value(json_object_get(p, "code"));
    const char *rid = json_string_value(json_object_get(p, "request_id"));
    json_t *st = json_object_get(p, "status");
    cr_assert(got_code && strcmp(got_code, code) == 0, "problem code should be \"%s\": " HTTP_BODY,
              code, resp->body);
    cr_assert(json_is_integer(st) && json_integer_value(st) == status,
              "problem \"status\" should equal the HTTP status %ld: " HTTP_BODY, status,
              resp->body);
    cr_assert(type != NULL && strlen(type) > strlen(code) + 1 &&
                  strcmp(type + strlen(type) - strlen(code), code) == 0 &&
                  type[strlen(type) - strlen(code) - 1] == '/',
              "problem \"type\" should be a URI ending in /%s: " HTTP_BODY, code, resp->body);
    cr_assert(title != NULL && title[0] != '\0', "problem without title: " HTTP_BODY, resp->body);
    cr_assert(detail != NULL && detail[0] != '\0', "problem without detail: " HTTP_BODY,
              resp->body);
    cr_assert(looks_french(detail), "problem detail should be French: \"%s\"", detail);
    const char *header_rid = http_header(resp, "X-Request-Id");
    cr_assert(rid != NULL && rid[0] != '\0', "problem without request_id: " HTTP_BODY, resp->body);
    cr_assert(header_rid != NULL && strcmp(rid, header_rid) == 0,
              "request_id \"%s\" should equal the X-Request-Id header \"%s\"", rid,
              header_rid ? header_rid : "(absent)");
}

json_t *http_problem_error(const struct http_response *resp, const char *pointer)
{
    json_t *list = resp->json ? json_object_get(resp->json, "erreurs") : NULL;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *ptr = json_string_value(json_object_get(item, "pointeur"));
        if (ptr && strcmp(ptr, pointer) == 0)
            return item;
    }
    return NULL;
}

void http_next_link(const struct http_response *resp, char *out, size_t size)
{
    const char *link = http_header(resp, "Link");
    cr_assert(link != NULL, "no Link header: " HTTP_BODY, resp->body);
    const char *end = strstr(link, ">; rel=\"next\"");
    cr_assert(link[0] == '<' && end && strcmp(end, ">; rel=\"next\"") == 0, "Link: %s", link);
    size_t n = (size_t)(end - link - 1);
    cr_assert(n < size, "Link target too long: %s", link);
    memcpy(out, link + 1, n);
    out[n] = '\0';
}

void http_expect_param_error(const struct http_response *resp, const char *pointer,
                             const char *err_code)
{
    bool cursor = err_code && strcmp(err_code, "curseur-invalide") == 0;
    http_expect_problem(resp, 400, cursor ? "curseur-invalide" : "parametre-invalide");
    json_t *item = http_problem_error(resp, pointer);
    cr_assert(item != NULL, "no element of \"erreurs\" with pointeur %s: " HTTP_BODY, pointer,
              resp->body);
    const char *parametre = json_string_value(json_object_get(item, "parametre"));
    cr_assert(parametre && strcmp(parametre, pointer + 1) == 0,
              "erreurs[].parametre should be \"%s\": " HTTP_BODY, pointer + 1, resp->body);
    const char *message = json_string_value(json_object_get(item, "message"));
    cr_assert(message && looks_french(message), "erreurs[].message should be French: " HTTP_BODY,
              resp->body);
    if (err_code) {
        const char *code = json_string_value(json_object_get(item, "code"));
        cr_assert(code && strcmp(code, err_code) == 0,
                  "erreurs[%s].code should be \"%s\": " HTTP_BODY, pointer, err_code, resp->body);
    }
}

void http_expect_json_ok(const struct http_response *resp)
{
    cr_assert_eq(resp->status, 200, "expected 200, got %ld: " HTTP_BODY, resp->status, resp->body);
    cr_assert(strncmp(resp->content_type, "application/json", 16) == 0,
              "Content-Type should be application/json, is \"%s\"", resp->content_type);
    cr_assert(resp->json != NULL, "body is not JSON (%s): " HTTP_BODY, resp->error, resp->body);
    cr_assert(http_header(resp, "X-Request-Id") != NULL, "200 without X-Request-Id");
}

void http_url_encode(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~';
        cr_assert(o + 4 < size, "http_url_encode: output buffer too small");
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}
