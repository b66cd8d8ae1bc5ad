/* The HTTP ceiling of this machine for `make bench`: a bare libmicrohttpd
 * server (no ulfius) answering {"statut":"ok"} to any GET, in the same mode as
 * pvd-api (internal polling thread + epoll, pool of 4 threads), on 127.0.0.1.
 *
 *   build/bench/mhd_hello PORT        stops on SIGINT or SIGTERM
 *
 * The response is created once (persistent buffer) and queued on the second
 * call of the access handler: queuing on the first call, when only the headers
 * have arrived, makes MHD 0.9.75 answer `Connection: close` and the figure
 * would measure TCP set-up instead of request handling (toolchain.md §3). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>

#define HELLO_THREADS 4

static const char hello_body[] = "{\"statut\":\"ok\"}";

/* Any non-NULL address marks "headers seen" in *con_cls. */
static int request_seen;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct MHD_Response *response = cls;
    (void)url;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = &request_seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* discard any body */
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return MHD_NO;
    return MHD_queue_response(connection, MHD_HTTP_OK, response);
}

static int parse_port(const char *text, uint16_t *port)
{
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (end == text || *end != '\0' || v == 0 || v > 65535)
        return 0;
    *port = (uint16_t)v;
    return 1;
}

int main(int argc, char **argv)
{
    uint16_t port;
    if (argc != 2 || !parse_port(argv[1], &port)) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    /* Before MHD starts its threads, so that they inherit the mask. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct MHD_Response *response = MHD_create_response_from_buffer(
        sizeof hello_body - 1, (void *)hello_body, MHD_RESPMEM_PERSISTENT);
    if (response == NULL || MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                    "application/json") != MHD_YES) {
        fprintf(stderr, "mhd_hello: cannot create the response\n");
        return 1;
    }

    struct sockaddr_in bind4;
    memset(&bind4, 0, sizeof bind4);
    bind4.sin_family = AF_INET;
    bind4.sin_port = htons(port);
    bind4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, port, NULL, NULL,
        on_request, response, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&bind4,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)HELLO_THREADS, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)256, MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "mhd_hello: cannot listen on 127.0.0.1:%u\n", (unsigned)port);
        MHD_destroy_response(response);
        return 1;
    }
    fprintf(stderr, "mhd_hello: listening on 127.0.0.1:%u (epoll, %d threads)\n", (unsigned)port,
            HELLO_THREADS);

    int sig = 0;
    while (sigwait(&signals, &sig) != 0)
        ;
    MHD_stop_daemon(daemon);
    MHD_destroy_response(response);
    return 0;
}
