/* Unit tests of api/parametres_json: the canonical document of a struct
 * parametres reads back, as a PUT body, into the same struct (so what the
 * API stores and serves is what it was given), and the reader's shape
 * errors carry their pointers. */
#include <criterion/criterion.h>

#include <string.h>

#include "api/parametres_json.h"

/* A struct with every member set: the defaults, a second period, a
 * département's and a national deadline. */
static void filled(struct parametres *p)
{
    parametres_defaut(p);
    p->chef_projet[1] = p->chef_projet[0];
    p->chef_projet[1].annee_debut = 2025;
    p->chef_projet[1].financeurs[CDP_FINANCEUR_BDT].plafond_annuel = 1600000;
    p->chef_projet_count = 2;
    p->dates_limites[0] =
        (struct parametres_date_limite){SUBVENTION_DETR, 2026, "2A", {2026, 1, 15}};
    p->dates_limites[1] = (struct parametres_date_limite){SUBVENTION_DSIL, 2026, "", {2026, 2, 27}};
    p->dates_limites_count = 2;
}

Test(parametres_json, the_document_reads_back_into_the_same_struct)
{
    struct parametres p, back;
    struct date effet;
    json_t *pieces = NULL;
    FIELD_ERRORS(errs);
    filled(&p);
    json_t *doc = parametres_json_document(&p);
    json_object_set_new(doc, "date_effet", json_string("2099-01-01"));
    json_object_set_new(doc, "pieces_requises",
                        json_pack("[{sssis[ss]}]", "dispositif", "DETR", "annee", 2026, "pieces",
                                  "Délibération", "Plan de financement"));
    cr_assert(parametres_json_read(doc, &back, &effet, &pieces, &errs), "%zu errors, first at %s",
              errs.count, errs.count ? errs.items[0].pointer : "");
    cr_assert_eq(memcmp(&back, &p, sizeof p), 0);
    cr_assert_eq(effet.year, 2099);
    cr_assert(json_equal(pieces, json_object_get(doc, "pieces_requises")));
    json_decref(pieces);
    /* and renders the same text */
    json_object_del(doc, "date_effet");
    json_object_del(doc, "pieces_requises");
    char *a = json_dumps(doc, JSON_COMPACT), *b = NULL;
    json_t *again = parametres_json_document(&back);
    b = json_dumps(again, JSON_COMPACT);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    json_decref(again);
    json_decref(doc);
}

Test(parametres_json, shape_errors_have_pointers)
{
    struct parametres p, back;
    struct date effet;
    json_t *pieces = NULL;
    FIELD_ERRORS(errs);
    filled(&p);
    json_t *doc = parametres_json_document(&p);
    json_object_set_new(doc, "inconnu", json_true());
    json_object_del(json_object_get(doc, "delais"), "caducite_annees");
    json_object_set_new(json_array_get(json_object_get(doc, "chef_projet"), 1), "taux_max",
                        json_real(0.75));
    json_object_set_new(json_array_get(json_object_get(doc, "dates_limites_depot"), 0),
                        "code_departement", json_string("2AB4"));
    json_object_set_new(doc, "pieces_requises",
                        json_pack("[{sssis[s]}, {sssis[s]}, {sssis[]}, {sssis[i]}]", "dispositif",
                                  "DETR", "annee", 2026, "pieces", "A", "dispositif", "DETR",
                                  "annee", 2026, "pieces", "B", "dispositif", "inconnu", "annee",
                                  2026, "pieces", "dispositif", "DSIL", "annee", 2026, "pieces",
                                  3));
    cr_assert_not(parametres_json_read(doc, &back, &effet, &pieces, &errs));
    cr_assert_null(pieces);
    static const char *const pointers[] = {"/inconnu",
                                           "/date_effet",
                                           "/delais/caducite_annees",
                                           "/chef_projet/1/taux_max",
                                           "/dates_limites_depot/0/code_departement",
                                           "/pieces_requises/1",
                                           "/pieces_requises/2/dispositif",
                                           "/pieces_requises/3/pieces/0"};
    for (size_t i = 0; i < sizeof pointers / sizeof pointers[0]; i++) {
        bool found = false;
        for (size_t j = 0; j < errs.count; j++)
            found = found || strcmp(errs.items[j].pointer, pointers[i]) == 0;
        cr_assert(found, "no error at %s", pointers[i]);
    }
    json_decref(doc);
}

Test(parametres_json, an_unknown_dispositif_and_too_many_rows_are_left_to_the_rules)
{
    struct parametres p, back;
    struct date effet;
    json_t *pieces = NULL;
    FIELD_ERRORS(errs);
    filled(&p);
    json_t *doc = parametres_json_document(&p);
    json_object_set_new(doc, "date_effet", json_string("2099-01-01"));
    json_object_set_new(json_array_get(json_object_get(doc, "dates_limites_depot"), 0),
                        "dispositif", json_string("inconnu"));
    json_object_set_new(doc, "pieces_requises", json_array());
    json_t *rows = json_object_get(doc, "chef_projet");
    while (json_array_size(rows) <= PARAMETRES_CDP_MAX)
        json_array_append(rows, json_array_get(rows, 0));
    cr_assert(parametres_json_read(doc, &back, &effet, &pieces, &errs));
    json_decref(pieces);
    cr_assert_eq(back.dates_limites[0].dispositif, SUBVENTION_DISPOSITIF__COUNT);
    cr_assert_eq(back.chef_projet_count, PARAMETRES_CDP_MAX + 1);
    struct rule_report r;
    rule_report_init(&r);
    cr_assert_gt(parametres_check(&back, &r), 0);
    cr_assert_not_null(rule_report_find(&r, "parametre-dispositif-invalide"));
    cr_assert_not_null(rule_report_find(&r, "parametres-chef-projet-vides"));
    json_decref(doc);
}
