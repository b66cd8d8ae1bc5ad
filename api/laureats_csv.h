/* Parser of the lauréats CSV files the ANCT publishes (issue 4 §1, bulk import
 * of `POST /api/v1/territoires/import`), on Debian's libcsv (RFC 4180).
 * Pure: reads only the buffer it is given; no file, database or JSON; no
 * global state (thread-safe). Link with -lcsv.
 *
 * Input accepted:
 * - UTF-8 with or without BOM; CRLF or LF line ends (a lone CR also ends a
 *   record; physical lines are counted by LF).
 * - Header = the first non-blank line. Separator `;` or `,`: the one whose
 *   split of that line gives more known column names (tie: `;`).
 * - Columns found by header name, ASCII case-insensitive, trimmed: `id_pvd`
 *   and `insee_com` required; `lib_com`, `insee_dep`, `pop`,
 *   `date_signature`, `siren_epci`, `lib_epci` used when present; others
 *   ignored. A repeated name: the first column wins.
 * - Quoted fields may hold separators, doubled quotes and line breaks.
 *   Strict RFC 4180 quoting (libcsv CSV_STRICT): a quote inside an unquoted
 *   field, text after a closing quote or a quote left open at the end of the
 *   file is a file-level error naming the line (what follows a broken quote
 *   cannot be split into records reliably).
 * - Blank lines are skipped. A record whose fields are all empty (";;;;" left
 *   by spreadsheets) is skipped and counted in skipped_empty. A record with
 *   fewer fields than the header reads the missing ones as empty; extra
 *   fields are ignored.
 *
 * Validation of each data record, first failing check wins (code, règle):
 *  1. "texte-invalide"       ""    a field is not UTF-8 (or holds a NUL byte)
 *  2. "insee-com-invalide"   "R42" insee_com empty or !insee_code_is_valid
 *                                  (the 999999 test row of the 2021 file)
 *  3. "id-pvd-manquant"      ""    id_pvd empty: commune not yet designated
 *  4. "id-pvd-invalide"      ""    id_pvd not ^pvd-[0-9]{2}-[0-9AB]{2,4}-[0-9]+$
 *                                  (4 chars: ids joining two départements,
 *                                  such as pvd-84-3873-9)
 *  5. "insee-dep-incoherent" "R42" insee_dep non-empty and different from
 *                                  insee_code_departement(insee_com)
 *  6. "siren-epci-invalide"  "R42" siren_epci non-empty and !siren_is_valid
 *  7. "commune-en-double"    ""    insee_com already on an earlier record of
 *                                  the file (whatever that record's outcome);
 *                                  the first one keeps its own outcome
 * Codes are stable kebab-case slugs (part of the API answer); motif is a
 * French sentence for a préfecture agent. pop and date_signature are passed
 * through as given, not validated.
 */
#ifndef PVD_API_LAUREATS_CSV_H
#define PVD_API_LAUREATS_CSV_H

#include <stdbool.h>
#include <stddef.h>

#define LAUREATS_CSV_MAX_BYTES   ((size_t)5 * 1024 * 1024) /* 5 MiB, BOM included */
#define LAUREATS_CSV_MAX_RECORDS ((size_t)100000)          /* data records, header excluded */

/* One data record. Every string is owned by the enclosing struct
 * laureats_csv (in its arena: never free one), never NULL, valid UTF-8 without NUL (invalid bytes
 * of a "texte-invalide" record are replaced by U+FFFD), trimmed of spaces, tabs, CR and LF at both
 * ends, "" when empty or when its column is absent. */
struct laureat_csv_row {
    size_t line; /* physical line where the record starts; header = its line (1 normally) */
    char *id_pvd;
    char *insee_com;
    char *lib_com;
    char *insee_dep;
    char *pop;
    char *date_signature;
    char *siren_epci;
    char *lib_epci;
    bool ok;
    const char *code;  /* static; "" when ok, else one of the codes above */
    const char *regle; /* static; "R42" or "" */
    char *motif;       /* French sentence (in the arena); NULL when ok */
};

enum laureats_csv_status {
    LAUREATS_CSV_OK = 0,
    LAUREATS_CSV_VIDE,            /* "fichier-vide": no header line */
    LAUREATS_CSV_TROP_VOLUMINEUX, /* "fichier-trop-volumineux": > MAX_BYTES */
    LAUREATS_CSV_TROP_DE_LIGNES,  /* "trop-de-lignes": > MAX_RECORDS data records */
    LAUREATS_CSV_COLONNE_ABSENTE, /* "colonne-obligatoire-absente": id_pvd / insee_com */
    LAUREATS_CSV_MAL_FORME,       /* "csv-mal-forme": misplaced or unclosed quote */
    LAUREATS_CSV_MEMOIRE,         /* "memoire-insuffisante" */
};

struct laureats_csv_arena; /* private to laureats_csv.c */

/* Memory: the rows array and one arena of 64 KiB blocks holding every
 * string, about 200 bytes per data record plus the record's text. */
struct laureats_csv {
    struct laureats_csv_arena *arena; /* owned: the rows' strings */
    struct laureat_csv_row *rows;     /* owned, in file order; NULL when row_count is 0 */
    size_t row_count;                 /* data records reported (skipped empty ones excluded) */
    size_t ok_count;
    size_t refused_count; /* ok_count + refused_count == row_count */
    size_t skipped_empty; /* all-empty records skipped */
    size_t header_line;   /* 0 when no header was found */
    char separator;       /* ';' or ','; 0 when no header was found */
    bool bom;             /* the buffer started with a UTF-8 BOM */
    /* File-level error (status != OK): stable slug and French sentence,
     * naming the missing column(s) or the line at fault; "" when OK. */
    const char *error_code;
    char error[256];
};

/* Parses len bytes of buf (need not be NUL-terminated; buf may be NULL when
 * len is 0) into *out, which is overwritten without being freed first.
 * Returns LAUREATS_CSV_OK with every data record in out->rows (a header-only
 * file gives 0 rows), or a file-level status with error_code/error set and
 * no rows (out->rows NULL, counts 0): refused records never make a file-level
 * error. In every case the caller owns *out and calls laureats_csv_release. */
enum laureats_csv_status laureats_csv_parse(const char *buf, size_t len, struct laureats_csv *out);

/* Frees everything *csv owns and zeroes it. Safe on a zeroed struct and
 * idempotent; NULL is a no-op. */
void laureats_csv_release(struct laureats_csv *csv);

#endif
