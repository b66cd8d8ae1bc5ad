/* Unit tests of domain/convention: the state machines of domain.md §2.1 and
 * §2.2 with the caller's role, and each rule (R2, R4–R10, R40, future
 * signature dates) on a valid fixture broken in exactly one place, so that
 * removing a rule makes its test fail. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "domain/convention.h"

static struct date ymd(int year, int month, int day)
{
    return (struct date){year, month, day};
}

static struct signataire sig(enum organisation_kind kind, enum signataire_role role,
                             const char *siren, struct date deliberation, struct date signature)
{
    struct signataire s = {.kind = kind, .role = role};

    snprintf(s.siren, sizeof s.siren, "%s", siren);
    s.has_date_deliberation = deliberation.year != 0;
    s.date_deliberation = deliberation;
    s.has_date_signature = signature.year != 0;
    s.date_signature = signature;
    return s;
}

#define NONE          ymd(0, 0, 0)
#define SIREN_COMMUNE "213700441"
#define SIREN_EPCI    "200071421"
#define SIREN_BDT     "180020026"
#define TODAY         ymd(2024, 6, 1)

/* A valid ORT convention-cadre: adhésion signed 2021-08-31 (limit 2023-02-28),
 * cadre signed by everyone on or before 2023-02-28. */
struct fixture {
    struct signataire s[5];
    struct secteur_ort secteurs[2];
    struct convention_input c;
};

static void cadre_fixture(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->s[0] = sig(ORGANISATION_COMMUNE, SIGNATAIRE_VILLE_PRINCIPALE, SIREN_COMMUNE,
                  ymd(2023, 1, 10), ymd(2023, 2, 1));
    f->s[1] =
        sig(ORGANISATION_EPCI, SIGNATAIRE_EPCI, SIREN_EPCI, ymd(2023, 1, 12), ymd(2023, 2, 2));
    f->s[2] = sig(ORGANISATION_ETAT, SIGNATAIRE_ETAT, "", NONE, ymd(2023, 2, 28));
    f->s[3] = sig(ORGANISATION_OPERATEUR, SIGNATAIRE_FINANCEUR, SIREN_BDT, NONE, ymd(2023, 2, 3));
    f->s[4] = sig(ORGANISATION_REGION, SIGNATAIRE_EN_PRESENCE_DE, "200053767", NONE, NONE);
    f->secteurs[0].est_centre_ville_ville_principale = false;
    f->secteurs[1].est_centre_ville_ville_principale = true;
    f->c = (struct convention_input){
        .type = CONVENTION_CADRE,
        .signataires = f->s,
        .signataire_count = 5,
        .vaut_ort = true,
        .adhesion_etat = CONVENTION_SIGNEE,
        .adhesion_has_date_signature = true,
        .adhesion_date_signature = ymd(2021, 8, 31),
        .siren_epci = SIREN_EPCI,
        .siren_ville_principale = SIREN_COMMUNE,
        .secteurs = f->secteurs,
        .secteur_count = 2,
        .volet_habitat = VOLET_HABITAT_OPAH_RU,
        .has_section_habitat_prive = true,
    };
}

/* Runs the signature check; returns the violations, warnings in *w. */
static struct rule_report check(const struct convention_input *c, struct rule_report *w, bool *late)
{
    struct rule_report v;

    rule_report_init(&v);
    rule_report_init(w);
    convention_check_signature(c, TODAY, &v, w, late);
    return v;
}

static void assert_violation(const struct rule_report *r, const char *regle, const char *code,
                             const char *pointer)
{
    const struct rule_violation *v = rule_report_find(r, code);

    cr_assert(v, "expected %s; got %zu item(s), first %s", code, r->count,
              r->count ? r->items[0].code : "-");
    cr_assert_str_eq(v->regle, regle);
    cr_assert_str_eq(v->pointer, pointer);
    cr_assert(strlen(v->message) > 10, "a French message");
}

static void assert_only(const struct rule_report *r, const char *code)
{
    cr_assert_eq(r->count, 1, "%zu violations, expected only %s (first %s)", r->count, code,
                 r->count ? r->items[0].code : "-");
    cr_assert_str_eq(r->items[0].code, code);
}

/* ---- Names ------------------------------------------------------------- */

Test(convention, names_round_trip)
{
    for (int t = 0; t < CONVENTION_TYPE__COUNT; t++)
        for (int e = 0; e < CONVENTION_ETAT__COUNT; e++) {
            enum convention_etat out = CONVENTION_ETAT__COUNT;
            bool ok = convention_etat_parse((enum convention_type)t,
                                            convention_etat_name((enum convention_etat)e), &out);
            cr_assert_eq(ok,
                         convention_etat_applies((enum convention_type)t, (enum convention_etat)e));
            if (ok)
                cr_assert_eq(out, e);
        }
    enum convention_type t;
    cr_assert(convention_type_parse("cadre", &t) && t == CONVENTION_CADRE);
    cr_assert_not(convention_type_parse("Cadre", &t));
    cr_assert_not(convention_type_parse(NULL, &t));
    cr_assert_str_eq(convention_etat_name(CONVENTION_VALIDEE_COMITE), "validee_comite");
    cr_assert_null(convention_etat_name(CONVENTION_ETAT__COUNT));
    enum convention_etat e = CONVENTION_BROUILLON;
    cr_assert_not(convention_etat_parse(CONVENTION_CADRE, "relayee", &e), "adhésion only");
    cr_assert_not(convention_etat_parse(CONVENTION_ADHESION, "validee_comite", &e));
    cr_assert_eq(e, CONVENTION_BROUILLON, "untouched on refusal");

    enum signataire_role r;
    cr_assert(signataire_role_parse("ville_principale", &r) && r == SIGNATAIRE_VILLE_PRINCIPALE);
    cr_assert_str_eq(organisation_kind_name(ORGANISATION_DEPARTEMENT), "departement");
    enum volet_habitat vh;
    cr_assert(volet_habitat_parse("opah_ru", &vh) && vh == VOLET_HABITAT_OPAH_RU);
    enum comite_membre_kind k;
    cr_assert(comite_membre_kind_parse("prefet", &k) && k == COMITE_PREFET);
    cr_assert_null(comite_membre_kind_name(COMITE_MEMBRE_KIND__COUNT));
}

/* ---- State machines ---------------------------------------------------- */

Test(convention, adhesion_machine)
{
    enum convention_type a = CONVENTION_ADHESION;

    cr_assert(convention_transition_exists(a, CONVENTION_BROUILLON, CONVENTION_EN_SIGNATURE));
    cr_assert(convention_transition_exists(a, CONVENTION_EN_SIGNATURE, CONVENTION_SIGNEE));
    cr_assert(convention_transition_exists(a, CONVENTION_SIGNEE, CONVENTION_RELAYEE));
    cr_assert(convention_transition_exists(a, CONVENTION_SIGNEE, CONVENTION_ABANDONNEE));
    cr_assert_not(convention_transition_exists(a, CONVENTION_BROUILLON, CONVENTION_SIGNEE),
                  "no skipping the signature");
    cr_assert_not(convention_transition_exists(a, CONVENTION_RELAYEE, CONVENTION_SIGNEE));
    cr_assert_not(convention_transition_exists(a, CONVENTION_ABANDONNEE, CONVENTION_BROUILLON));
    cr_assert_not(
        convention_transition_exists(a, CONVENTION_EN_SIGNATURE, CONVENTION_VALIDEE_COMITE),
        "a cadre state");

    cr_assert(convention_transition_allowed(a, CONVENTION_BROUILLON, CONVENTION_EN_SIGNATURE,
                                            ROLE_COLLECTIVITE_AGENT));
    cr_assert_not(convention_transition_allowed(a, CONVENTION_EN_SIGNATURE, CONVENTION_SIGNEE,
                                                ROLE_COLLECTIVITE_AGENT),
                  "an agent does not sign");
    cr_assert(convention_transition_allowed(a, CONVENTION_EN_SIGNATURE, CONVENTION_SIGNEE,
                                            ROLE_PREFECTURE_INSTRUCTEUR));
    cr_assert_not(convention_transition_allowed(a, CONVENTION_SIGNEE, CONVENTION_RELAYEE,
                                                ROLE_COLLECTIVITE_ELU),
                  "automatic edge");
    cr_assert_not(convention_transition_allowed(a, CONVENTION_BROUILLON, CONVENTION_EN_SIGNATURE,
                                                ROLE_ANCT_NATIONAL));
    cr_assert_not(convention_transition_allowed(a, CONVENTION_BROUILLON, CONVENTION_EN_SIGNATURE,
                                                ROLE__COUNT));
}

Test(convention, cadre_machine)
{
    enum convention_type c = CONVENTION_CADRE;
    enum convention_etat path[] = {CONVENTION_BROUILLON, CONVENTION_EN_CONCERTATION,
                                   CONVENTION_VALIDEE_COMITE, CONVENTION_EN_SIGNATURE,
                                   CONVENTION_SIGNEE};

    for (size_t i = 0; i + 1 < sizeof path / sizeof path[0]; i++) {
        cr_assert(convention_transition_exists(c, path[i], path[i + 1]), "step %zu", i);
        cr_assert(convention_transition_allowed(c, path[i], path[i + 1], ROLE_COLLECTIVITE_ELU),
                  "an élu walks step %zu", i);
    }
    cr_assert_not(
        convention_transition_exists(c, CONVENTION_EN_CONCERTATION, CONVENTION_EN_SIGNATURE),
        "no signature before the comité validates");
    cr_assert_not(convention_transition_allowed(c, CONVENTION_EN_CONCERTATION,
                                                CONVENTION_VALIDEE_COMITE, ROLE_COLLECTIVITE_AGENT),
                  "validation is an élu's act");
    cr_assert(convention_transition_exists(c, CONVENTION_SIGNEE, CONVENTION_ECHUE));
    cr_assert_not(convention_transition_allowed(c, CONVENTION_SIGNEE, CONVENTION_ECHUE,
                                                ROLE_PREFECTURE_INSTRUCTEUR),
                  "automatic at date_fin");
    cr_assert(convention_transition_allowed(c, CONVENTION_SIGNEE, CONVENTION_RESILIEE,
                                            ROLE_PREFECTURE_INSTRUCTEUR));
    cr_assert_not(convention_transition_exists(c, CONVENTION_SIGNEE, CONVENTION_RELAYEE));
}

Test(convention, transitions_possibles)
{
    enum convention_etat out[CONVENTION_ETAT__COUNT];
    size_t n;

    n = convention_transitions_possibles(CONVENTION_ADHESION, CONVENTION_EN_SIGNATURE,
                                         ROLE_COLLECTIVITE_ELU, out, CONVENTION_ETAT__COUNT);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0], CONVENTION_SIGNEE);
    cr_assert_eq(out[1], CONVENTION_ABANDONNEE);
    n = convention_transitions_possibles(CONVENTION_ADHESION, CONVENTION_EN_SIGNATURE,
                                         ROLE_COLLECTIVITE_AGENT, out, CONVENTION_ETAT__COUNT);
    cr_assert_eq(n, 0);
    n = convention_transitions_possibles(CONVENTION_ADHESION, CONVENTION_SIGNEE,
                                         ROLE_PREFECTURE_INSTRUCTEUR, out, 1);
    cr_assert_eq(n, 1, "relayee is automatic: only abandonnee");
    cr_assert_eq(out[0], CONVENTION_ABANDONNEE);
    n = convention_transitions_possibles(CONVENTION_CADRE, CONVENTION_BROUILLON,
                                         ROLE_COLLECTIVITE_AGENT, NULL, 0);
    cr_assert_eq(n, 1, "the count even without room");
    n = convention_transitions_possibles(CONVENTION_CADRE, CONVENTION_ECHUE, ROLE_COLLECTIVITE_ELU,
                                         out, CONVENTION_ETAT__COUNT);
    cr_assert_eq(n, 0, "terminal");
}

Test(convention, signataire_may_sign)
{
    cr_assert(signataire_may_sign(ROLE_COLLECTIVITE_ELU, ORGANISATION_COMMUNE));
    cr_assert_not(signataire_may_sign(ROLE_COLLECTIVITE_AGENT, ORGANISATION_COMMUNE));
    cr_assert_not(signataire_may_sign(ROLE_PREFECTURE_INSTRUCTEUR, ORGANISATION_EPCI));
    cr_assert(signataire_may_sign(ROLE_PREFECTURE_INSTRUCTEUR, ORGANISATION_ETAT));
    cr_assert(signataire_may_sign(ROLE_PREFECTURE_REGION, ORGANISATION_ETAT));
    cr_assert_not(signataire_may_sign(ROLE_COLLECTIVITE_ELU, ORGANISATION_ETAT));
    cr_assert_not(signataire_may_sign(ROLE_ANCT_NATIONAL, ORGANISATION_ETAT));
    cr_assert(signataire_may_sign(ROLE_FINANCEUR, ORGANISATION_OPERATEUR));
    cr_assert_not(signataire_may_sign(ROLE_COLLECTIVITE_ELU, ORGANISATION_KIND__COUNT));
}

/* ---- The valid fixture ------------------------------------------------- */

Test(convention, valid_cadre_passes_on_the_limit_day)
{
    struct fixture f;
    struct rule_report w;
    bool late = true;

    cadre_fixture(&f);
    struct rule_report v = check(&f.c, &w, &late);
    cr_assert_eq(v.count, 0, "first: %s", v.count ? v.items[0].code : "-");
    cr_assert_eq(w.count, 0, "signed on 2023-02-28, the limit day: on time");
    cr_assert_not(late);
    struct date d;
    cr_assert(convention_date_signature(f.s, 5, &d));
    cr_assert_eq(date_compare(d, ymd(2023, 2, 28)), 0, "the last signature");
}

/* ---- R4 ---------------------------------------------------------------- */

Test(convention, r4_date_limite)
{
    struct date l = convention_r4_date_limite(ymd(2021, 8, 31));
    cr_assert_eq(date_compare(l, ymd(2023, 2, 28)), 0, "clamped to the month's end");
    l = convention_r4_date_limite(ymd(2022, 8, 31));
    cr_assert_eq(date_compare(l, ymd(2024, 2, 29)), 0, "leap year");
    l = convention_r4_date_limite(ymd(2021, 3, 15));
    cr_assert_eq(date_compare(l, ymd(2022, 9, 15)), 0);
}

Test(convention, r4_en_retard_flag)
{
    struct date a = ymd(2021, 8, 31);

    cr_assert_not(convention_r4_en_retard(a, true, ymd(2023, 2, 28), ymd(2025, 1, 1)));
    cr_assert(convention_r4_en_retard(a, true, ymd(2023, 3, 1), ymd(2023, 3, 1)));
    cr_assert_not(convention_r4_en_retard(a, false, NONE, ymd(2023, 2, 28)), "not yet late");
    cr_assert(convention_r4_en_retard(a, false, NONE, ymd(2023, 3, 1)), "unsigned and late");
}

Test(convention, r4_late_cadre_is_warned_not_blocked)
{
    struct fixture f;
    struct rule_report w;
    bool late = false;

    cadre_fixture(&f);
    f.s[2].date_signature = ymd(2023, 3, 1);
    struct rule_report v = check(&f.c, &w, &late);
    cr_assert_eq(v.count, 0, "R4 never blocks");
    cr_assert(late);
    assert_violation(&w, "R4", "convention-cadre-en-retard", "/date_signature");
    cr_assert(strstr(w.items[0].message, "2023-02-28"), "%s", w.items[0].message);
}

Test(convention, r4_adhesion_signee_past_limit_is_warned_at_read_time)
{
    struct rule_report w;
    struct date a = ymd(2021, 8, 31);

    rule_report_init(&w);
    cr_assert_not(convention_r4_adhesion_warning(CONVENTION_ADHESION, CONVENTION_SIGNEE, true, a,
                                                 ymd(2023, 2, 28), &w),
                  "the limit day itself is on time");
    cr_assert_eq(w.count, 0);
    cr_assert_not(convention_r4_adhesion_warning(CONVENTION_ADHESION, CONVENTION_RELAYEE, true, a,
                                                 ymd(2024, 1, 1), &w),
                  "relayee: its cadre is signed");
    cr_assert_not(convention_r4_adhesion_warning(CONVENTION_CADRE, CONVENTION_SIGNEE, true, a,
                                                 ymd(2024, 1, 1), &w));
    cr_assert_not(convention_r4_adhesion_warning(CONVENTION_ADHESION, CONVENTION_SIGNEE, false, a,
                                                 ymd(2024, 1, 1), &w));
    cr_assert_eq(w.count, 0);
    cr_assert(convention_r4_adhesion_warning(CONVENTION_ADHESION, CONVENTION_SIGNEE, true, a,
                                             ymd(2023, 3, 1), &w));
    assert_violation(&w, "R4", "convention-cadre-non-signee-a-temps",
                     "/date_limite_convention_cadre");
    cr_assert(strstr(w.items[0].message, "2023-02-28"), "%s", w.items[0].message);
}

/* ---- R5 ---------------------------------------------------------------- */

Test(convention, r5_adhesion_not_signed_blocks)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.c.adhesion_etat = CONVENTION_EN_SIGNATURE;
    struct rule_report v = check(&f.c, &w, NULL);
    assert_only(&v, "convention-adhesion-non-signee");
    assert_violation(&v, "R5", "convention-adhesion-non-signee", "/adhesion_id");

    f.c.adhesion_etat = CONVENTION_RELAYEE;
    v = check(&f.c, &w, NULL);
    cr_assert_eq(v.count, 0, "a relayed adhésion was signed");
}

Test(convention, r5_signature_before_adhesion_blocks)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.s[1].date_deliberation = ymd(2021, 6, 1);
    f.s[1].date_signature = ymd(2021, 8, 30);
    struct rule_report v = check(&f.c, &w, NULL);
    assert_only(&v, "signature-anterieure-adhesion");
    assert_violation(&v, "R5", "signature-anterieure-adhesion", "/signataires/1/date_signature");
}

/* ---- R6 ---------------------------------------------------------------- */

Test(convention, r6_ort_needs_state_epci_ville_principale)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.s[2].role = SIGNATAIRE_PARTENAIRE;
    f.s[2].kind = ORGANISATION_OPERATEUR;
    struct rule_report v = check(&f.c, &w, NULL);
    assert_only(&v, "signataire-etat-manquant");
    assert_violation(&v, "R6", "signataire-etat-manquant", "/signataires");

    cadre_fixture(&f);
    f.s[0].role = SIGNATAIRE_BENEFICIAIRE;
    v = check(&f.c, &w, NULL);
    assert_only(&v, "signataire-ville-principale-manquant");

    cadre_fixture(&f);
    snprintf(f.s[1].siren, sizeof f.s[1].siren, "%s", "200000172");
    v = check(&f.c, &w, NULL);
    assert_only(&v, "signataire-epci-manquant");
    cr_assert(strstr(v.items[0].message, SIREN_EPCI), "names the expected EPCI");

    f.c.vaut_ort = false;
    v = check(&f.c, &w, NULL);
    cr_assert_eq(v.count, 0, "not ORT: R6 and R7 do not apply");
}

Test(convention, r6_collects_every_missing_signatory)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.c.signataires = &f.s[3]; /* the financeur and the "en présence de" only */
    f.c.signataire_count = 2;
    struct rule_report v = check(&f.c, &w, NULL);
    cr_assert_eq(v.count, 3);
    cr_assert(rule_report_find(&v, "signataire-etat-manquant"));
    cr_assert(rule_report_find(&v, "signataire-epci-manquant"));
    cr_assert(rule_report_find(&v, "signataire-ville-principale-manquant"));

    /* Roles only, when the referential names no ville principale. */
    f.c.siren_epci = NULL;
    f.c.siren_ville_principale = NULL;
    v = check(&f.c, &w, NULL);
    cr_assert_eq(v.count, 3);
    cr_assert(rule_report_find(&v, "signataire-ville-principale-manquant"));
}

/* ---- R7 ---------------------------------------------------------------- */

Test(convention, r7_secteurs)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.secteurs[1].est_centre_ville_ville_principale = false;
    struct rule_report v = check(&f.c, &w, NULL);
    assert_only(&v, "secteur-centre-ville-manquant");
    assert_violation(&v, "R7", "secteur-centre-ville-manquant", "/secteurs_intervention");

    f.c.secteur_count = 0;
    v = check(&f.c, &w, NULL);
    assert_only(&v, "secteur-intervention-manquant");
}

/* ---- R8 ---------------------------------------------------------------- */

Test(convention, r8_deliberation)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.s[1].has_date_deliberation = false;
    struct rule_report v = check(&f.c, &w, NULL);
    assert_only(&v, "deliberation-manquante");
    assert_violation(&v, "R8", "deliberation-manquante", "/signataires/1/date_deliberation");

    cadre_fixture(&f);
    f.s[0].date_deliberation = ymd(2023, 2, 2); /* the day after its signature */
    v = check(&f.c, &w, NULL);
    assert_only(&v, "deliberation-posterieure-signature");
    assert_violation(&v, "R8", "deliberation-posterieure-signature",
                     "/signataires/0/date_deliberation");

    cadre_fixture(&f);
    f.s[0].date_deliberation = f.s[0].date_signature;
    v = check(&f.c, &w, NULL);
    cr_assert_eq(v.count, 0, "the same day is allowed");
}

Test(convention, r8_adhesion_too)
{
    struct signataire s[] = {
        sig(ORGANISATION_COMMUNE, SIGNATAIRE_BENEFICIAIRE, SIREN_COMMUNE, NONE, ymd(2021, 5, 3)),
        sig(ORGANISATION_ETAT, SIGNATAIRE_ETAT, "", NONE, ymd(2021, 5, 4)),
    };
    struct convention_input c = {
        .type = CONVENTION_ADHESION, .signataires = s, .signataire_count = 2};
    struct rule_report w;
    struct rule_report v = check(&c, &w, NULL);

    assert_only(&v, "deliberation-manquante");
    cr_assert_eq(w.count, 0);
}

/* ---- R10 --------------------------------------------------------------- */

Test(convention, r10_opah_needs_habitat_prive)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.c.has_section_habitat_prive = false;
    struct rule_report v = check(&f.c, &w, NULL);
    assert_only(&v, "section-habitat-prive-manquante");
    assert_violation(&v, "R10", "section-habitat-prive-manquante", "/section_habitat_prive");
    cr_assert(strstr(v.items[0].message, "OPAH-RU"));

    f.c.volet_habitat = VOLET_HABITAT_AUCUN;
    v = check(&f.c, &w, NULL);
    cr_assert_eq(v.count, 0, "no volet, no section needed");
}

/* ---- Signature completeness and future dates ---------------------------- */

Test(convention, future_signature_refused)
{
    struct fixture f;
    struct rule_report v;

    cadre_fixture(&f);
    rule_report_init(&v);
    cr_assert_eq(convention_dates_futures_check(&f.c, ymd(2023, 2, 28), &v), 0, "today is fine");
    cr_assert_eq(convention_dates_futures_check(&f.c, ymd(2023, 2, 27), &v), 1);
    assert_violation(&v, "", "date-signature-future", "/signataires/2/date_signature");
}

Test(convention, missing_signature_blocks_signee)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.s[3].has_date_signature = false;
    struct rule_report v = check(&f.c, &w, NULL);
    assert_only(&v, "signature-manquante");
    assert_violation(&v, "", "signature-manquante", "/signataires/3/date_signature");

    f.c.signataire_count = 0;
    v = check(&f.c, &w, NULL);
    cr_assert(rule_report_find(&v, "signataires-manquants"));
}

Test(convention, every_violation_collected)
{
    struct fixture f;
    struct rule_report w;

    cadre_fixture(&f);
    f.c.adhesion_etat = CONVENTION_BROUILLON;                /* R5 */
    f.s[0].has_date_deliberation = false;                    /* R8 */
    f.secteurs[1].est_centre_ville_ville_principale = false; /* R7 */
    f.c.has_section_habitat_prive = false;                   /* R10 */
    f.s[2].date_signature = ymd(2030, 1, 1);                 /* future, R4 */
    bool late = false;
    struct rule_report v = check(&f.c, &w, &late);
    cr_assert_eq(v.count, 5, "got %zu", v.count);
    cr_assert(late);
}

Test(convention, report_capacity)
{
    struct rule_report v;
    struct signataire s[RULE_REPORT_MAX + 3];

    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        s[i] = sig(ORGANISATION_COMMUNE, SIGNATAIRE_BENEFICIAIRE, SIREN_COMMUNE, NONE, NONE);
    struct convention_input c = {
        .type = CONVENTION_ADHESION, .signataires = s, .signataire_count = sizeof s / sizeof s[0]};
    rule_report_init(&v);
    cr_assert_eq(convention_r8_check(&c, &v), RULE_REPORT_MAX + 3);
    cr_assert_eq(v.count, RULE_REPORT_MAX);
    cr_assert_eq(v.dropped, 3);
    cr_assert(rule_report_any(&v));
    cr_assert_str_eq(v.items[RULE_REPORT_MAX - 1].pointer, "/signataires/31/date_deliberation");
}

/* ---- R9 ---------------------------------------------------------------- */

Test(convention, r9_axes_and_indicators)
{
    struct rule_report v;
    struct axe_strategique axes[] = {{2}, {0}, {1}};

    rule_report_init(&v);
    cr_assert_eq(convention_r9_check(axes, 1, &v), 0);
    cr_assert_eq(convention_r9_check(axes, 3, &v), 1);
    assert_violation(&v, "R9", "indicateur-manquant", "/axes_strategiques/1/indicateurs");
    rule_report_init(&v);
    cr_assert_eq(convention_r9_check(NULL, 0, &v), 1);
    assert_violation(&v, "R9", "axe-strategique-manquant", "/axes_strategiques");
}

/* ---- R40 --------------------------------------------------------------- */

static struct comite_membre membre(enum comite_membre_kind kind, const char *siren)
{
    struct comite_membre m = {.kind = kind};

    snprintf(m.siren, sizeof m.siren, "%s", siren);
    return m;
}

Test(convention, r40_comite_composition)
{
    const char *communes[] = {SIREN_COMMUNE};
    const char *epcis[] = {SIREN_EPCI};
    struct signataire adhesion[] = {
        sig(ORGANISATION_COMMUNE, SIGNATAIRE_BENEFICIAIRE, SIREN_COMMUNE, NONE, NONE),
        sig(ORGANISATION_EPCI, SIGNATAIRE_EPCI, SIREN_EPCI, NONE, NONE),
        sig(ORGANISATION_ETAT, SIGNATAIRE_ETAT, "", NONE, NONE),
        sig(ORGANISATION_OPERATEUR, SIGNATAIRE_FINANCEUR, SIREN_BDT, NONE, NONE),
    };
    struct comite_exigences e = {communes, 1, epcis, 1, adhesion, 4};
    struct comite_membre m[] = {
        membre(COMITE_EXECUTIF_COMMUNE, SIREN_COMMUNE), membre(COMITE_EXECUTIF_EPCI, SIREN_EPCI),
        membre(COMITE_CHEF_PROJET, SIREN_EPCI),         membre(COMITE_PREFET, ""),
        membre(COMITE_PARTENAIRE, SIREN_BDT),
    };
    struct rule_report v;

    rule_report_init(&v);
    cr_assert_eq(comite_r40_check(m, 5, &e, &v), 0, "first: %s", v.count ? v.items[0].code : "-");
    cr_assert_eq(comite_r40_check(m, 4, &e, &v), 1, "Banque des Territoires signed");
    assert_violation(&v, "R40", "signataire-adhesion-manquant", "/membres");

    const char *codes[] = {"executif-commune-manquant", "executif-epci-manquant",
                           "chef-projet-manquant", "prefet-manquant"};
    for (size_t drop = 0; drop < 4; drop++) {
        struct comite_membre k[5];
        size_t n = 0;
        for (size_t i = 0; i < 5; i++)
            if (i != drop)
                k[n++] = m[i];
        rule_report_init(&v);
        comite_r40_check(k, n, &e, &v);
        assert_only(&v, codes[drop]);
        assert_violation(&v, "R40", codes[drop], "/membres");
    }

    rule_report_init(&v);
    cr_assert_eq(comite_r40_check(NULL, 0, &e, &v), 5, "everything missing, all reported");
}

/* ---- R2 ---------------------------------------------------------------- */

Test(convention, r2_population_warning)
{
    struct rule_report w;

    rule_report_init(&w);
    cr_assert_not(territoire_population_warning(19999, "37261", 0, &w));
    cr_assert_not(territoire_population_warning(-1, "37261", 0, &w), "unknown");
    cr_assert_eq(w.count, 0);
    cr_assert(territoire_population_warning(20000, "85047", 2, &w));
    assert_violation(&w, "R2", "population-superieure-seuil", "/communes/2");
    cr_assert(strstr(w.items[0].message, "85047"));
}

Test(convention, signataire_represented_by_its_own_perimeter)
{
    struct authz_principal elu, financeur, prefecture, agent;
    memset(&elu, 0, sizeof elu);
    elu.role = ROLE_COLLECTIVITE_ELU;
    snprintf(elu.perimeter.sirens[0], sizeof elu.perimeter.sirens[0], "217100700");
    elu.perimeter.siren_count = 1;
    cr_assert(signataire_represented_by(&elu, "217100700", "pvd-27-71-901"));
    cr_assert_not(signataire_represented_by(&elu, "247104094", "pvd-27-71-901"),
                  "an élu of the commune does not sign for its EPCI");
    snprintf(elu.perimeter.territoires[0], sizeof elu.perimeter.territoires[0], "pvd-27-71-901");
    elu.perimeter.territoire_count = 1;
    cr_assert(signataire_represented_by(&elu, "247104094", "pvd-27-71-901"),
              "an élu of the territoire signs for its collectivités");
    cr_assert_not(signataire_represented_by(&elu, "247104094", "pvd-27-71-902"));
    financeur = elu;
    financeur.role = ROLE_FINANCEUR;
    cr_assert(signataire_represented_by(&financeur, "217100700", "pvd-27-71-902"));
    cr_assert_not(signataire_represented_by(&financeur, "247104094", "pvd-27-71-901"),
                  "a financeur signs for its own SIREN only");
    memset(&prefecture, 0, sizeof prefecture);
    prefecture.role = ROLE_PREFECTURE_INSTRUCTEUR;
    cr_assert(signataire_represented_by(&prefecture, "", "pvd-27-71-901"));
    agent = elu;
    agent.role = ROLE_COLLECTIVITE_AGENT;
    cr_assert_not(signataire_represented_by(&agent, "217100700", "pvd-27-71-901"));
    cr_assert_not(signataire_represented_by(NULL, "217100700", "pvd-27-71-901"));
}

Test(convention, r9_locked_from_validee_comite_until_the_end)
{
    cr_assert_not(convention_r9_verrouille(CONVENTION_BROUILLON));
    cr_assert_not(convention_r9_verrouille(CONVENTION_EN_CONCERTATION));
    cr_assert(convention_r9_verrouille(CONVENTION_VALIDEE_COMITE));
    cr_assert(convention_r9_verrouille(CONVENTION_EN_SIGNATURE));
    cr_assert(convention_r9_verrouille(CONVENTION_SIGNEE));
    cr_assert_not(convention_r9_verrouille(CONVENTION_ECHUE));
    cr_assert_not(convention_r9_verrouille(CONVENTION_RESILIEE));
}

Test(convention, a_signed_cadre_expires_the_day_after_its_date_fin)
{
    struct date fin = {2026, 3, 31};
    cr_assert_not(
        convention_echue(CONVENTION_CADRE, CONVENTION_SIGNEE, fin, (struct date){2026, 3, 31}),
        "en vigueur on its last day");
    cr_assert(
        convention_echue(CONVENTION_CADRE, CONVENTION_SIGNEE, fin, (struct date){2026, 4, 1}));
    cr_assert_not(
        convention_echue(CONVENTION_CADRE, CONVENTION_EN_SIGNATURE, fin, (struct date){2027, 1, 1}),
        "only a signed cadre");
    cr_assert_not(
        convention_echue(CONVENTION_ADHESION, CONVENTION_SIGNEE, fin, (struct date){2027, 1, 1}),
        "an adhésion has no date_fin edge");
    cr_assert(convention_transition_exists(CONVENTION_CADRE, CONVENTION_SIGNEE, CONVENTION_ECHUE));
}
