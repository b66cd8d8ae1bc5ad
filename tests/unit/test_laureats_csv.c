/* Unit tests of api/laureats_csv: the real 2021 list of the ANCT
 * (tests/data/laureats-pvd-2021.csv, see tests/data/README.md; PVD_LAUREATS_CSV
 * overrides the path) and small synthetic files for each layout and refusal. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/laureats_csv.h"

#define REAL_FILE "tests/data/laureats-pvd-2021.csv"

static enum laureats_csv_status parse(const char *s, struct laureats_csv *out)
{
    return laureats_csv_parse(s, strlen(s), out);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert_gt(n, 0);
    rewind(f);
    buf = malloc((size_t)n);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static size_t count_code(const struct laureats_csv *c, const char *code)
{
    size_t n = 0;

    for (size_t i = 0; i < c->row_count; i++) {
        n += strcmp(c->rows[i].code, code) == 0;
    }
    return n;
}

static const struct laureat_csv_row *find_insee(const struct laureats_csv *c, const char *insee)
{
    for (size_t i = 0; i < c->row_count; i++) {
        if (strcmp(c->rows[i].insee_com, insee) == 0) {
            return &c->rows[i];
        }
    }
    return NULL;
}

/* ---- the real file ------------------------------------------------------ */

/* Expected counts computed independently of this parser, with Python's csv
 * module (delimiter ';') applying the same checks in the same order
 * (insee ^(2[AB]|[0-9]{2})[0-9]{3}$ not starting with 20, empty id_pvd,
 * ^pvd-[0-9]{2}-[0-9AB]{2,4}-[0-9]+$, insee_dep prefix, SIREN 9 digits +
 * Luhn, duplicate insee_com): ok 1021, id-pvd-manquant 585,
 * insee-com-invalide 1 (file line 1516), nothing else. Cross-checked with
 * `awk -F';' 'NR>1 && $1==""' | wc -l` = 585 and the data README (1607 rows,
 * 1607 distinct insee_com, the three joint ids match the loose pattern). */
Test(laureats_csv, real_file_2021)
{
    const char *path = getenv("PVD_LAUREATS_CSV") ? getenv("PVD_LAUREATS_CSV") : REAL_FILE;
    size_t len;
    char *buf = read_file(path, &len);
    struct laureats_csv c;

    cr_assert_eq(laureats_csv_parse(buf, len, &c), LAUREATS_CSV_OK, "%s", c.error);
    free(buf); /* the result owns copies */
    cr_assert_eq(c.row_count, 1607);
    cr_assert_eq(c.ok_count, 1021);
    cr_assert_eq(c.refused_count, 586);
    cr_assert_eq(count_code(&c, ""), 1021);
    cr_assert_eq(count_code(&c, "id-pvd-manquant"), 585);
    cr_assert_eq(count_code(&c, "insee-com-invalide"), 1);
    cr_assert_eq(c.skipped_empty, 0);
    cr_assert_eq(c.separator, ';');
    cr_assert_not(c.bom);
    cr_assert_eq(c.header_line, 1);

    const struct laureat_csv_row *r = &c.rows[0];
    cr_assert_eq(r->line, 2);
    cr_assert_str_eq(r->id_pvd, "pvd-11-78-1");
    cr_assert_str_eq(r->insee_com, "78003");
    cr_assert_str_eq(r->lib_com, "Ablis");
    cr_assert_str_eq(r->insee_dep, "78");
    cr_assert_str_eq(r->pop, "3439");
    cr_assert_str_eq(r->siren_epci, "200073344");
    cr_assert_str_eq(r->lib_epci, "CA Rambouillet Territoires");
    cr_assert(r->ok);
    cr_assert_null(r->motif);
    cr_assert_eq(c.rows[1606].line, 1608);

    r = &c.rows[1];
    cr_assert_str_eq(r->insee_com, "50003");
    cr_assert_not(r->ok);
    cr_assert_str_eq(r->code, "id-pvd-manquant");
    cr_assert_str_eq(r->motif, "Ligne sans identifiant PVD : commune non encore désignée.");

    /* The test row: refused on its INSEE code (R42), not on its id. */
    r = find_insee(&c, "999999");
    cr_assert_not_null(r);
    cr_assert_eq(r->line, 1516);
    cr_assert_str_eq(r->id_pvd, "pvd_0001");
    cr_assert_str_eq(r->lib_com, "Trifouilly-les-Oies");
    cr_assert_str_eq(r->date_signature, "01/2021");
    cr_assert_str_eq(r->code, "insee-com-invalide");
    cr_assert_str_eq(r->regle, "R42");

    /* A joint id across two départements (README): accepted. */
    r = find_insee(&c, "73204");
    cr_assert_not_null(r);
    cr_assert_str_eq(r->id_pvd, "pvd-84-3873-9");
    cr_assert(r->ok);
    r = find_insee(&c, "16005");
    cr_assert_str_eq(r->lib_epci, "CC Cœur de Charente");
    laureats_csv_release(&c);
}

/* ---- layouts ------------------------------------------------------------ */

Test(laureats_csv, bom_comma_crlf)
{
    struct laureats_csv c;

    cr_assert_eq(parse("\xEF\xBB\xBFid_pvd,insee_com,lib_com\r\n"
                       "pvd-11-78-1,78003,Ablis\r\n"
                       "pvd-75-23-1,23001,Ahun\r\n",
                       &c),
                 LAUREATS_CSV_OK);
    cr_assert(c.bom);
    cr_assert_eq(c.separator, ',');
    cr_assert_eq(c.row_count, 2);
    cr_assert_eq(c.ok_count, 2);
    cr_assert_eq(c.rows[0].line, 2);
    cr_assert_str_eq(c.rows[0].id_pvd, "pvd-11-78-1");
    cr_assert_str_eq(c.rows[0].lib_com, "Ablis");
    cr_assert_eq(c.rows[1].line, 3);
    cr_assert_str_eq(c.rows[1].lib_com, "Ahun");
    cr_assert_str_eq(c.rows[1].siren_epci, "", "absent column reads as empty");
    laureats_csv_release(&c);
}

Test(laureats_csv, comma_file_with_quoted_commas_in_values)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd,insee_com,lib_epci\n"
                       "pvd-11-78-1,78003,\"CA Rambouillet, Territoires\"\n",
                       &c),
                 LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 1);
    cr_assert_str_eq(c.rows[0].lib_epci, "CA Rambouillet, Territoires");
    laureats_csv_release(&c);
}

Test(laureats_csv, quoted_field_with_separator_quote_and_newline)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd;insee_com;lib_com;insee_dep\n"
                       "pvd-11-78-1;78003;\"Ablis; \"\"la belle\"\"\nsur deux lignes\";78\n"
                       "pvd-75-23-1;23001;Ahun;23\n",
                       &c),
                 LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 2);
    cr_assert_str_eq(c.rows[0].lib_com, "Ablis; \"la belle\"\nsur deux lignes");
    cr_assert_str_eq(c.rows[0].insee_dep, "78");
    cr_assert(c.rows[0].ok);
    cr_assert_eq(c.rows[0].line, 2, "a record is reported on the line where it starts");
    cr_assert_eq(c.rows[1].line, 4);
    cr_assert(c.rows[1].ok);
    laureats_csv_release(&c);
}

Test(laureats_csv, quoted_newline_with_crlf)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd;insee_com;lib_com\r\n"
                       "pvd-11-78-1;78003;\"A\r\nB\r\nC\"\r\n"
                       "pvd-75-23-1;23001;Ahun\r\n",
                       &c),
                 LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 2);
    cr_assert_str_eq(c.rows[0].lib_com, "A\r\nB\r\nC");
    cr_assert_eq(c.rows[0].line, 2);
    cr_assert_eq(c.rows[1].line, 5);
    laureats_csv_release(&c);
}

Test(laureats_csv, other_order_extra_columns_names_case_and_blanks)
{
    struct laureats_csv c;

    cr_assert_eq(parse("nom_maire;Lib_EPCI; INSEE_COM ;\"lib_com\";regroupement;Id_Pvd;pop\n"
                       "Jean Dupont;CC Creuse Sud Ouest; 23001 ;Ahun;NA;pvd-75-23-1;1432\n",
                       &c),
                 LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 1);
    const struct laureat_csv_row *r = &c.rows[0];
    cr_assert_str_eq(r->id_pvd, "pvd-75-23-1");
    cr_assert_str_eq(r->insee_com, "23001");
    cr_assert_str_eq(r->lib_com, "Ahun");
    cr_assert_str_eq(r->lib_epci, "CC Creuse Sud Ouest");
    cr_assert_str_eq(r->pop, "1432");
    cr_assert_str_eq(r->insee_dep, "");
    cr_assert_str_eq(r->date_signature, "");
    cr_assert(r->ok);
    laureats_csv_release(&c);
}

Test(laureats_csv, blank_lines_and_empty_records_skipped_lines_kept)
{
    struct laureats_csv c;

    cr_assert_eq(parse("\nid_pvd;insee_com\n\npvd-11-78-1;78003\n;\n  \npvd-75-23-1;23001", &c),
                 LAUREATS_CSV_OK);
    cr_assert_eq(c.header_line, 2);
    cr_assert_eq(c.row_count, 2);
    cr_assert_eq(c.skipped_empty, 1);
    cr_assert_eq(c.rows[0].line, 4);
    cr_assert_eq(c.rows[1].line, 7, "last record without final newline");
    cr_assert_eq(c.ok_count, 2);
    laureats_csv_release(&c);
}

Test(laureats_csv, short_record_reads_missing_fields_as_empty)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd;insee_com;lib_com\npvd-11-78-1\n", &c), LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 1);
    cr_assert_str_eq(c.rows[0].code, "insee-com-invalide");
    cr_assert_str_eq(c.rows[0].motif, "Code INSEE de la commune absent (colonne insee_com)");
    laureats_csv_release(&c);
}

/* ---- file-level errors -------------------------------------------------- */

Test(laureats_csv, missing_required_column)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd;code_commune;lib_com\npvd-11-78-1;78003;Ablis\n", &c),
                 LAUREATS_CSV_COLONNE_ABSENTE);
    cr_assert_str_eq(c.error_code, "colonne-obligatoire-absente");
    cr_assert_str_eq(c.error, "colonne obligatoire « insee_com » absente de l'en-tête (ligne 1)");
    cr_assert_null(c.rows);
    cr_assert_eq(c.row_count, 0);
    laureats_csv_release(&c);

    cr_assert_eq(parse("commune;nom\n78003;Ablis\n", &c), LAUREATS_CSV_COLONNE_ABSENTE);
    cr_assert_str_eq(c.error, "colonnes obligatoires « id_pvd » et « insee_com » absentes de "
                              "l'en-tête (ligne 1)");
    laureats_csv_release(&c);
}

Test(laureats_csv, empty_file)
{
    struct laureats_csv c;

    cr_assert_eq(laureats_csv_parse(NULL, 0, &c), LAUREATS_CSV_VIDE);
    cr_assert_str_eq(c.error_code, "fichier-vide");
    cr_assert_null(c.rows);
    laureats_csv_release(&c);
    cr_assert_eq(parse("\xEF\xBB\xBF", &c), LAUREATS_CSV_VIDE);
    laureats_csv_release(&c);
    cr_assert_eq(parse("\r\n\n  \n", &c), LAUREATS_CSV_VIDE);
    laureats_csv_release(&c);
}

Test(laureats_csv, header_only)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd;insee_com;lib_com\n", &c), LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 0);
    cr_assert_null(c.rows);
    cr_assert_eq(c.header_line, 1);
    laureats_csv_release(&c);
    cr_assert_eq(parse("\xEF\xBB\xBFid_pvd,insee_com", &c), LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 0);
    cr_assert_eq(c.separator, ',');
    laureats_csv_release(&c);
}

Test(laureats_csv, too_big)
{
    size_t len = LAUREATS_CSV_MAX_BYTES + 1;
    char *buf = malloc(len);
    struct laureats_csv c;

    cr_assert_not_null(buf);
    memset(buf, 'a', len);
    memcpy(buf, "id_pvd;insee_com\n", 17);
    cr_assert_eq(laureats_csv_parse(buf, len, &c), LAUREATS_CSV_TROP_VOLUMINEUX);
    cr_assert_str_eq(c.error_code, "fichier-trop-volumineux");
    laureats_csv_release(&c);
    free(buf);
}

static char *many_records(size_t n, size_t *len)
{
    static const char head[] = "id_pvd;insee_com\n";
    static const char rec[] = "pvd-11-78-1;78003\n";
    char *buf = malloc(sizeof head + n * (sizeof rec - 1));
    char *p = buf;

    cr_assert_not_null(buf);
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, rec, sizeof rec - 1);
        p += sizeof rec - 1;
    }
    *len = (size_t)(p - buf);
    return buf;
}

Test(laureats_csv, record_limit)
{
    size_t len;
    char *buf = many_records(LAUREATS_CSV_MAX_RECORDS, &len);
    struct laureats_csv c;

    cr_assert_eq(laureats_csv_parse(buf, len, &c), LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, LAUREATS_CSV_MAX_RECORDS);
    cr_assert_eq(c.ok_count, 1);
    cr_assert_eq(count_code(&c, "commune-en-double"), LAUREATS_CSV_MAX_RECORDS - 1);
    laureats_csv_release(&c);
    free(buf);

    buf = many_records(LAUREATS_CSV_MAX_RECORDS + 1, &len);
    cr_assert_eq(laureats_csv_parse(buf, len, &c), LAUREATS_CSV_TROP_DE_LIGNES);
    cr_assert_str_eq(c.error_code, "trop-de-lignes");
    cr_assert_null(c.rows);
    cr_assert_eq(c.row_count, 0);
    laureats_csv_release(&c);
    free(buf);
}

Test(laureats_csv, broken_quotes)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd;insee_com;lib_com\npvd-11-78-1;78003;\"Ablis\n"
                       "pvd-75-23-1;23001;Ahun\n",
                       &c),
                 LAUREATS_CSV_MAL_FORME);
    cr_assert_str_eq(c.error_code, "csv-mal-forme");
    cr_assert(strstr(c.error, "ligne 2") != NULL, "%s", c.error);
    cr_assert_null(c.rows);
    laureats_csv_release(&c);

    cr_assert_eq(parse("id_pvd;insee_com;lib_com\npvd-11-78-1;78003;Ablis\n"
                       "pvd-75-23-1;23001;Ah\"un\n",
                       &c),
                 LAUREATS_CSV_MAL_FORME);
    cr_assert(strstr(c.error, "ligne 3") != NULL, "%s", c.error);
    laureats_csv_release(&c);
}

/* ---- refusals ----------------------------------------------------------- */

static const struct laureat_csv_row *one_row(const char *body, struct laureats_csv *c)
{
    char buf[512];

    snprintf(buf, sizeof buf, "id_pvd;insee_com;lib_com;insee_dep;siren_epci\n%s\n", body);
    cr_assert_eq(parse(buf, c), LAUREATS_CSV_OK, "%s", c->error);
    cr_assert_eq(c->row_count, 1);
    return &c->rows[0];
}

Test(laureats_csv, bad_siren)
{
    struct laureats_csv c;
    const struct laureat_csv_row *r;

    r = one_row("pvd-11-78-1;78003;Ablis;78;200073345", &c);
    cr_assert_not(r->ok);
    cr_assert_str_eq(r->code, "siren-epci-invalide");
    cr_assert_str_eq(r->regle, "R42");
    cr_assert_str_eq(r->motif, "SIREN de l'EPCI « 200073345 » invalide : la clé de contrôle est "
                               "fausse (faute de frappe ?)");
    cr_assert_eq(c.refused_count, 1);
    laureats_csv_release(&c);

    r = one_row("pvd-11-78-1;78003;Ablis;78;20007334", &c);
    cr_assert_str_eq(r->motif, "SIREN de l'EPCI « 20007334 » invalide : 9 chiffres attendus");
    laureats_csv_release(&c);

    r = one_row("pvd-11-78-1;78003;Ablis;78;200073344", &c);
    cr_assert(r->ok);
    laureats_csv_release(&c);
}

Test(laureats_csv, insee_dep_mismatch)
{
    struct laureats_csv c;
    const struct laureat_csv_row *r;

    r = one_row("pvd-11-78-1;78003;Ablis;79;200073344", &c);
    cr_assert_str_eq(r->code, "insee-dep-incoherent");
    cr_assert_str_eq(r->regle, "R42");
    cr_assert_str_eq(r->motif, "Département « 79 » incohérent avec la commune 78003, qui est dans "
                               "le département 78");
    laureats_csv_release(&c);

    /* Corsica and DROM: 2A, 974. */
    r = one_row("pvd-94-2A-1;2A004;Ajaccio;2A;", &c);
    cr_assert(r->ok, "%s", r->motif);
    laureats_csv_release(&c);
    r = one_row("pvd-04-974-1;97411;Saint-Denis;974;", &c);
    cr_assert(r->ok, "%s", r->motif);
    laureats_csv_release(&c);
    r = one_row("pvd-04-974-1;97411;Saint-Denis;97;", &c);
    cr_assert_str_eq(r->code, "insee-dep-incoherent");
    laureats_csv_release(&c);
}

Test(laureats_csv, duplicate_commune_refused_on_later_line)
{
    struct laureats_csv c;

    cr_assert_eq(parse("id_pvd;insee_com\n"
                       ";78003\n"
                       "pvd-75-23-1;23001\n"
                       "pvd-11-78-1;78003\n"
                       "pvd-11-78-1;23001\n",
                       &c),
                 LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 4);
    cr_assert_str_eq(c.rows[0].code, "id-pvd-manquant");
    cr_assert(c.rows[1].ok);
    cr_assert_str_eq(c.rows[2].code, "commune-en-double");
    cr_assert_str_eq(c.rows[2].motif, "Commune 78003 déjà présente ligne 2 du fichier : une "
                                      "commune n'y figure qu'une fois");
    cr_assert_str_eq(c.rows[3].code, "commune-en-double");
    cr_assert(strstr(c.rows[3].motif, "ligne 3") != NULL);
    cr_assert_eq(c.ok_count, 1);
    cr_assert_eq(c.refused_count, 3);
    laureats_csv_release(&c);
}

Test(laureats_csv, id_pvd_forms)
{
    static const char *const good[] = {"pvd-11-78-1", "pvd-84-3873-9", "pvd-94-2B-12",
                                       "pvd-04-974-3"};
    static const char *const bad[] = {"pvd_0001",     "pvd-11-78-",   "pvd-11-78901-1",
                                      "PVD-11-78-1",  "pvd-1-78-1",   "pvd-11-7-1",
                                      "pvd-11-78-1a", "pvd-11-78-1 x"};
    struct laureats_csv c;
    char body[128];

    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        snprintf(body, sizeof body, "%s;78003;Ablis;;", good[i]);
        cr_assert(one_row(body, &c)->ok, "%s", good[i]);
        laureats_csv_release(&c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(body, sizeof body, "%s;78003;Ablis;;", bad[i]);
        cr_assert_str_eq(one_row(body, &c)->code, "id-pvd-invalide", "%s", bad[i]);
        laureats_csv_release(&c);
    }
    one_row("pvd_0001;78003;Ablis;;", &c);
    cr_assert_str_eq(c.rows[0].motif, "Identifiant PVD « pvd_0001 » invalide : forme attendue "
                                      "pvd-<région>-<département>-<numéro>, par exemple "
                                      "pvd-11-78-1");
    laureats_csv_release(&c);
}

Test(laureats_csv, test_row_and_bad_insee_codes)
{
    struct laureats_csv c;
    const struct laureat_csv_row *r;

    r = one_row("pvd_0001;999999;Trifouilly-les-Oies;99;", &c);
    cr_assert_str_eq(r->code, "insee-com-invalide");
    cr_assert_str_eq(r->regle, "R42");
    cr_assert_str_eq(r->motif, "Code INSEE de la commune « 999999 » invalide : 5 caractères "
                               "attendus, par exemple 78003 ou 2A004");
    laureats_csv_release(&c);

    r = one_row("pvd-11-78-1;8003;Ablis;;", &c);
    cr_assert(strstr(r->motif, "zéro initial perdu par le tableur") != NULL, "%s", r->motif);
    laureats_csv_release(&c);
    r = one_row("pvd-94-2A-1;2a004;Ajaccio;;", &c);
    cr_assert_str_eq(r->code, "insee-com-invalide");
    laureats_csv_release(&c);
}

Test(laureats_csv, invalid_utf8_refuses_the_line_only)
{
    struct laureats_csv c;
    const char csv[] = "id_pvd;insee_com;lib_com\n"
                       "pvd-11-78-1;78003;Ablis\xE9\n" /* Latin-1 é */
                       "pvd-75-23-1;23001;Ah\0un\n"    /* NUL byte */
                       "pvd-75-16-1;16005;Aigre\n";

    cr_assert_eq(laureats_csv_parse(csv, sizeof csv - 1, &c), LAUREATS_CSV_OK);
    cr_assert_eq(c.row_count, 3);
    cr_assert_str_eq(c.rows[0].code, "texte-invalide");
    cr_assert_str_eq(c.rows[0].motif, "Caractères mal encodés dans la colonne « lib_com » : le "
                                      "fichier doit être enregistré en UTF-8");
    cr_assert_str_eq(c.rows[0].lib_com, "Ablis\xEF\xBF\xBD", "replaced by U+FFFD");
    cr_assert_str_eq(c.rows[1].code, "texte-invalide");
    cr_assert_str_eq(c.rows[1].lib_com, "Ah\xEF\xBF\xBDun");
    cr_assert(c.rows[2].ok);
    laureats_csv_release(&c);

    /* Overlong and surrogate sequences. */
    const struct laureat_csv_row *r = one_row("pvd-11-78-1;78003;\xC0\xAF;;", &c);
    cr_assert_str_eq(r->code, "texte-invalide");
    laureats_csv_release(&c);
    r = one_row("pvd-11-78-1;78003;\xED\xA0\x80;;", &c);
    cr_assert_str_eq(r->code, "texte-invalide");
    laureats_csv_release(&c);
    r = one_row("pvd-11-78-1;78003;Saint-Étienne-de-Tinée \xF0\x9F\x8F\x94;;", &c);
    cr_assert(r->ok);
    laureats_csv_release(&c);
}

Test(laureats_csv, release_is_idempotent)
{
    struct laureats_csv c;

    memset(&c, 0, sizeof c);
    laureats_csv_release(&c);
    laureats_csv_release(NULL);
    parse("id_pvd;insee_com\npvd-11-78-1;78003\n", &c);
    laureats_csv_release(&c);
    cr_assert_null(c.rows);
    cr_assert_eq(c.row_count, 0);
    laureats_csv_release(&c);
}
