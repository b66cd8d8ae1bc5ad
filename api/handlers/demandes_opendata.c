/* GET /api/v1/donnees-ouvertes/subventions.csv (issue #10 §3, public): the
 * subsidies granted, in the layout of the SCDL « subventions » schema
 * (schema.data.gouv.fr scdl/subventions 2.1), through api/csv_export.h
 * (BOM, `;`, CRLF, formula injection neutralised in every text cell). One
 * record per request whose effective state today is accordee, notifiee,
 * engagee or soldee (demande_export_subventions). Columns, in the schema's
 * order: nomAttribuant (the financeur, else « État » for a State
 * dispositif), idAttribuant and idBeneficiaire (the SIREN: the organisations
 * hold no SIRET — the schema asks for one; left as the SIREN, documented),
 * dateConvention (the décision's date), referenceDecision (the DS dossier
 * number, else the request's id), nomBeneficiaire, rnaBeneficiaire (empty),
 * objet, montant (euros with a decimal POINT, "25000.00": the schema's
 * number), nature (« aide en numéraire »), conditionsVersement (« unique »
 * with at most one payment, else « échelonné »), datesPeriodeVersement
 * (first_last payment dates, one date, or empty), idRAE (empty),
 * notificationUE (« non »), pourcentageSubvention (taux_accorde as a
 * fraction "0.3000", empty when not recorded), dispositifAide (the
 * dispositif). Filters: annee, departement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/identifiers.h"
#include "../csv_export.h"
#include "../query.h"
#include "demandes.h"
#include "handlers.h"
#include "programme.h"

#define SUBVENTIONS_CSV_MAX_LIGNES 50000

static const char *const header[] = {
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "rnaBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
    "dispositifAide",
    NULL,
};

/* Integer cents as euros with a decimal point ("1234.56"); amounts are ≥ 0. */
static void euros_point(int64_t cents, char out[48])
{
    snprintf(out, 48, "%lld.%02lld", (long long)(cents / 100), (long long)(cents % 100));
}

/* Ten-thousandths as a fraction with a decimal point ("0.3000", "1.0000"). */
static void fraction_point(int64_t taux, char out[48])
{
    snprintf(out, 48, "%lld.%04lld", (long long)(taux / 10000), (long long)(taux % 10000));
}

static bool write_ligne(const struct demande_subvention_ligne *l, void *ctx)
{
    struct csv_export *csv = ctx;
    char montant[48], pourcentage[48] = "", periode[32] = "";
    euros_point(l->montant_accorde, montant);
    if (l->has_taux)
        fraction_point(l->taux_accorde, pourcentage);
    if (l->premier_versement[0] && strcmp(l->premier_versement, l->dernier_versement) != 0)
        snprintf(periode, sizeof periode, "%s_%s", l->premier_versement, l->dernier_versement);
    else
        snprintf(periode, sizeof periode, "%s", l->premier_versement);
    const char *cells[] = {l->attribuant_nom,
                           l->attribuant_siren,
                           NULL, /* dateConvention: a typed date */
                           l->reference,
                           l->beneficiaire_nom,
                           l->beneficiaire_siren,
                           "",
                           l->objet,
                           montant,
                           "aide en numéraire",
                           l->versements > 1 ? "échelonné" : "unique",
                           periode,
                           "",
                           "non",
                           pourcentage,
                           l->dispositif};
    enum csv_export_status s = CSV_EXPORT_OK;
    for (size_t i = 0; s == CSV_EXPORT_OK && i < sizeof cells / sizeof cells[0]; i++)
        s = i == 2 ? csv_export_date(csv, l->date_decision) : csv_export_text(csv, cells[i]);
    if (s == CSV_EXPORT_OK)
        s = csv_export_end_row(csv);
    return s == CSV_EXPORT_OK;
}

static bool is_annee(const char *s)
{
    return s && strlen(s) == 4 && s[0] == '2' && strspn(s, "0123456789") == 4;
}

struct subventions_query {
    const char *annee, *departement;
};

static const struct query_field query_fields[] = {
    QUERY_CODE_FIELD("annee", offsetof(struct subventions_query, annee), is_annee,
                     "une année (2000 à 2999)"),
    QUERY_CODE_FIELD("departement", offsetof(struct subventions_query, departement),
                     departement_code_is_valid, "un code de département"),
    QUERY_FIELDS_END,
};

struct export_args {
    struct date today;
    const struct parametres *p;
    const struct subventions_query *q;
};

static enum db_result export_rows(struct request_ctx *ctx, void *arg, struct csv_export *csv,
                                  bool *too_many, bool *stopped, struct db_error *err)
{
    const struct export_args *a = arg;
    return demande_export_subventions(ctx->app->pool, a->today, a->q->annee, a->q->departement,
                                      SUBVENTIONS_CSV_MAX_LIGNES, write_ligne, csv, too_many,
                                      stopped, err);
}

static void respond_too_large(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    field_errors_add(&errs, "", NULL, "trop-d-elements",
                     "L'export dépasse %d subventions ou %zu Mio : restreignez-le avec les "
                     "filtres annee ou departement.",
                     SUBVENTIONS_CSV_MAX_LIGNES, CSV_EXPORT_MAX_BYTES / (1024 * 1024));
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE,
                           "Trop de subventions pour un seul export : ajoutez des filtres.", &errs);
}

void handle_export_subventions_csv(struct request_ctx *ctx)
{
    struct subventions_query q;
    if (!query_or_reply(ctx, query_fields, &q))
        return;
    struct date today;
    struct parametres p;
    if (!demande_today_parametres_or_reply(ctx, &today, &p))
        return;
    struct export_args a = {today, &p, &q};
    programme_respond_csv(ctx, header, export_rows, &a, respond_too_large, "subventions", today);
}
