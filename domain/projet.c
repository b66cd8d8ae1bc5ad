/* Value checks of the projet de territoire and governance (see projet.h). */
#include "projet.h"

#include <string.h>

static size_t digits(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

bool projet_decimal_is_valid(const char *s)
{
    if (!s)
        return false;
    if (*s == '-')
        s++;
    size_t whole = digits(s);
    if (whole == 0 || whole > PROJET_DECIMAL_ENTIERS)
        return false;
    s += whole;
    if (*s == '\0')
        return true;
    if (*s != '.')
        return false;
    s++;
    size_t fraction = digits(s);
    return fraction >= 1 && fraction <= PROJET_DECIMAL_FRACTION && s[fraction] == '\0';
}

size_t indicateur_dates_check(bool has_reference, struct date date_reference, bool has_cible,
                              struct date date_cible, struct rule_report *violations)
{
    if (!has_reference || !has_cible || date_compare(date_cible, date_reference) >= 0)
        return 0;
    return rule_report_add(violations, "", "date-cible-anterieure-reference", "/date_cible",
                           "La date cible d'un indicateur ne peut précéder sa date de référence.");
}

size_t indicateur_mesure_date_check(struct date date, struct date today,
                                    struct rule_report *violations)
{
    if (date_compare(date, today) <= 0)
        return 0;
    return rule_report_add(violations, "", "date-mesure-future", "/date",
                           "Une mesure ne peut être datée après aujourd'hui.");
}

size_t decision_convention_check(const char *convention_id_pvd, const char *seance_id_pvd,
                                 struct rule_report *violations)
{
    if (!convention_id_pvd)
        return rule_report_add(violations, "", "convention-inconnue", "/convention_id",
                               "Aucune convention n'a cet identifiant.");
    if (seance_id_pvd && strcmp(convention_id_pvd, seance_id_pvd) == 0)
        return 0;
    return rule_report_add(violations, "", "convention-autre-territoire", "/convention_id",
                           "La convention citée par une décision est celle du territoire du "
                           "comité (%s), non d'un autre (%s).",
                           seance_id_pvd ? seance_id_pvd : "", convention_id_pvd);
}
