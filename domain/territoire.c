/* Rules of a territoire PVD (see territoire.h). */
#include "territoire.h"

#include <stdio.h>
#include <string.h>

#include "convention.h"
#include "identifiers.h"

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool departement_part(const char *d, size_t dlen)
{
    bool corse = dlen == 2 && d[0] == '2' && (d[1] == 'A' || d[1] == 'B');
    return corse || ((dlen == 2 || dlen == 3) && all_digits(d, dlen));
}

size_t territoire_id_pvd_departements(const char *id_pvd, char departements[2][4])
{
    departements[0][0] = departements[1][0] = '\0';
    if (!id_pvd || strlen(id_pvd) > 16 || strncmp(id_pvd, "pvd-", 4) != 0)
        return 0;
    const char *r = id_pvd + 4;
    const char *d = strchr(r, '-');
    if (!d || d - r != 2 || !all_digits(r, 2))
        return 0;
    d++;
    const char *n = strchr(d, '-');
    if (!n)
        return 0;
    size_t dlen = (size_t)(n - d), count;
    if (departement_part(d, dlen))
        count = 1;
    else if (dlen == 4 && departement_part(d, 2) && departement_part(d + 2, 2))
        count = 2, dlen = 2;
    else
        return 0;
    n++;
    size_t nlen = strlen(n);
    if (nlen < 1 || nlen > 4 || !all_digits(n, nlen))
        return 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(departements[i], d + i * dlen, dlen);
        departements[i][dlen] = '\0';
    }
    return count;
}

bool territoire_id_pvd_parse(const char *id_pvd, char region[4], char departement[4])
{
    char deps[2][4];
    region[0] = departement[0] = '\0';
    if (territoire_id_pvd_departements(id_pvd, deps) == 0)
        return false;
    memcpy(region, id_pvd + 4, 2);
    region[2] = '\0';
    memcpy(departement, deps[0], 4);
    return true;
}

bool territoire_id_pvd_is_valid(const char *id_pvd)
{
    char deps[2][4];
    size_t n = territoire_id_pvd_departements(id_pvd, deps);
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!departement_code_is_valid(deps[i]))
            return false;
    return n == 1 || strcmp(deps[0], deps[1]) != 0;
}

bool territoire_zone_eligible(enum ref_zone zone, const char *code_departement)
{
    static const char *const drom[] = {"971", "972", "973", "974", "976"};
    if (zone == REF_ZONE_METRO)
        return true;
    if (zone != REF_ZONE_DROM || !code_departement)
        return false;
    for (size_t i = 0; i < sizeof drom / sizeof drom[0]; i++)
        if (strcmp(code_departement, drom[i]) == 0)
            return true;
    return false;
}

size_t territoire_default_epcis(const struct referentiel *ref, const char *const *communes,
                                size_t commune_count, char (*out)[10], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < commune_count; i++) {
        const struct ref_commune *c =
            communes[i] ? referentiel_find_commune(ref, communes[i]) : NULL;
        if (!c || c->epci < 0)
            continue;
        const char *siren = ref->epcis[c->epci].siren;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(out[j], siren) == 0;
        if (!seen && n < max)
            snprintf(out[n++], 10, "%s", siren);
    }
    return n;
}

const struct ref_epci *territoire_epci_actuel(const struct referentiel *ref, const char *code_insee,
                                              const char *siren_given)
{
    if (!code_insee || !siren_given || !siren_given[0])
        return NULL;
    const struct ref_commune *c = referentiel_find_commune(ref, code_insee);
    if (!c || c->epci < 0)
        return NULL;
    const struct ref_epci *e = &ref->epcis[c->epci];
    return strcmp(e->siren, siren_given) == 0 ? NULL : e;
}

static void add_code(char (*list)[4], size_t *count, const char *code)
{
    if (!code || !code[0] || *count >= TERRITOIRE_MAX_COMMUNES)
        return;
    for (size_t i = 0; i < *count; i++)
        if (strcmp(list[i], code) == 0)
            return;
    snprintf(list[(*count)++], 4, "%s", code);
}

size_t territoire_check(const struct referentiel *ref, const struct territoire_input *in,
                        struct territoire_resolved *out, struct rule_report *violations,
                        struct rule_report *warnings)
{
    struct territoire_resolved local;
    struct territoire_resolved *res = out ? out : &local;
    char p[96];
    size_t n = 0;

    memset(res, 0, sizeof *res);
    territoire_id_pvd_parse(in->id_pvd, res->code_region, res->code_departement);
    char named[2][4];
    size_t named_count = territoire_id_pvd_departements(in->id_pvd, named);
    bool named_seen[2] = {false, false};
    for (size_t k = 0; k < named_count; k++)
        add_code(res->departements, &res->departement_count, named[k]);
    add_code(res->regions, &res->region_count, res->code_region);

    /* R1: at least one commune and one EPCI. */
    if (in->commune_count == 0)
        n += rule_report_add(violations, "R1", "territoire-sans-commune", "/communes",
                             "Un territoire PVD compte au moins une commune.");
    if (in->epci_count == 0)
        n += rule_report_add(violations, "R1", "territoire-sans-epci", "/epcis",
                             "Un territoire PVD compte au moins un EPCI (aucun trouvé pour ses "
                             "communes dans le référentiel).");
    if (in->commune_count > TERRITOIRE_MAX_COMMUNES)
        n += rule_report_add(violations, "", "trop-de-communes", "/communes",
                             "Un territoire PVD compte au plus %d communes.",
                             TERRITOIRE_MAX_COMMUNES);
    if (in->epci_count > TERRITOIRE_MAX_EPCIS)
        n += rule_report_add(violations, "", "trop-d-epcis", "/epcis",
                             "Un territoire PVD compte au plus %d EPCI.", TERRITOIRE_MAX_EPCIS);

    /* R42: the EPCIs exist. */
    const struct ref_epci *epcis[TERRITOIRE_MAX_EPCIS];
    size_t epci_known = 0;
    for (size_t j = 0; j < in->epci_count && j < TERRITOIRE_MAX_EPCIS; j++) {
        const struct ref_epci *e = in->epcis[j] ? referentiel_find_epci(ref, in->epcis[j]) : NULL;
        snprintf(p, sizeof p, "/epcis/%zu", j);
        if (!e) {
            n += rule_report_add(violations, "R42", "epci-inconnu", p,
                                 "Le SIREN %.9s n'est celui d'aucun EPCI du référentiel %d.",
                                 in->epcis[j] ? in->epcis[j] : "", ref->millesime);
            continue;
        }
        epcis[epci_known++] = e;
    }

    bool unresolved = false;
    for (size_t i = 0; i < in->commune_count && i < TERRITOIRE_MAX_COMMUNES; i++) {
        const char *code = in->communes[i] ? in->communes[i] : "";
        snprintf(p, sizeof p, "/communes/%zu", i);
        bool duplicate = false;
        for (size_t k = 0; k < i && !duplicate; k++)
            duplicate = in->communes[k] && strcmp(in->communes[k], code) == 0;
        if (duplicate) {
            n += rule_report_add(violations, "", "commune-en-double", p,
                                 "La commune %.5s figure deux fois dans le territoire.", code);
            continue;
        }
        /* R42: a commune-actuelle of the loaded millésime. */
        const struct ref_commune *c = referentiel_find_commune(ref, code);
        if (!c) {
            n += rule_report_add(violations, "R42", "commune-inconnue", p,
                                 "La commune %.5s n'existe pas dans le référentiel %d "
                                 "(fusionnée ou code erroné ?).",
                                 code, ref->millesime);
            unresolved = true;
            continue;
        }
        /* R3: metropolitan France and the DROM only. */
        if (!territoire_zone_eligible(c->zone, c->code_departement)) {
            n += rule_report_add(violations, "R3", "commune-hors-programme", p,
                                 "La commune %.5s (%s) n'est ni en métropole ni dans un DROM "
                                 "(971, 972, 973, 974, 976) : elle ne peut pas être lauréate.",
                                 code, c->nom);
            unresolved = true;
            continue;
        }
        add_code(res->departements, &res->departement_count, c->code_departement);
        add_code(res->regions, &res->region_count, c->code_region);
        if (c->siren[0] && res->siren_count < TERRITOIRE_MAX_COMMUNES)
            snprintf(res->sirens[res->siren_count++], 10, "%s", c->siren);
        size_t named_index = named_count;
        for (size_t k = 0; k < named_count; k++)
            if (strcmp(c->code_departement, named[k]) == 0)
                named_index = k;
        if (named_index < named_count) {
            named_seen[named_index] = true;
            if (strcmp(c->code_region, res->code_region) != 0)
                n += rule_report_add(violations, "", "id-pvd-incoherent", "/id_pvd",
                                     "L'identifiant %s annonce la région %s, mais le département "
                                     "%s est dans la région %s.",
                                     in->id_pvd, res->code_region, c->code_departement,
                                     c->code_region);
        }
        /* R1: member of one of the territoire's EPCIs. */
        bool member = false;
        for (size_t j = 0; j < epci_known && !member; j++)
            member = c->epci >= 0 && &ref->epcis[c->epci] == epcis[j];
        if (!member && epci_known == in->epci_count && in->epci_count > 0)
            n += rule_report_add(violations, "R1", "commune-hors-epci", p,
                                 "La commune %.5s (%s) n'est membre d'aucun EPCI du territoire "
                                 "dans le référentiel %d%s%s.",
                                 code, c->nom, ref->millesime,
                                 c->epci >= 0 ? " : son EPCI est " : "",
                                 c->epci >= 0 ? ref->epcis[c->epci].siren : "");
        /* R2: a warning, never a refusal. */
        territoire_population_warning(c->population, code, i, warnings);
    }
    for (size_t k = 0; k < named_count; k++)
        if (!named_seen[k] && !unresolved && in->commune_count > 0)
            n += rule_report_add(violations, "", "id-pvd-incoherent", "/id_pvd",
                                 "L'identifiant %s annonce le département %s, qui n'est celui "
                                 "d'aucune de ses communes.",
                                 in->id_pvd ? in->id_pvd : "", named[k]);
    return n;
}
