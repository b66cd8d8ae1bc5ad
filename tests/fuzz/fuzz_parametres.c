/* libFuzzer target over api/parametres_json and domain/parametres: the input
 * is a PUT /api/v1/parametres body, parsed as the server parses it
 * (json_body_parse), read by parametres_json_read and judged by
 * parametres_check. Checked: no crash nor undefined behaviour; a body read
 * without error yields its pieces; a struct the rules accept
 * renders a document that reads back into the same struct and the same
 * pieces (what the API stores is what it was given). The corpus
 * (tests/fuzz/corpus/fuzz_parametres) starts from a valid body. Build: make
 * build/fuzz/fuzz_parametres. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_body.h"
#include "api/parametres_json.h"
#include "api/problem.h"
#include "domain/parametres.h"

#define MAX_BODY 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL;
    char detail[200];
    if (json_body_parse("application/json", false, data, size, MAX_BODY, &body, detail,
                        sizeof detail) != PROBLEM__COUNT)
        return 0;
    static struct parametres p, back;
    struct date effet, effet2;
    json_t *pieces = NULL, *pieces2 = NULL;
    FIELD_ERRORS(errs);
    bool ok = parametres_json_read(body, &p, &effet, &pieces, &errs);
    if (ok && !pieces)
        abort();
    struct rule_report r;
    rule_report_init(&r);
    if (ok && parametres_check(&p, &r) == 0) {
        json_t *doc = parametres_json_document(&p);
        json_object_set_new(doc, "date_effet", json_string("2099-01-01"));
        json_object_set(doc, "pieces_requises", pieces);
        FIELD_ERRORS(again);
        if (!parametres_json_read(doc, &back, &effet2, &pieces2, &again) ||
            memcmp(&back, &p, sizeof p) != 0 || !json_equal(pieces, pieces2))
            abort();
        json_decref(pieces2);
        json_decref(doc);
    }
    json_decref(pieces);
    json_decref(body);
    return 0;
}
