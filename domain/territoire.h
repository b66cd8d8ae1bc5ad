/* The rules of a territoire PVD (domain.md §1.3, §3 R1, R2, R3, R42, §5):
 * its id_pvd, its communes-actuelles and EPCIs checked against the loaded
 * referential. Pure: no I/O, no allocation; the caller passes an indexed
 * referential (domain/referentiel.h) and borrows nothing beyond the call.
 * R43 (who may write a territoire) is authz_decide(ACTION_TERRITOIRE_WRITE)
 * on the départements this module resolves (territoire_resolved). */
#ifndef PVD_DOMAIN_TERRITOIRE_H
#define PVD_DOMAIN_TERRITOIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "referentiel.h"
#include "rules.h"

#define TERRITOIRE_MAX_COMMUNES 32
#define TERRITOIRE_MAX_EPCIS    16

/* id_pvd syntax: "pvd-<région>-<département(s)>-<n>", région 2 digits,
 * n 1 to 4 digits, 16 characters at most; the département part is one
 * département (2 digits, 2A, 2B or 3 digits: 97x) or two 2-character ones
 * joined, for the territoires the ANCT made of communes of two départements
 * ("pvd-84-3873-9": 38 and 73; "pvd-44-5455-1": 55 and 54). On success
 * writes the région and the (first) département code (NUL-terminated) and
 * returns true; false (outputs "") otherwise. */
bool territoire_id_pvd_parse(const char *id_pvd, char region[4], char departement[4]);

/* Every département an id_pvd names (1 or 2, in its order) into
 * departements; 0 (outputs "") when territoire_id_pvd_parse fails. */
size_t territoire_id_pvd_departements(const char *id_pvd, char departements[2][4]);

/* territoire_id_pvd_parse succeeds and each département it names is a real
 * département code (departement_code_is_valid), two joined ones distinct:
 * "pvd-84-00-1" and "pvd-84-3838-1" are refused. */
bool territoire_id_pvd_is_valid(const char *id_pvd);

/* What a territoire is made of, as written by a client. Strings borrowed. */
struct territoire_input {
    const char *id_pvd;          /* syntactically valid (territoire_id_pvd_parse) */
    const char *const *communes; /* INSEE codes, in the client's order */
    size_t commune_count;
    const char *const *epcis; /* SIRENs */
    size_t epci_count;
};

/* What the checks resolved: the territoire's département and région (those
 * of its id_pvd: its first département when it names two) and the distinct
 * départements / régions of its id_pvd and its communes, the id_pvd's first
 * (R43 scope: never its EPCIs'), and its communes' SIRENs (a collectivité's
 * perimeter). */
struct territoire_resolved {
    char code_departement[4];
    char code_region[4];
    char departements[TERRITOIRE_MAX_COMMUNES][4];
    size_t departement_count;
    char regions[TERRITOIRE_MAX_COMMUNES][4];
    size_t region_count;
    char sirens[TERRITOIRE_MAX_COMMUNES][10]; /* its communes' (those that have one) */
    size_t siren_count;
};

/* The EPCIs of the communes in the referential, distinct, in the communes'
 * order (the default when a client gives none). Unknown communes and
 * communes without EPCI are skipped. Writes at most max SIRENs into out;
 * returns the count. */
size_t territoire_default_epcis(const struct referentiel *ref, const char *const *communes,
                                size_t commune_count, char (*out)[10], size_t max);

/* The EPCI a commune of a lauréats file goes in when the file predates a
 * change of EPCI (a split, a merger, a commune that moved): when siren_given
 * is not empty and the commune is a commune-actuelle of the referential with
 * an EPCI that is not siren_given (siren_given unknown to the referential, or
 * the commune no longer a member of it), returns that current EPCI (pointer
 * into ref); NULL otherwise (nothing to change: the given EPCI is the
 * commune's, or the commune is unknown or has no EPCI, left to
 * territoire_check to refuse). Example: 56010 (Baud) listed in 2021 with
 * 200067221, an EPCI that has since split. */
const struct ref_epci *territoire_epci_actuel(const struct referentiel *ref, const char *code_insee,
                                              const char *siren_given);

/* Checks a territoire against the referential; appends one violation per
 * problem (pointers into the request body: /communes/<i>, /epcis/<j>,
 * /id_pvd) and the R2 warnings, and returns the number of violations.
 * - R1 "territoire-sans-commune" (/communes), "territoire-sans-epci"
 *   (/epcis); "commune-hors-epci": a commune that is not a member of one of
 *   the territoire's EPCIs in the referential.
 * - R42 "commune-inconnue": not a commune-actuelle of the loaded millésime
 *   (merged, or never existed); "epci-inconnu": a SIREN that is no EPCI of
 *   the referential.
 * - R3 "commune-hors-programme": a commune outside metropolitan France and
 *   the DROM 971, 972, 973, 974, 976.
 * - "commune-en-double" (no rule number): the same INSEE code twice;
 *   "trop-de-communes" / "trop-d-epcis" past the capacities above.
 * - "id-pvd-incoherent" (no rule number): a département the id_pvd names is
 *   none of its communes', or its région is not that département's.
 * - R2 (warnings, never violations): territoire_population_warning for each
 *   commune of population ≥ 20 000.
 * out (may be NULL) is filled as far as the communes could be resolved. */
size_t territoire_check(const struct referentiel *ref, const struct territoire_input *in,
                        struct territoire_resolved *out, struct rule_report *violations,
                        struct rule_report *warnings);

/* R3: may a commune of this département, in this zone, be a PVD commune? */
bool territoire_zone_eligible(enum ref_zone zone, const char *code_departement);

#endif
