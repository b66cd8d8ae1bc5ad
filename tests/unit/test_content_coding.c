/* Accept-Encoding negotiation and gzip compression (api/content_coding.h). */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../api/content_coding.h"

Test(content_coding, gzip_accepted_as_browsers_and_clients_send_it)
{
    cr_assert(content_coding_accepts_gzip("gzip"));
    cr_assert(content_coding_accepts_gzip("gzip, deflate, br, zstd"));
    cr_assert(content_coding_accepts_gzip("deflate, GZIP;q=0.5"));
    cr_assert(content_coding_accepts_gzip("x-gzip"));
    cr_assert(content_coding_accepts_gzip("*"));
    cr_assert(content_coding_accepts_gzip("br;q=1.0, *;q=0.1"));
    cr_assert(content_coding_accepts_gzip(" gzip ; q=1 , identity;q=0.5"));
    cr_assert(content_coding_accepts_gzip("identity;q=0, gzip"));
    cr_assert(content_coding_accepts_gzip("gzip;q=0.001"));
}

Test(content_coding, gzip_refused)
{
    cr_assert_not(content_coding_accepts_gzip(NULL)); /* no header: identity */
    cr_assert_not(content_coding_accepts_gzip(""));
    cr_assert_not(content_coding_accepts_gzip("identity"));
    cr_assert_not(content_coding_accepts_gzip("br, deflate"));
    cr_assert_not(content_coding_accepts_gzip("gzip;q=0"));
    cr_assert_not(content_coding_accepts_gzip("gzip;q=0.000"));
    cr_assert_not(content_coding_accepts_gzip("gzip;q=0, *")); /* the explicit entry wins */
    cr_assert_not(content_coding_accepts_gzip("*;q=0"));
    cr_assert_not(content_coding_accepts_gzip("gzip;q=0.5, identity")); /* identity preferred */
    cr_assert_not(content_coding_accepts_gzip("*;q=0.5, identity;q=0.8"));
    cr_assert_not(content_coding_accepts_gzip("gzipped"));
    cr_assert_not(content_coding_accepts_gzip("gzip;q=2")); /* malformed q: refused */
    cr_assert_not(content_coding_accepts_gzip("gzip;q=0.5x"));
    cr_assert_not(content_coding_accepts_gzip("gzip;q=1.5"));
    cr_assert_not(content_coding_accepts_gzip("gzip;q=0.0001"));
}

Test(content_coding, compressible_types)
{
    cr_assert(content_coding_compressible("application/json"));
    cr_assert(content_coding_compressible("application/json; charset=utf-8"));
    cr_assert(content_coding_compressible("Application/Problem+JSON"));
    cr_assert_not(content_coding_compressible("text/csv; charset=utf-8"));
    cr_assert_not(content_coding_compressible("text/html; charset=utf-8"));
    cr_assert_not(content_coding_compressible("application/jsonl"));
    cr_assert_not(content_coding_compressible(NULL));
}

Test(content_coding, gzip_round_trip)
{
    size_t n = 20000;
    char *in = malloc(n);
    cr_assert_not_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)('a' + (i * 7 + i / 13) % 26);
    unsigned char *gz;
    size_t gz_len;
    cr_assert(content_coding_gzip(in, n, &gz, &gz_len));
    cr_assert_lt(gz_len, n);
    cr_assert_eq(gz[0], 0x1f); /* gzip magic */
    cr_assert_eq(gz[1], 0x8b);
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    char *out = malloc(n + 1);
    z.next_in = gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(n + 1);
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    cr_assert_eq(z.total_out, n);
    inflateEnd(&z);
    cr_assert(memcmp(in, out, n) == 0);
    free(out);
    free(gz);
    free(in);
}
