/* Civil date arithmetic (see date.h). */
#include "date.h"

#include <stdio.h>
#include <string.h>

bool date_is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int date_days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && date_is_leap_year(year) ? 29 : days[month - 1];
}

bool date_is_valid(struct date d)
{
    return d.year >= 1900 && d.year <= 2999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
           d.day <= date_days_in_month(d.year, d.month);
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool date_parse(const char *s, struct date *out)
{
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    struct date d = {digits(s, 4), digits(s + 5, 2), digits(s + 8, 2)};
    if (d.year < 0 || d.month < 0 || d.day < 0 || !date_is_valid(d))
        return false;
    *out = d;
    return true;
}

void date_format(struct date d, char out[11])
{
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)d.year % 10000u, (unsigned)d.month % 100u,
             (unsigned)d.day % 100u);
}

int date_compare(struct date a, struct date b)
{
    if (a.year != b.year)
        return a.year < b.year ? -1 : 1;
    if (a.month != b.month)
        return a.month < b.month ? -1 : 1;
    if (a.day != b.day)
        return a.day < b.day ? -1 : 1;
    return 0;
}

struct date date_add_months(struct date d, int months)
{
    int total = d.year * 12 + (d.month - 1) + months;
    int year = total / 12, month0 = total % 12;
    if (month0 < 0) { /* floor division for dates before year 0 */
        month0 += 12;
        year--;
    }
    struct date r = {year, month0 + 1, d.day};
    int last = date_days_in_month(r.year, r.month);
    if (r.day > last)
        r.day = last;
    return r;
}
