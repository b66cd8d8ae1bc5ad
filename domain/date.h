/* Civil dates (YYYY-MM-DD, proleptic Gregorian) as the programme's rules use
 * them: strict parsing, calendar arithmetic. No clock: "today" is passed in. */
#ifndef PVD_DOMAIN_DATE_H
#define PVD_DOMAIN_DATE_H

#include <stdbool.h>

struct date {
    int year;
    int month; /* 1..12 */
    int day;   /* 1..31 */
};

bool date_is_leap_year(int year);
int date_days_in_month(int year, int month);
bool date_is_valid(struct date d);

/* Parses exactly "YYYY-MM-DD" (years 1900..2999) into a real calendar date:
 * 2023-02-29 is refused. False on any other text. */
bool date_parse(const char *s, struct date *out);

/* Writes "YYYY-MM-DD" into out (11 bytes). */
void date_format(struct date d, char out[11]);

/* <0, 0, >0 like strcmp. */
int date_compare(struct date a, struct date b);

/* Adds calendar months, clamping the day to the month's end:
 * 2021-08-31 + 18 months = 2023-02-28. months may be negative. */
struct date date_add_months(struct date d, int months);

#endif
