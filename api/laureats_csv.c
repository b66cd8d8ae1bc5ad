/* Lauréats CSV parser on libcsv: see laureats_csv.h for the contract.
 * The buffer is fed to libcsv one physical line at a time so that every
 * record carries the line where it starts, even when a quoted field spans
 * several lines. */
#include "api/laureats_csv.h"

#include <csv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/identifiers.h"

enum col {
    COL_ID_PVD,
    COL_INSEE_COM,
    COL_LIB_COM,
    COL_INSEE_DEP,
    COL_POP,
    COL_DATE_SIGNATURE,
    COL_SIREN_EPCI,
    COL_LIB_EPCI,
    COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
    "id_pvd", "insee_com",      "lib_com",    "insee_dep",
    "pop",    "date_signature", "siren_epci", "lib_epci",
};

/* Every string of the rows lives in blocks of one arena (one malloc per
 * 64 KiB instead of nine per record), freed together by laureats_csv_release. */
struct laureats_csv_arena {
    struct laureats_csv_arena *next;
    size_t used, cap;
    char data[];
};

#define ARENA_BLOCK ((size_t)64 * 1024)

/* n bytes in the current block of *a (a new block when they do not fit);
 * NULL on allocation failure. */
static char *arena_alloc(struct laureats_csv_arena **a, size_t n)
{
    if (*a == NULL || (*a)->cap - (*a)->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        struct laureats_csv_arena *b = malloc(sizeof *b + cap);
        if (b == NULL) {
            return NULL;
        }
        b->next = *a;
        b->used = 0;
        b->cap = cap;
        *a = b;
    }
    char *p = (*a)->data + (*a)->used;
    (*a)->used += n;
    return p;
}

/* Gives back the last `unused` bytes of the latest arena_alloc. */
static void arena_shrink(struct laureats_csv_arena *a, size_t unused)
{
    a->used -= unused;
}

static char *arena_strdup(struct laureats_csv_arena **a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

/* Slots of the known INSEE codes: département part 00-99, 2A (100), 2B (101). */
#define INSEE_SLOTS (102 * 1000)

struct state {
    struct laureats_csv *out;
    size_t cur_line;  /* physical line being fed */
    size_t rec_start; /* line where the current record starts */
    bool row_ended;   /* the next fed line starts a new record */
    bool header_done;
    bool stop; /* stop feeding: error already recorded */
    enum laureats_csv_status status;
    long col[COL_COUNT]; /* field index of each known column, -1 when absent */
    char **header;       /* owned names of the header fields, for messages */
    size_t header_count;
    size_t header_cap;
    /* The record being read. */
    size_t field;
    char *vals[COL_COUNT]; /* in out->arena; NULL when the column is absent */
    bool any_value;
    long bad_field; /* first field that is not UTF-8, -1 when none */
    size_t records; /* data records seen, empty ones included */
    size_t row_cap;
    uint32_t *first_line; /* INSEE slot -> line of its first record, 0: not seen */
};

/* ---- UTF-8 -------------------------------------------------------------- */

/* Length (1-4) of the well-formed UTF-8 sequence at s (n bytes available),
 * or 0 when it is not well-formed (Unicode table 3-7) or is a NUL byte. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c == 0) {
        return 0;
    }
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return len;
}

static bool is_trim(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims n bytes of s; *valid tells whether they are well-formed UTF-8
 * without NUL; returns whether anything is left. */
static bool check_field(const unsigned char *s, size_t n, bool *valid)
{
    *valid = true;
    while (n > 0 && is_trim(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_trim(s[n - 1])) {
        n--;
    }
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0) {
            *valid = false;
            return true;
        }
        i += k;
    }
    return n > 0;
}

/* Trimmed copy of n bytes of s, in *arena when arena is not NULL (else
 * malloc'd, owned), with every byte outside a well-formed sequence (and NUL)
 * replaced by U+FFFD. *valid tells whether none was. NULL on allocation
 * failure. */
static char *copy_field(struct laureats_csv_arena **arena, const unsigned char *s, size_t n,
                        bool *valid)
{
    char *dst;
    size_t j = 0;

    *valid = true;
    while (n > 0 && is_trim(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_trim(s[n - 1])) {
        n--;
    }
    if (n > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    dst = arena ? arena_alloc(arena, 3 * n + 1) : malloc(3 * n + 1);
    if (dst == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0) {
            *valid = false;
            memcpy(dst + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i++;
        } else {
            memcpy(dst + j, s + i, k);
            j += k;
            i += k;
        }
    }
    dst[j] = '\0';
    if (arena) {
        arena_shrink(*arena, 3 * n - j);
    }
    return dst;
}

/* At most max bytes of s, cut on a UTF-8 boundary, with "…" when cut; into
 * buf (size >= max + 4). */
static const char *clip(const char *s, char *buf, size_t max)
{
    size_t n = strlen(s);

    if (n <= max) {
        return s;
    }
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--;
    }
    memcpy(buf, s, n);
    memcpy(buf + n, "\xE2\x80\xA6", 4);
    return buf;
}

#define CLIP_MAX 40

/* ---- helpers ------------------------------------------------------------ */

static bool name_eq(const char *name, const char *known)
{
    size_t i = 0;

    for (; name[i] != '\0' && known[i] != '\0'; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != known[i]) {
            return false;
        }
    }
    return name[i] == '\0' && known[i] == '\0';
}

static int known_column(const char *name)
{
    for (int k = 0; k < COL_COUNT; k++) {
        if (name_eq(name, col_names[k])) {
            return k;
        }
    }
    return -1;
}

/* Known column names in one line split naively on sep (quotes and blanks
 * around names dropped): enough to choose the separator. */
static int count_known(const char *line, size_t len, char sep)
{
    int count = 0;
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == sep) {
            size_t a = start, b = i;
            char name[32];
            while (a < b && (is_trim((unsigned char)line[a]) || line[a] == '"')) {
                a++;
            }
            while (b > a && (is_trim((unsigned char)line[b - 1]) || line[b - 1] == '"')) {
                b--;
            }
            if (b - a < sizeof name) {
                memcpy(name, line + a, b - a);
                name[b - a] = '\0';
                count += known_column(name) >= 0;
            }
            start = i + 1;
        }
    }
    return count;
}

static bool id_pvd_is_valid(const char *s)
{
    size_t i = 0, n;

    if (strncmp(s, "pvd-", 4) != 0) {
        return false;
    }
    s += 4;
    if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == '-')) {
        return false;
    }
    s += 3;
    for (n = 0; (s[n] >= '0' && s[n] <= '9') || s[n] == 'A' || s[n] == 'B'; n++) {
    }
    if (n < 2 || n > 4 || s[n] != '-') {
        return false;
    }
    s += n + 1;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
    }
    return i > 0 && s[i] == '\0';
}

/* Slot of a valid INSEE code (insee_code_is_valid). */
static size_t insee_slot(const char *code)
{
    size_t dep;

    if (code[0] == '2' && (code[1] == 'A' || code[1] == 'B')) {
        dep = code[1] == 'A' ? 100 : 101;
    } else {
        dep = (size_t)(code[0] - '0') * 10 + (size_t)(code[1] - '0');
    }
    return dep * 1000 + (size_t)(code[2] - '0') * 100 + (size_t)(code[3] - '0') * 10 +
           (size_t)(code[4] - '0');
}

static void set_error(struct state *st, enum laureats_csv_status status, const char *code,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct state *st, enum laureats_csv_status status, const char *code,
                      const char *fmt, ...)
{
    va_list ap;

    if (st->status != LAUREATS_CSV_OK) {
        return; /* keep the first error */
    }
    st->status = status;
    st->stop = true;
    st->out->error_code = code;
    va_start(ap, fmt);
    vsnprintf(st->out->error, sizeof st->out->error, fmt, ap);
    va_end(ap);
}

static void nomem(struct state *st)
{
    set_error(st, LAUREATS_CSV_MEMOIRE, "memoire-insuffisante", "mémoire insuffisante");
}

static void refuse(struct state *st, struct laureat_csv_row *row, const char *code,
                   const char *regle, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void refuse(struct state *st, struct laureat_csv_row *row, const char *code,
                   const char *regle, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    row->ok = false;
    row->code = code;
    row->regle = regle;
    row->motif = arena_strdup(&st->out->arena, buf);
    if (row->motif == NULL) {
        nomem(st);
    }
}

/* ---- validation of one record ------------------------------------------ */

static void validate(struct state *st, struct laureat_csv_row *row)
{
    char c1[CLIP_MAX + 4], c2[CLIP_MAX + 4];
    char dep[4];
    bool insee_ok = insee_code_is_valid(row->insee_com);

    /* Recorded whatever the outcome, so that a later copy is a duplicate. */
    size_t first = 0;
    if (insee_ok) {
        size_t slot = insee_slot(row->insee_com);
        first = st->first_line[slot];
        if (first == 0) {
            st->first_line[slot] = (uint32_t)row->line;
        }
    }

    if (st->bad_field >= 0) {
        size_t f = (size_t)st->bad_field;
        if (f < st->header_count && st->header[f][0] != '\0') {
            refuse(st, row, "texte-invalide", "",
                   "Caractères mal encodés dans la colonne « %s » : le fichier doit être "
                   "enregistré en UTF-8",
                   clip(st->header[f], c1, CLIP_MAX));
        } else {
            refuse(st, row, "texte-invalide", "",
                   "Caractères mal encodés dans la colonne n° %zu : le fichier doit être "
                   "enregistré en UTF-8",
                   f + 1);
        }
    } else if (row->insee_com[0] == '\0') {
        refuse(st, row, "insee-com-invalide", "R42",
               "Code INSEE de la commune absent (colonne insee_com)");
    } else if (!insee_ok) {
        size_t n = strlen(row->insee_com);
        bool digits4 = n == 4 && strspn(row->insee_com, "0123456789") == 4;
        refuse(st, row, "insee-com-invalide", "R42",
               "Code INSEE de la commune « %s » invalide : 5 caractères attendus, par exemple "
               "78003 ou 2A004%s",
               clip(row->insee_com, c1, CLIP_MAX),
               digits4 ? " (zéro initial perdu par le tableur ?)" : "");
    } else if (row->id_pvd[0] == '\0') {
        refuse(st, row, "id-pvd-manquant", "",
               "Ligne sans identifiant PVD : commune non encore désignée.");
    } else if (!id_pvd_is_valid(row->id_pvd)) {
        refuse(st, row, "id-pvd-invalide", "",
               "Identifiant PVD « %s » invalide : forme attendue "
               "pvd-<région>-<département>-<numéro>, par exemple pvd-11-78-1",
               clip(row->id_pvd, c1, CLIP_MAX));
    } else if (row->insee_dep[0] != '\0' && insee_code_departement(row->insee_com, dep) &&
               strcmp(row->insee_dep, dep) != 0) {
        refuse(st, row, "insee-dep-incoherent", "R42",
               "Département « %s » incohérent avec la commune %s, qui est dans le "
               "département %s",
               clip(row->insee_dep, c1, CLIP_MAX), row->insee_com, dep);
    } else if (row->siren_epci[0] != '\0' && !siren_is_valid(row->siren_epci)) {
        bool nine = strlen(row->siren_epci) == 9 && strspn(row->siren_epci, "0123456789") == 9;
        refuse(st, row, "siren-epci-invalide", "R42", "SIREN de l'EPCI « %s » invalide : %s",
               clip(row->siren_epci, c2, CLIP_MAX),
               nine ? "la clé de contrôle est fausse (faute de frappe ?)" : "9 chiffres attendus");
    } else if (first != 0) {
        refuse(st, row, "commune-en-double", "",
               "Commune %s déjà présente ligne %zu du fichier : une commune n'y figure "
               "qu'une fois",
               row->insee_com, first);
    } else {
        row->ok = true;
        row->code = "";
        row->regle = "";
        row->motif = NULL;
    }
    if (row->ok) {
        st->out->ok_count++;
    } else {
        st->out->refused_count++;
    }
}

/* ---- libcsv callbacks --------------------------------------------------- */

static void reset_record(struct state *st)
{
    for (int k = 0; k < COL_COUNT; k++) {
        st->vals[k] = NULL;
    }
    st->field = 0;
    st->any_value = false;
    st->bad_field = -1;
}

static void on_field(void *data, size_t len, void *ctx)
{
    struct state *st = ctx;
    const unsigned char *s = data;
    size_t f = st->field++;
    bool valid;

    if (st->stop) {
        return;
    }
    if (!st->header_done) {
        char *name = copy_field(NULL, len > 0 ? s : (const unsigned char *)"", len, &valid);
        if (name == NULL) {
            nomem(st);
            return;
        }
        if (st->header_count == st->header_cap) {
            size_t cap = st->header_cap ? 2 * st->header_cap : 16;
            char **h = realloc(st->header, cap * sizeof *h);
            if (h == NULL) {
                free(name);
                nomem(st);
                return;
            }
            st->header = h;
            st->header_cap = cap;
        }
        st->header[st->header_count++] = name;
        int k = known_column(name);
        if (k >= 0 && st->col[k] < 0) {
            st->col[k] = (long)f;
        }
        return;
    }

    int k = -1;
    for (int i = 0; i < COL_COUNT; i++) {
        if (st->col[i] == (long)f) {
            k = i;
            break;
        }
    }
    const unsigned char *text = len > 0 ? s : (const unsigned char *)"";
    if (k < 0) {
        /* An ignored column: only its encoding and emptiness count. */
        if (check_field(text, len, &valid)) {
            st->any_value = true;
        }
        if (!valid && st->bad_field < 0) {
            st->bad_field = (long)f;
        }
        return;
    }
    char *v = copy_field(&st->out->arena, text, len, &valid);
    if (v == NULL) {
        nomem(st);
        return;
    }
    if (!valid && st->bad_field < 0) {
        st->bad_field = (long)f;
    }
    if (v[0] != '\0') {
        st->any_value = true;
    }
    st->vals[k] = v;
}

static void check_header(struct state *st)
{
    struct laureats_csv *out = st->out;

    st->header_done = true;
    out->header_line = st->rec_start;
    if (st->col[COL_ID_PVD] < 0 && st->col[COL_INSEE_COM] < 0) {
        set_error(st, LAUREATS_CSV_COLONNE_ABSENTE, "colonne-obligatoire-absente",
                  "colonnes obligatoires « id_pvd » et « insee_com » absentes de l'en-tête "
                  "(ligne %zu)",
                  out->header_line);
    } else if (st->col[COL_ID_PVD] < 0 || st->col[COL_INSEE_COM] < 0) {
        set_error(st, LAUREATS_CSV_COLONNE_ABSENTE, "colonne-obligatoire-absente",
                  "colonne obligatoire « %s » absente de l'en-tête (ligne %zu)",
                  st->col[COL_ID_PVD] < 0 ? "id_pvd" : "insee_com", out->header_line);
    }
}

static void add_row(struct state *st)
{
    struct laureats_csv *out = st->out;
    struct laureat_csv_row *row;

    if (out->row_count == st->row_cap) {
        size_t cap = st->row_cap ? 2 * st->row_cap : 256;
        struct laureat_csv_row *r = realloc(out->rows, cap * sizeof *r);
        if (r == NULL) {
            nomem(st);
            return;
        }
        out->rows = r;
        st->row_cap = cap;
    }
    static char empty[] = "";
    for (int k = 0; k < COL_COUNT; k++) {
        if (st->vals[k] == NULL) {
            st->vals[k] = empty; /* never written nor freed */
        }
    }
    row = &out->rows[out->row_count++];
    memset(row, 0, sizeof *row);
    row->line = st->rec_start;
    row->id_pvd = st->vals[COL_ID_PVD];
    row->insee_com = st->vals[COL_INSEE_COM];
    row->lib_com = st->vals[COL_LIB_COM];
    row->insee_dep = st->vals[COL_INSEE_DEP];
    row->pop = st->vals[COL_POP];
    row->date_signature = st->vals[COL_DATE_SIGNATURE];
    row->siren_epci = st->vals[COL_SIREN_EPCI];
    row->lib_epci = st->vals[COL_LIB_EPCI];
    memset(st->vals, 0, sizeof st->vals);
    validate(st, row);
}

static void on_record(int c, void *ctx)
{
    struct state *st = ctx;

    (void)c;
    if (st->field == 0 || st->stop) {
        /* A blank line (reported by CSV_REPALL_NL), or the LF of a CRLF. */
        reset_record(st);
        st->row_ended = true;
        return;
    }
    if (!st->header_done) {
        check_header(st);
    } else if (++st->records > LAUREATS_CSV_MAX_RECORDS) {
        set_error(st, LAUREATS_CSV_TROP_DE_LIGNES, "trop-de-lignes",
                  "fichier trop long : plus de %zu lignes de données (ligne %zu)",
                  LAUREATS_CSV_MAX_RECORDS, st->rec_start);
    } else if (!st->any_value) {
        st->out->skipped_empty++;
    } else {
        add_row(st);
    }
    reset_record(st);
    st->row_ended = true;
}

/* ---- entry points ------------------------------------------------------- */

void laureats_csv_release(struct laureats_csv *csv)
{
    if (csv == NULL) {
        return;
    }
    while (csv->arena != NULL) {
        struct laureats_csv_arena *next = csv->arena->next;
        free(csv->arena);
        csv->arena = next;
    }
    free(csv->rows);
    memset(csv, 0, sizeof *csv);
    csv->error_code = "";
}

/* Separator from the first non-blank line; 0 when every line is blank. */
static char detect_separator(const char *s, size_t n)
{
    size_t pos = 0;

    while (pos < n) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) : n;
        size_t i = pos;
        while (i < end && is_trim((unsigned char)s[i])) {
            i++;
        }
        if (i < end) {
            return count_known(s + pos, end - pos, ',') > count_known(s + pos, end - pos, ';')
                       ? ','
                       : ';';
        }
        pos = end + 1;
    }
    return 0;
}

static void free_state(struct state *st)
{
    reset_record(st);
    for (size_t i = 0; i < st->header_count; i++) {
        free(st->header[i]);
    }
    free(st->header);
    free(st->first_line);
}

enum laureats_csv_status laureats_csv_parse(const char *buf, size_t len, struct laureats_csv *out)
{
    struct state st;
    struct csv_parser p;
    size_t pos = 0;
    char sep;

    memset(out, 0, sizeof *out);
    out->error_code = "";
    memset(&st, 0, sizeof st);
    st.out = out;
    st.status = LAUREATS_CSV_OK;
    st.bad_field = -1;
    st.row_ended = true;
    for (int k = 0; k < COL_COUNT; k++) {
        st.col[k] = -1;
    }

    if (len > LAUREATS_CSV_MAX_BYTES) {
        set_error(&st, LAUREATS_CSV_TROP_VOLUMINEUX, "fichier-trop-volumineux",
                  "fichier trop volumineux : %zu octets, au plus %zu (5 Mio)", len,
                  LAUREATS_CSV_MAX_BYTES);
        return st.status;
    }
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        out->bom = true;
        pos = 3;
    }
    sep = detect_separator(buf + pos, len - pos);
    if (sep == 0) {
        set_error(&st, LAUREATS_CSV_VIDE, "fichier-vide",
                  "le fichier est vide : une ligne d'en-tête (id_pvd;insee_com;…) est attendue");
        return st.status;
    }
    out->separator = sep;
    st.first_line = calloc(INSEE_SLOTS, sizeof *st.first_line);
    if (st.first_line == NULL ||
        csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_REPALL_NL)) {
        free(st.first_line);
        set_error(&st, LAUREATS_CSV_MEMOIRE, "memoire-insuffisante", "mémoire insuffisante");
        return st.status;
    }
    csv_set_delim(&p, (unsigned char)sep);

    for (st.cur_line = 1; pos < len && !st.stop; st.cur_line++) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) + 1 : len;
        if (st.row_ended) {
            st.rec_start = st.cur_line;
            st.row_ended = false;
        }
        if (csv_parse(&p, buf + pos, end - pos, on_field, on_record, &st) != end - pos) {
            if (csv_error(&p) == CSV_EPARSE) {
                set_error(&st, LAUREATS_CSV_MAL_FORME, "csv-mal-forme",
                          "guillemet mal placé ligne %zu : un champ entre guillemets doit se "
                          "terminer par un guillemet suivi du séparateur ou de la fin de ligne, "
                          "et un guillemet à l'intérieur d'un champ s'écrit \"\"",
                          st.cur_line);
            } else {
                nomem(&st);
            }
        }
        pos = end;
    }
    if (!st.stop) {
        if (csv_fini(&p, on_field, on_record, &st) != 0 && !st.stop) {
            if (csv_error(&p) == CSV_EPARSE) {
                set_error(&st, LAUREATS_CSV_MAL_FORME, "csv-mal-forme",
                          "guillemet ouvert ligne %zu jamais refermé : le fichier est mal "
                          "formé",
                          st.rec_start);
            } else {
                nomem(&st);
            }
        }
    }
    csv_free(&p);
    if (st.status == LAUREATS_CSV_OK && !st.header_done) {
        set_error(&st, LAUREATS_CSV_VIDE, "fichier-vide",
                  "le fichier est vide : une ligne d'en-tête (id_pvd;insee_com;…) est attendue");
    }
    free_state(&st);
    if (st.status != LAUREATS_CSV_OK) {
        char error[sizeof out->error];
        const char *code = out->error_code;
        size_t header_line = out->header_line;
        bool bom = out->bom;
        memcpy(error, out->error, sizeof error);
        laureats_csv_release(out);
        out->error_code = code;
        out->header_line = header_line;
        out->bom = bom;
        out->separator = sep;
        memcpy(out->error, error, sizeof error);
    }
    return st.status;
}
