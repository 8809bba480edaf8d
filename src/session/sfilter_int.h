/* SPDX-License-Identifier: MIT
 *
 * sfilter_int.h - the parsed form of a session filter, shared by the
 * parser/evaluator (sfilter.c) and the SQL compiler of its atoms
 * (sfilter_sql.c). Internal.
 */
#ifndef MSI_SFILTER_INT_H
#define MSI_SFILTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlsession/sfilter.h"

enum msi_sf_scope { MSI_SF_SESSION = 1, MSI_SF_TURN = 2, MSI_SF_SPAN = 3 };

enum msi_sf_kind {
    MSI_SK_STR = 1,     /* text; null when absent */
    MSI_SK_INT,         /* int64 */
    MSI_SK_NUM,         /* double (cost) */
    MSI_SK_DUR,         /* int64 ms (span.duration: compared in ns) */
    MSI_SK_TIME,        /* int64 ns from RFC 3339 (or integer ms) */
    MSI_SK_STATUS,      /* turn state name: OK, ERROR, IN_PROGRESS, ... */
    MSI_SK_SPAN_STATUS, /* OK, ERROR, UNSET */
    MSI_SK_SCORE,       /* an assessment value: text, number or boolean */
};

enum msi_sf_fid {
    MSI_SF_ID = 1,
    MSI_SF_USER,
    MSI_SF_EXPERIMENT,
    MSI_SF_TURNS,
    MSI_SF_ERRORS,
    MSI_SF_IN_PROGRESS,
    MSI_SF_TOK_INPUT,
    MSI_SF_TOK_OUTPUT,
    MSI_SF_TOK_CACHED,
    MSI_SF_TOK_TOTAL,
    MSI_SF_COST,
    MSI_SF_DURATION,
    MSI_SF_BUSY,
    MSI_SF_IDLE,
    MSI_SF_IDLE_MAX,
    MSI_SF_LAT_P50,
    MSI_SF_LAT_P95,
    MSI_SF_FIRST,
    MSI_SF_LAST,
    MSI_SF_FIRST_INPUT,
    MSI_SF_LAST_OUTPUT,
    MSI_SF_SCORE,
    /* per turn */
    MSI_TF_STATUS,
    MSI_TF_LATENCY,
    MSI_TF_TOK_INPUT,
    MSI_TF_TOK_OUTPUT,
    MSI_TF_TOK_TOTAL,
    MSI_TF_INPUT,
    MSI_TF_OUTPUT,
    MSI_TF_NAME,
    MSI_TF_TAG,
    MSI_TF_METADATA,
    /* per span */
    MSI_PF_TYPE,
    MSI_PF_STATUS,
    MSI_PF_NAME,
    MSI_PF_DURATION,
};

struct msi_sf_fdef {
    const char *name;
    enum msi_sf_fid id;
    enum msi_sf_kind kind;
    enum msi_sf_scope scope;
    bool keyed; /* score.NAME, tag.KEY, metadata.KEY */
};

enum msi_sf_op {
    MSI_SO_EQ = 1,
    MSI_SO_NE,
    MSI_SO_LT,
    MSI_SO_LE,
    MSI_SO_GT,
    MSI_SO_GE,
    MSI_SO_CONTAINS, /* ASCII case-insensitive substring */
    MSI_SO_LIKE,
    MSI_SO_ILIKE,
    MSI_SO_MATCHES,
    MSI_SO_IN,
    MSI_SO_IS_NULL,
};

struct msi_sf_val {
    char *s;      /* text (strings; a number or boolean as written); owned */
    size_t n;
    int64_t i;    /* INT, DUR (ms), TIME (ns) */
    double d;     /* NUM; numbers for scores */
    bool is_num;  /* a numeric literal (scores) */
};

enum msi_sf_ntype { MSI_SN_AND = 1, MSI_SN_OR, MSI_SN_NOT, MSI_SN_CMP, MSI_SN_ATOM, MSI_SN_SPAN };

struct msi_sf_node {
    enum msi_sf_ntype type;
    struct msi_sf_node *a, *b; /* AND/OR: both; NOT/SPAN: a */
    size_t atom;               /* ATOM: its index */
    /* CMP */
    const struct msi_sf_fdef *fd;
    char *key; /* score/tag/metadata key, owned, NUL-terminated */
    size_t key_len;
    enum msi_sf_op op;
    bool neg; /* not contains / not like / not in / is not null ... */
    struct msi_sf_val *vals;
    size_t n_vals;
    void *re; /* MATCHES: compiled */
    size_t off;
};

struct msi_sf_atom {
    struct msi_sf_node *pred; /* over one turn */
    bool all;                 /* all(...) rather than any(...) */
    bool needs_spans;
    size_t off;
};

struct ms_sfilter {
    char *text;
    struct msi_sf_node *root; /* NULL: every session */
    struct msi_sf_atom atoms[MS_SFILTER_MAX_ATOMS];
    size_t n_atoms;
};

#endif
