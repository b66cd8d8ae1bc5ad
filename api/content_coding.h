/* Content codings of answers (RFC 9110 §8.4, §12.5.3): whether a request's
 * Accept-Encoding lets the service send gzip, and the gzip compression
 * itself (zlib). Pure functions, covered by the unit tests; the response path
 * that uses them is http_encode_response (api/http.h). */
#ifndef PVD_API_CONTENT_CODING_H
#define PVD_API_CONTENT_CODING_H

#include <stdbool.h>
#include <stddef.h>

/* Answers whose identity body is at most this many bytes are never
 * compressed (the gzip header and the CPU are not worth it). */
#define CONTENT_CODING_MIN_BYTES 1024u

/* The suffix added inside a strong ETag's quotes for the gzip variant:
 * "abc" becomes "abc-gzip" (the two representations differ byte for byte,
 * so their strong validators must differ, RFC 9110 §8.8.3.3). */
#define CONTENT_CODING_ETAG_SUFFIX "-gzip"

/* True when the Accept-Encoding value `header` prefers gzip to identity:
 * gzip (or x-gzip), or else "*", is listed with a q-value above 0, and
 * identity (or else "*") is not listed with a higher q-value. Without the
 * header (NULL), or with an empty one, false (identity). Coding names are
 * compared case-insensitively; an element whose q-value is malformed counts
 * as q=0 (refused), never as a preference. */
bool content_coding_accepts_gzip(const char *header);

/* True when an answer of this Content-Type (parameters ignored, any case)
 * is JSON the service compresses: application/json and
 * application/problem+json. NULL: false. */
bool content_coding_compressible(const char *content_type);

/* Compresses in[0..len) into a gzip member (RFC 1952, zlib level 6). On
 * success returns true and *out (malloc'd, owned by the caller: free) holds
 * *out_len bytes. false only when zlib fails (out of memory): *out is NULL. */
bool content_coding_gzip(const void *in, size_t len, unsigned char **out, size_t *out_len);

#endif
