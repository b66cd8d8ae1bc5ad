/* Unit tests of domain/date: strict YYYY-MM-DD parsing of real calendar
 * dates (1900..2999), formatting, comparison and calendar-month arithmetic
 * with the day clamped to the month's end. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "domain/date.h"

static struct date ymd(int year, int month, int day)
{
    return (struct date){year, month, day};
}

static void assert_date_eq(struct date actual, struct date expected, const char *what)
{
    cr_assert(actual.year == expected.year && actual.month == expected.month &&
                  actual.day == expected.day,
              "%s: got %04d-%02d-%02d, expected %04d-%02d-%02d", what, actual.year, actual.month,
              actual.day, expected.year, expected.month, expected.day);
}

static void assert_parses(const char *text, struct date expected)
{
    struct date d = {0, 0, 0};

    cr_assert(date_parse(text, &d), "\"%s\" refused", text);
    assert_date_eq(d, expected, text);
}

static void assert_refused(const char *text)
{
    struct date d = {1, 2, 3};

    cr_assert_not(date_parse(text, &d), "\"%s\" accepted", text ? text : "(null)");
    assert_date_eq(d, ymd(1, 2, 3), "a refused text leaves the output alone");
}

static void assert_adds(struct date from, int months, struct date expected)
{
    char what[64];

    snprintf(what, sizeof what, "%04d-%02d-%02d %+d months", from.year, from.month, from.day,
             months);
    assert_date_eq(date_add_months(from, months), expected, what);
}

Test(date, leap_years)
{
    cr_assert(date_is_leap_year(2024));
    cr_assert(date_is_leap_year(2000), "divisible by 400");
    cr_assert(date_is_leap_year(2400));
    cr_assert_not(date_is_leap_year(2023));
    cr_assert_not(date_is_leap_year(1900), "divisible by 100, not by 400");
    cr_assert_not(date_is_leap_year(2100));
    cr_assert_not(date_is_leap_year(2200));
}

Test(date, days_in_month)
{
    static const int common[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    for (int m = 1; m <= 12; m++) {
        cr_assert_eq(date_days_in_month(2023, m), common[m - 1], "2023-%02d", m);
        cr_assert_eq(date_days_in_month(2024, m), m == 2 ? 29 : common[m - 1], "2024-%02d", m);
    }
    cr_assert_eq(date_days_in_month(1900, 2), 28);
    cr_assert_eq(date_days_in_month(2000, 2), 29);
    cr_assert_eq(date_days_in_month(2023, 0), 0);
    cr_assert_eq(date_days_in_month(2023, 13), 0);
    cr_assert_eq(date_days_in_month(2023, -1), 0);
}

Test(date, validity)
{
    cr_assert(date_is_valid(ymd(1900, 1, 1)));
    cr_assert(date_is_valid(ymd(2999, 12, 31)));
    cr_assert(date_is_valid(ymd(2024, 2, 29)));
    cr_assert_not(date_is_valid(ymd(2023, 2, 29)));
    cr_assert_not(date_is_valid(ymd(1899, 12, 31)));
    cr_assert_not(date_is_valid(ymd(3000, 1, 1)));
    cr_assert_not(date_is_valid(ymd(2023, 0, 1)));
    cr_assert_not(date_is_valid(ymd(2023, 13, 1)));
    cr_assert_not(date_is_valid(ymd(2023, 1, 0)));
    cr_assert_not(date_is_valid(ymd(2023, 4, 31)));
    cr_assert_not(date_is_valid(ymd(2023, 1, -1)));
}

Test(date, parses_real_dates)
{
    assert_parses("2023-02-28", ymd(2023, 2, 28));
    assert_parses("2024-02-29", ymd(2024, 2, 29));
    assert_parses("2000-02-29", ymd(2000, 2, 29));
    assert_parses("1900-01-01", ymd(1900, 1, 1));
    assert_parses("2999-12-31", ymd(2999, 12, 31));
    assert_parses("2021-08-31", ymd(2021, 8, 31));
    assert_parses("2020-10-01", ymd(2020, 10, 1));
}

Test(date, refuses_impossible_dates)
{
    assert_refused("2023-02-29");
    assert_refused("1900-02-29");
    assert_refused("2100-02-29");
    assert_refused("2023-13-01");
    assert_refused("2023-00-10");
    assert_refused("2023-01-00");
    assert_refused("2023-01-32");
    assert_refused("2023-04-31");
    assert_refused("2023-06-31");
    assert_refused("2023-09-31");
    assert_refused("2023-11-31");
    assert_refused("1899-12-31");
    assert_refused("3000-01-01");
    assert_refused("0000-01-01");
}

Test(date, refuses_other_texts)
{
    assert_refused(NULL);
    assert_refused("");
    assert_refused("23-01-01");
    assert_refused("2023-1-01");
    assert_refused("2023-01-1");
    assert_refused("2023-1-1");
    assert_refused("20230101");
    assert_refused("2023/01/01");
    assert_refused("2023.01.01");
    assert_refused("01-01-2023");
    assert_refused("01/01/2023");
    assert_refused(" 2023-01-01");
    assert_refused("2023-01-01 ");
    assert_refused("2023-01-01\n");
    assert_refused("2023-01-01T00:00:00Z");
    assert_refused("+2023-01-01");
    assert_refused("-023-01-01");
    assert_refused("2023--1-01");
    assert_refused("2023-+1-01");
    assert_refused("2023-01-+1");
    assert_refused("2023- 1-01");
    assert_refused("202a-01-01");
    assert_refused("2023-0a-01");
    assert_refused("2023-01-0a");
    assert_refused("12023-01-01");
    assert_refused("２０２３-01-01");
}

Test(date, format)
{
    char out[11];

    memset(out, 'x', sizeof out);
    date_format(ymd(2023, 2, 5), out);
    cr_assert_str_eq(out, "2023-02-05");
    date_format(ymd(1900, 1, 1), out);
    cr_assert_str_eq(out, "1900-01-01");
    date_format(ymd(2999, 12, 31), out);
    cr_assert_str_eq(out, "2999-12-31");
}

Test(date, format_then_parse_round_trips)
{
    for (int year = 1900; year <= 2999; year += 37) {
        for (int month = 1; month <= 12; month++) {
            for (int day = 1; day <= date_days_in_month(year, month); day += 3) {
                char out[11];
                struct date d;

                date_format(ymd(year, month, day), out);
                cr_assert(date_parse(out, &d), "%s", out);
                assert_date_eq(d, ymd(year, month, day), out);
            }
        }
    }
}

Test(date, compare)
{
    cr_assert_eq(date_compare(ymd(2023, 5, 17), ymd(2023, 5, 17)), 0);
    cr_assert_lt(date_compare(ymd(2023, 5, 17), ymd(2023, 5, 18)), 0);
    cr_assert_gt(date_compare(ymd(2023, 5, 18), ymd(2023, 5, 17)), 0);
    cr_assert_lt(date_compare(ymd(2023, 4, 30), ymd(2023, 5, 1)), 0);
    cr_assert_gt(date_compare(ymd(2024, 1, 1), ymd(2023, 12, 31)), 0);
    cr_assert_lt(date_compare(ymd(2022, 12, 31), ymd(2023, 1, 1)), 0);
    cr_assert_gt(date_compare(ymd(2023, 12, 1), ymd(2023, 2, 28)), 0, "month before day");
}

Test(date, add_months_clamps_to_the_month_end)
{
    /* the programme's case: convention d'adhésion + 18 months */
    assert_adds(ymd(2021, 8, 31), 18, ymd(2023, 2, 28));
    assert_adds(ymd(2022, 8, 31), 18, ymd(2024, 2, 29));
    assert_adds(ymd(2023, 1, 31), 1, ymd(2023, 2, 28));
    assert_adds(ymd(2024, 1, 31), 1, ymd(2024, 2, 29));
    assert_adds(ymd(2024, 2, 29), 12, ymd(2025, 2, 28));
    assert_adds(ymd(2024, 2, 29), 48, ymd(2028, 2, 29));
    assert_adds(ymd(2023, 3, 31), 1, ymd(2023, 4, 30));
    assert_adds(ymd(2023, 5, 31), 4, ymd(2023, 9, 30));
    assert_adds(ymd(1999, 12, 31), 2, ymd(2000, 2, 29));
    assert_adds(ymd(2099, 12, 31), 2, ymd(2100, 2, 28));
}

Test(date, add_months_keeps_the_day_when_it_exists)
{
    assert_adds(ymd(2021, 8, 15), 18, ymd(2023, 2, 15));
    assert_adds(ymd(2023, 1, 28), 1, ymd(2023, 2, 28));
    assert_adds(ymd(2023, 1, 15), 0, ymd(2023, 1, 15));
    assert_adds(ymd(2023, 11, 30), 1, ymd(2023, 12, 30));
    assert_adds(ymd(2023, 12, 1), 1, ymd(2024, 1, 1));
    assert_adds(ymd(2023, 1, 1), 12, ymd(2024, 1, 1));
    assert_adds(ymd(2023, 1, 1), 120, ymd(2033, 1, 1));
    assert_adds(ymd(2023, 6, 30), 1200, ymd(2123, 6, 30));
}

Test(date, add_negative_months)
{
    assert_adds(ymd(2023, 3, 31), -1, ymd(2023, 2, 28));
    assert_adds(ymd(2024, 3, 31), -1, ymd(2024, 2, 29));
    assert_adds(ymd(2023, 1, 15), -1, ymd(2022, 12, 15));
    assert_adds(ymd(2023, 1, 31), -2, ymd(2022, 11, 30));
    assert_adds(ymd(2023, 2, 28), -12, ymd(2022, 2, 28));
    assert_adds(ymd(2023, 2, 28), -18, ymd(2021, 8, 28));
    assert_adds(ymd(2023, 12, 31), -13, ymd(2022, 11, 30));
    assert_adds(ymd(1900, 1, 1), -1, ymd(1899, 12, 1));
}

Test(date, add_months_results_are_valid_dates)
{
    for (int month = 1; month <= 12; month++) {
        for (int day = 1; day <= date_days_in_month(2024, month); day++) {
            for (int delta = -30; delta <= 30; delta++) {
                struct date r = date_add_months(ymd(2024, month, day), delta);

                cr_assert(date_is_valid(r), "2024-%02d-%02d %+d gave %d-%d-%d", month, day, delta,
                          r.year, r.month, r.day);
                cr_assert_leq(r.day, day, "the day never grows");
                cr_assert_eq((r.year * 12 + r.month - 1) - (2024 * 12 + month - 1), delta);
            }
        }
    }
}
