/* Strict JSON request bodies: exact media type, one UTF-8 JSON object, no
 * duplicate keys, bounded size. Pure (no HTTP), so it is unit-tested and
 * fuzzed; http.c wraps it into json_body_read_or_reply. */
#ifndef PVD_API_JSON_BODY_H
#define PVD_API_JSON_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

/* True for "application/json" and, when merge_patch (a PATCH body, RFC 7396),
 * "application/merge-patch+json", optionally with "; charset=utf-8" (any case,
 * optional spaces); false for anything else, NULL included. */
bool json_media_type_ok(const char *content_type, bool merge_patch);

/* Parses data[0..len) sent with content_type (merge_patch: as for
 * json_media_type_ok). On success returns PROBLEM__COUNT and *out owns the
 * object. Otherwise returns the problem to send (type-media-non-supporte,
 * corps-trop-volumineux, json-invalide) with a French detail. */
enum problem_code json_body_parse(const char *content_type, bool merge_patch, const void *data,
                                  size_t len, size_t max_bytes, json_t **out, char *detail,
                                  size_t detail_size);

#endif
