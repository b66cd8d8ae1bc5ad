/* Unit tests of domain/projet: decimal strings, an indicateur's dates, a
 * mesure's date, a décision's convention. Each check is exercised on both
 * sides of its boundary so that removing it fails a test. */
#include <criterion/criterion.h>

#include "domain/projet.h"

static struct date ymd(int year, int month, int day)
{
    return (struct date){year, month, day};
}

Test(projet_decimal, accepts_decimal_strings)
{
    const char *ok[] = {"0", "12", "-3.5", "0.125", "123456789012345", "1.123456", "-0.000001"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert(projet_decimal_is_valid(ok[i]), "%s", ok[i]);
}

Test(projet_decimal, refuses_floats_and_other_shapes)
{
    const char *bad[] = {"",
                         "-",
                         "+1",
                         "1e3",
                         "1.",
                         "1,5",
                         ".5",
                         " 1",
                         "1 ",
                         "1.2.3",
                         "0x10",
                         "NaN",
                         "1234567890123456",
                         "1.1234567",
                         "--1",
                         "1.-2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(projet_decimal_is_valid(bad[i]), "%s", bad[i]);
    cr_assert_not(projet_decimal_is_valid(NULL));
}

Test(indicateur_dates, cible_before_reference_is_refused)
{
    struct rule_report r = {0};
    cr_assert_eq(indicateur_dates_check(true, ymd(2022, 1, 1), true, ymd(2021, 12, 31), &r), 1);
    cr_assert_str_eq(r.items[0].code, "date-cible-anterieure-reference");
    cr_assert_str_eq(r.items[0].pointer, "/date_cible");
}

Test(indicateur_dates, same_day_later_or_missing_dates_pass)
{
    struct rule_report r = {0};
    cr_assert_eq(indicateur_dates_check(true, ymd(2022, 1, 1), true, ymd(2022, 1, 1), &r), 0);
    cr_assert_eq(indicateur_dates_check(true, ymd(2022, 1, 1), true, ymd(2026, 12, 31), &r), 0);
    cr_assert_eq(indicateur_dates_check(false, ymd(0, 0, 0), true, ymd(2020, 1, 1), &r), 0);
    cr_assert_eq(indicateur_dates_check(true, ymd(2022, 1, 1), false, ymd(0, 0, 0), &r), 0);
    cr_assert_eq(r.count, 0);
}

Test(indicateur_mesure, future_date_is_refused_today_is_not)
{
    struct rule_report r = {0};
    cr_assert_eq(indicateur_mesure_date_check(ymd(2026, 11, 26), ymd(2026, 11, 26), &r), 0);
    cr_assert_eq(indicateur_mesure_date_check(ymd(2020, 2, 29), ymd(2026, 11, 26), &r), 0);
    cr_assert_eq(indicateur_mesure_date_check(ymd(2026, 11, 27), ymd(2026, 11, 26), &r), 1);
    cr_assert_str_eq(r.items[0].code, "date-mesure-future");
    cr_assert_str_eq(r.items[0].pointer, "/date");
}

Test(decision_convention, same_territoire_passes_others_are_refused)
{
    struct rule_report r = {0};
    cr_assert_eq(decision_convention_check("pvd-27-39-901", "pvd-27-39-901", &r), 0);
    cr_assert_eq(decision_convention_check("pvd-27-39-902", "pvd-27-39-901", &r), 1);
    cr_assert_str_eq(r.items[0].code, "convention-autre-territoire");
    cr_assert_str_eq(r.items[0].pointer, "/convention_id");
    cr_assert_eq(decision_convention_check(NULL, "pvd-27-39-901", &r), 1);
    cr_assert_str_eq(r.items[1].code, "convention-inconnue");
}
