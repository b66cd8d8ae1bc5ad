/* Identity routes: who am I (/moi). */
#include <jansson.h>

#include "../auth.h"
#include "../xalloc.h"
#include "handlers.h"

static json_t *code_list(const char *codes, size_t width, size_t count)
{
    json_t *list = xjson(json_array());
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, xjson(json_string(codes + i * width)));
    return list;
}

/* The perimeter as the API shows it. */
static json_t *perimeter_json(const struct perimeter *p)
{
    return xjson(json_pack(
        "{s:o, s:o, s:o, s:o}", "departements",
        code_list(&p->departements[0][0], sizeof p->departements[0], p->departement_count),
        "regions", code_list(&p->regions[0][0], sizeof p->regions[0], p->region_count), "sirens",
        code_list(&p->sirens[0][0], sizeof p->sirens[0], p->siren_count), "territoires",
        code_list(&p->territoires[0][0], sizeof p->territoires[0], p->territoire_count)));
}

void handle_get_moi(struct request_ctx *ctx)
{
    (void)ctx->req;
    const struct principal *p = ctx->principal;
    json_t *body = xjson(json_pack("{s:s, s:s}", "issuer", p->issuer, "subject", p->subject));
    if (p->has_habilitation) {
        json_object_set_new(body, "role", xjson(json_string(role_name(p->authz.role))));
        json_object_set_new(body, "perimetre", perimeter_json(&p->authz.perimeter));
        json_object_set_new(body, "habilitation_id",
                            p->habilitation_id[0] ? xjson(json_string(p->habilitation_id))
                                                  : json_null());
    } else {
        json_object_set_new(body, "role", json_null());
        json_object_set_new(body, "perimetre", json_null());
        json_object_set_new(body, "habilitation_id", json_null());
    }
    json_object_set_new(body, "administrateur_initial", json_boolean(p->bootstrap));
    respond_json_new(ctx->res, 200, body);
}
