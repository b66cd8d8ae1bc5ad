/* Unit tests of domain/text: search folding of commune names, UTF-8
 * validation, truncation and word-prefix matching. */
#include <criterion/criterion.h>

#include <string.h>

#include "domain/text.h"

#define CANARY     0x5A
#define BUFFER_MAX 128

/* Folds in with a roomy buffer and checks the result and its length. */
static void assert_folds_to(const char *in, const char *expected)
{
    char out[BUFFER_MAX];
    size_t len = text_fold(in, out, sizeof(out));

    cr_assert_str_eq(out, expected, "folding \"%s\"", in);
    cr_assert_eq(len, strlen(expected), "length for \"%s\"", in);
}

/* Folds in, which must be invalid UTF-8, into a buffer holding garbage. */
static void assert_rejected(const char *in)
{
    char out[BUFFER_MAX];

    memset(out, 'x', sizeof(out));
    cr_assert_eq(text_fold(in, out, sizeof(out)), (size_t)-1);
    cr_assert_str_eq(out, "");
}

Test(text_fold, commune_names)
{
    assert_folds_to("Château-Chinon (Ville)", "chateau chinon ville");
    assert_folds_to("L'Abergement-Clémenciat", "l abergement clemenciat");
    assert_folds_to("L’Abergement-Clémenciat", "l abergement clemenciat");
    assert_folds_to("Saint-Étienne", "saint etienne");
    assert_folds_to("Œuilly", "oeuilly");
    assert_folds_to("  Les   Baux-de-Provence ", "les baux de provence");
    assert_folds_to("Thizy-les-Bourgs", "thizy les bourgs");
    assert_folds_to("L'Haÿ-les-Roses", "l hay les roses");
    assert_folds_to("Saint-Denis (La Réunion)", "saint denis la reunion");
    assert_folds_to("Marseille 15e Arrondissement", "marseille 15e arrondissement");
}

Test(text_fold, latin1_letters)
{
    assert_folds_to("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ", "aaaaaaaeceeeeiiii");
    assert_folds_to("ÐÑÒÓÔÕÖØÙÚÛÜÝÞß", "dnoooooouuuuythss");
    assert_folds_to("àáâãäåæçèéêëìíîï", "aaaaaaaeceeeeiiii");
    assert_folds_to("ðñòóôõöøùúûüýþÿ", "dnoooooouuuuythy");
    assert_folds_to("2×3÷4", "2 3 4");
    assert_folds_to("1ª 2º x²", "1a 2o x2");
}

Test(text_fold, latin_extended_a_letters)
{
    assert_folds_to("ĀāĂăĄąĆćĈĉĊċČčĎďĐđ", "aaaaaaccccccccdddd");
    assert_folds_to("ĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħ", "eeeeeeeeeegggggggghhhh");
    assert_folds_to("ĨĩĪīĬĭĮįİıĲĳĴĵĶķĸ", "iiiiiiiiiiijijjjkkk");
    assert_folds_to("ĹĺĻļĽľĿŀŁłŃńŅņŇňŉŊŋ", "llllllllllnnnnnnnnn");
    assert_folds_to("ŌōŎŏŐőŒœŔŕŖŗŘř", "oooooooeoerrrrrr");
    assert_folds_to("ŚśŜŝŞşŠšŢţŤťŦŧ", "sssssssstttttt");
    assert_folds_to("ŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſ", "uuuuuuuuuuuuwwyyyzzzzzzs");
}

Test(text_fold, punctuation_and_spaces)
{
    assert_folds_to("", "");
    assert_folds_to("   ", "");
    assert_folds_to(" - ' . ( ) ", "");
    assert_folds_to("a.b,c;d/e_f", "a b c d e f");
    assert_folds_to("a\tb\nc\x7f"
                    "d",
                    "a b c d");
    assert_folds_to("Les\xC2\xA0"
                    "Baux",
                    "les baux"); /* no-break space */
    assert_folds_to("« Brive–la–Gaillarde »", "brive la gaillarde");
    assert_folds_to("a\xE2\x80\xAF"
                    "b\xE2\x80\x94"
                    "c\xE2\x80\xA6",
                    "a b c"); /* narrow nbsp, em dash, ellipsis */
}

Test(text_fold, invisible_and_combining_marks_are_dropped)
{
    /* decomposed É and é (NFD) */
    assert_folds_to("Saint-E\xCC\x81tienne", "saint etienne");
    assert_folds_to("Cle\xCC\x81menciat", "clemenciat");
    /* soft hyphen, zero-width space, BOM */
    assert_folds_to("Cha\xC2\xAD"
                    "teau",
                    "chateau");
    assert_folds_to("Cha\xE2\x80\x8B"
                    "teau",
                    "chateau");
    assert_folds_to("\xEF\xBB\xBF"
                    "Bastia",
                    "bastia");
}

Test(text_fold, other_code_points_are_kept)
{
    assert_folds_to("Αθήνα", "Αθήνα");
    assert_folds_to("a€b", "a€b");
    assert_folds_to("µg", "µg");
    assert_folds_to("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"); /* U+10FFFF */
    assert_folds_to("\xED\x9F\xBF", "\xED\x9F\xBF");         /* U+D7FF */
    assert_folds_to("\xEE\x80\x80", "\xEE\x80\x80");         /* U+E000 */
    assert_folds_to("\xF0\x90\x80\x80", "\xF0\x90\x80\x80"); /* U+10000 */
    assert_folds_to("\xE0\xA0\x80", "\xE0\xA0\x80");         /* U+0800 */
}

Test(text_fold, rejects_invalid_utf8)
{
    assert_rejected("\xC3\x28");         /* bad continuation */
    assert_rejected("\xED\xA0\x80");     /* surrogate U+D800 */
    assert_rejected("\xED\xBF\xBF");     /* surrogate U+DFFF */
    assert_rejected("\xF4\x90\x80\x80"); /* U+110000 */
    assert_rejected("\xC0\xAF");         /* overlong '/' */
    assert_rejected("\xC1\xBF");         /* overlong */
    assert_rejected("\xE0\x80\xAF");     /* overlong */
    assert_rejected("\xF0\x80\x80\xAF"); /* overlong */
    assert_rejected("\xF5\x80\x80\x80");
    assert_rejected("\xFF");
    assert_rejected("\x80");            /* stray continuation */
    assert_rejected("Ch\xC3");          /* truncated at the end */
    assert_rejected("\xE2\x82");        /* truncated 3-byte */
    assert_rejected("\xF0\x9F\x98");    /* truncated 4-byte */
    assert_rejected("Paris \xE9t\xE9"); /* Latin-1, not UTF-8 */
}

Test(text_fold, null_input)
{
    char out[4] = "xyz";

    cr_assert_eq(text_fold(NULL, out, sizeof(out)), (size_t)-1);
    cr_assert_str_eq(out, "");
}

/* Folds in into the first out_size bytes of a buffer whose tail is a canary:
 * the canary must survive and the result must be NUL-terminated. */
static size_t fold_guarded(const char *in, size_t out_size, char *result)
{
    unsigned char buffer[BUFFER_MAX];
    size_t len;
    size_t i;

    cr_assert_lt(out_size, sizeof(buffer));
    memset(buffer, CANARY, sizeof(buffer));
    len = text_fold(in, (char *)buffer, out_size);
    for (i = out_size; i < sizeof(buffer); i++)
        cr_assert_eq(buffer[i], CANARY, "byte %zu written with out_size %zu", i, out_size);
    if (out_size > 0) {
        cr_assert_lt(len, out_size);
        cr_assert_eq(strlen((char *)buffer), len);
        memcpy(result, buffer, len + 1);
    }
    return len;
}

Test(text_fold, truncation_folds_what_fits)
{
    const char *name = "Château-Chinon (Ville)";
    const char *full = "chateau chinon ville";
    char out[BUFFER_MAX];
    size_t size;

    cr_assert_eq(fold_guarded(name, 0, out), 0);
    cr_assert_eq(text_fold(name, NULL, 0), 0);
    cr_assert_eq(fold_guarded(name, 1, out), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(fold_guarded(name, 8, out), 7);
    cr_assert_str_eq(out, "chateau");
    /* room for "chateau " but no trailing space is written */
    cr_assert_eq(fold_guarded(name, 9, out), 7);
    cr_assert_str_eq(out, "chateau");
    cr_assert_eq(fold_guarded(name, 10, out), 9);
    cr_assert_str_eq(out, "chateau c");
    cr_assert_eq(fold_guarded(name, strlen(full) + 1, out), strlen(full));
    cr_assert_str_eq(out, full);

    /* Every size gives a prefix of the full result. */
    for (size = 1; size <= strlen(name) + 1; size++) {
        size_t len = fold_guarded(name, size, out);

        cr_assert_eq(strncmp(out, full, len), 0, "out_size %zu", size);
    }
}

Test(text_fold, truncation_keeps_characters_whole)
{
    char out[BUFFER_MAX];

    /* U+20AC is 3 bytes: it fits whole or not at all. */
    cr_assert_eq(fold_guarded("a€b", 2, out), 1);
    cr_assert_str_eq(out, "a");
    cr_assert_eq(fold_guarded("a€b", 4, out), 1);
    cr_assert_str_eq(out, "a");
    cr_assert_eq(fold_guarded("a€b", 5, out), 4);
    cr_assert_str_eq(out, "a€");
    /* "œ" folds to "oe": never cut to "o". */
    cr_assert_eq(fold_guarded("xœ", 3, out), 1);
    cr_assert_str_eq(out, "x");
    cr_assert_eq(fold_guarded("xœ", 4, out), 3);
    cr_assert_str_eq(out, "xoe");
}

Test(text_fold, truncation_still_validates_the_rest)
{
    char out[4] = "xyz";

    cr_assert_eq(text_fold("Chateau\xC0\xAF", out, sizeof(out)), (size_t)-1);
    cr_assert_str_eq(out, "");
    cr_assert_eq(text_fold("Chateau\xC0\xAF", NULL, 0), (size_t)-1);
}

Test(text_fold, is_idempotent)
{
    char once[BUFFER_MAX];
    char twice[BUFFER_MAX];

    text_fold("  L’Haÿ-les-Roses (Œ, ß, Αθήνα) ", once, sizeof(once));
    text_fold(once, twice, sizeof(twice));
    cr_assert_str_eq(twice, once);
}

Test(text_folded_matches, words_are_order_free_prefixes)
{
    const char *name = "chateau chinon ville";

    cr_assert(text_folded_matches(name, "chateau chinon"));
    cr_assert(text_folded_matches(name, "chinon chat"));
    cr_assert(text_folded_matches(name, "ville"));
    cr_assert(text_folded_matches(name, "v c"));
    cr_assert(text_folded_matches(name, "chateau chinon ville"));
    cr_assert(text_folded_matches(name, "chinon chinon"));
    cr_assert_not(text_folded_matches(name, "hinon"));
    cr_assert_not(text_folded_matches(name, "villes"));
    cr_assert_not(text_folded_matches(name, "chateau nevers"));
    cr_assert_not(text_folded_matches(name, "chateauchinon"));
    /* longer than the last name word: must not read past its NUL */
    cr_assert_not(text_folded_matches(name, "villeneuve"));
    cr_assert_not(text_folded_matches("bastia", "bastiaxxxxxxxxxxxxxxxxxxxx"));
}

Test(text_folded_matches, empty_query_matches_everything)
{
    cr_assert(text_folded_matches("chateau chinon ville", ""));
    cr_assert(text_folded_matches("", ""));
    cr_assert(text_folded_matches("bastia", NULL));
    cr_assert(text_folded_matches("bastia", "  "));
    cr_assert_not(text_folded_matches("", "a"));
    cr_assert_not(text_folded_matches(NULL, "a"));
}

Test(text_folded_matches, end_to_end_with_fold)
{
    char name[BUFFER_MAX];
    char query[BUFFER_MAX];

    text_fold("Château-Chinon (Ville)", name, sizeof(name));
    text_fold("CHATEAU-chinon", query, sizeof(query));
    cr_assert(text_folded_matches(name, query));
    text_fold("l’abergement clém", query, sizeof(query));
    text_fold("L'Abergement-Clémenciat", name, sizeof(name));
    cr_assert(text_folded_matches(name, query));
}

Test(text_is_blank, spaces_only)
{
    cr_assert(text_is_blank(NULL));
    cr_assert(text_is_blank(""));
    cr_assert(text_is_blank(" \t\r\n"));
    cr_assert_not(text_is_blank(" a "));
    cr_assert_not(text_is_blank("\xc2\xa0"), "a no-break space is text");
}
