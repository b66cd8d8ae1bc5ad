/* Unit tests of domain/identifiers (R42) with real codes and SIRENs, checked
 * against @etalab/decoupage-administratif 6.0.0 (millésime 2026). */
#include <criterion/criterion.h>

#include <string.h>

#include "domain/identifiers.h"

/* INSEE codes of communes-actuelles: 69248 Thizy-les-Bourgs, 2A004 Ajaccio,
 * 2B033 Bastia, 97411 Saint-Denis (La Réunion), 98735 Papeete (Polynésie),
 * 58062 Château-Chinon (Ville), 01001 L'Abergement-Clémenciat. */
Test(insee_code, accepts_real_codes)
{
    cr_assert(insee_code_is_valid("69248"));
    cr_assert(insee_code_is_valid("2A004"));
    cr_assert(insee_code_is_valid("2B033"));
    cr_assert(insee_code_is_valid("97411"));
    cr_assert(insee_code_is_valid("98735"));
    cr_assert(insee_code_is_valid("58062"));
    cr_assert(insee_code_is_valid("01001"));
}

Test(insee_code, rejects_malformed_codes)
{
    cr_assert_not(insee_code_is_valid(NULL));
    cr_assert_not(insee_code_is_valid(""));
    cr_assert_not(insee_code_is_valid("20004"), "no current code starts with 20");
    cr_assert_not(insee_code_is_valid("2C004"));
    cr_assert_not(insee_code_is_valid("2a004"), "Corsica letters are upper-case");
    cr_assert_not(insee_code_is_valid("6924"));
    cr_assert_not(insee_code_is_valid("692480"));
    cr_assert_not(insee_code_is_valid("ABCDE"));
    cr_assert_not(insee_code_is_valid("A2004"));
    cr_assert_not(insee_code_is_valid("2A00B"));
    cr_assert_not(insee_code_is_valid(" 69248"));
    cr_assert_not(insee_code_is_valid("69248 "));
    cr_assert_not(insee_code_is_valid("6924\n"));
}

Test(insee_code, departement_of_metro_corsica_drom_com)
{
    char dep[4];

    cr_assert(insee_code_departement("69248", dep));
    cr_assert_str_eq(dep, "69");
    cr_assert(insee_code_departement("2A004", dep));
    cr_assert_str_eq(dep, "2A");
    cr_assert(insee_code_departement("2B033", dep));
    cr_assert_str_eq(dep, "2B");
    cr_assert(insee_code_departement("97411", dep));
    cr_assert_str_eq(dep, "974");
    cr_assert(insee_code_departement("98735", dep));
    cr_assert_str_eq(dep, "987");
    cr_assert(insee_code_departement("58062", dep));
    cr_assert_str_eq(dep, "58");
    cr_assert(insee_code_departement("01001", dep));
    cr_assert_str_eq(dep, "01");
    /* 9x other than 97/98 keeps two characters (Val-d'Oise, Montreuil). */
    cr_assert(insee_code_departement("95127", dep));
    cr_assert_str_eq(dep, "95");
}

Test(insee_code, departement_of_invalid_code_is_empty)
{
    char dep[4] = "xyz";

    cr_assert_not(insee_code_departement("20004", dep));
    cr_assert_str_eq(dep, "");
    strcpy(dep, "xyz");
    cr_assert_not(insee_code_departement(NULL, dep));
    cr_assert_str_eq(dep, "");
    cr_assert_not(insee_code_departement("69248", NULL));
}

Test(departement_code, accepts_the_regex)
{
    static const char *const valid[] = {"01",  "09",  "10",  "19",  "21",  "29", "2A",  "2B",
                                        "30",  "58",  "69",  "89",  "90",  "95", "971", "974",
                                        "976", "978", "984", "986", "987", "989"};
    size_t i;

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        cr_assert(departement_code_is_valid(valid[i]), "%s", valid[i]);
}

Test(departement_code, rejects_outside_the_regex)
{
    static const char *const invalid[] = {"",    "0",    "00",  "20",  "2C",  "2a",  "96",
                                          "97",  "98",   "99",  "970", "979", "980", "981",
                                          "985", "9744", "690", "A1",  "1A",  "69 "};
    size_t i;

    cr_assert_not(departement_code_is_valid(NULL));
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        cr_assert_not(departement_code_is_valid(invalid[i]), "%s", invalid[i]);
}

Test(region_code, two_or_three_digits)
{
    cr_assert(region_code_is_valid("84"), "Auvergne-Rhône-Alpes");
    cr_assert(region_code_is_valid("94"), "Corse");
    cr_assert(region_code_is_valid("04"), "La Réunion");
    cr_assert(region_code_is_valid("987"), "Polynésie française (COM)");
    cr_assert_not(region_code_is_valid(NULL));
    cr_assert_not(region_code_is_valid(""));
    cr_assert_not(region_code_is_valid("8"));
    cr_assert_not(region_code_is_valid("9870"));
    cr_assert_not(region_code_is_valid("2A"));
    cr_assert_not(region_code_is_valid("8 "));
}

Test(luhn, known_values_and_bounds)
{
    cr_assert(luhn_is_valid("79927398713", 11), "textbook example");
    cr_assert_not(luhn_is_valid("79927398710", 11));
    cr_assert(luhn_is_valid("0", 1));
    cr_assert_not(luhn_is_valid("1", 1));
    cr_assert_not(luhn_is_valid("", 0));
    cr_assert_not(luhn_is_valid(NULL, 9));
    /* Reads exactly len bytes: no NUL needed, trailing bytes ignored. */
    cr_assert(luhn_is_valid("210100012XYZ", 9));
    cr_assert_not(luhn_is_valid("2101 00012", 10));
}

/* 210100012 L'Abergement-Clémenciat, 217400423 Bonneville, 200033652
 * Thizy-les-Bourgs (commune nouvelle), 212000046 Ajaccio, 219740115
 * Saint-Denis (974), 215800624 Château-Chinon (Ville); EPCI 200000172 CC
 * Faucigny - Glières. */
Test(siren, accepts_real_sirens)
{
    cr_assert(siren_is_valid("210100012"));
    cr_assert(siren_is_valid("217400423"));
    cr_assert(siren_is_valid("200033652"));
    cr_assert(siren_is_valid("212000046"));
    cr_assert(siren_is_valid("219740115"));
    cr_assert(siren_is_valid("215800624"));
    cr_assert(siren_is_valid("200000172"));
    cr_assert(siren_is_valid("356000000"), "La Poste");
}

Test(siren, rejects_one_changed_digit_and_bad_shapes)
{
    cr_assert_not(siren_is_valid("210100013"));
    cr_assert_not(siren_is_valid("217400424"));
    cr_assert_not(siren_is_valid("200000173"));
    cr_assert_not(siren_is_valid("201000012"), "two digits swapped");
    cr_assert_not(siren_is_valid(NULL));
    cr_assert_not(siren_is_valid(""));
    cr_assert_not(siren_is_valid("21010001"));
    cr_assert_not(siren_is_valid("2101000120"));
    cr_assert_not(siren_is_valid("210 100 012"));
    cr_assert_not(siren_is_valid("21010001A"));
    cr_assert_not(siren_is_valid("21010001200017"), "a SIRET is not a SIREN");
}

Test(siret, accepts_luhn_valid_sirets)
{
    /* SIREN 210100012 + NIC 00017 (Luhn-valid; establishment not looked up) */
    cr_assert(siret_is_valid("21010001200017"));
    /* La Poste siège: passes Luhn although its digit sum (26) is not a
     * multiple of 5. */
    cr_assert(siret_is_valid("35600000000048"));
}

Test(siret, la_poste_digit_sum_rule)
{
    /* Not Luhn-valid; digit sum 35 */
    cr_assert(siret_is_valid("35600000009075"));
    cr_assert(siret_is_valid("35600000009093"));
    /* Neither Luhn-valid nor a multiple of 5 (sums 32 and 36) */
    cr_assert_not(siret_is_valid("35600000009090"));
    cr_assert_not(siret_is_valid("35600000009076"));
    /* Digit sum 15 and 55, not Luhn-valid, not La Poste: the exception is
     * reserved to SIREN 356000000. */
    cr_assert_not(siret_is_valid("21010001200012"));
    cr_assert_not(siret_is_valid("12345678901234"));
}

Test(siret, rejects_non_luhn_and_bad_shapes)
{
    cr_assert_not(siret_is_valid("21010001200018"));
    cr_assert_not(siret_is_valid("11111111111111"));
    cr_assert_not(siret_is_valid(NULL));
    cr_assert_not(siret_is_valid(""));
    cr_assert_not(siret_is_valid("210100012"), "a SIREN is not a SIRET");
    cr_assert_not(siret_is_valid("2101000120001"));
    cr_assert_not(siret_is_valid("210100012000170"));
    cr_assert_not(siret_is_valid("210 100 012 00017"));
    cr_assert_not(siret_is_valid("3560000000004A"));
}

Test(identifiers, siren_format_without_luhn)
{
    cr_assert(siren_format_is_valid("215800624"));
    cr_assert(siren_format_is_valid("200073345"), "wrong Luhn key, right format");
    cr_assert_not(siren_format_is_valid("20007334"));
    cr_assert_not(siren_format_is_valid("2000733450"));
    cr_assert_not(siren_format_is_valid("20007334a"));
    cr_assert_not(siren_format_is_valid(NULL));
}

Test(identifiers, siret_format_without_luhn)
{
    cr_assert(siret_format_is_valid("21810140000016"));
    cr_assert(siret_format_is_valid("21810140000017"), "wrong Luhn key, right format");
    cr_assert_not(siret_format_is_valid("2181014000001"));
    cr_assert_not(siret_format_is_valid("218101400000160"));
    cr_assert_not(siret_format_is_valid("2181014000001a"));
    cr_assert_not(siret_format_is_valid(" 21810140000016"));
    cr_assert_not(siret_format_is_valid(NULL));
}
