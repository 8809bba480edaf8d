/* SPDX-License-Identifier: MIT
 *
 * rules.c - the analyzer table (git's commands[]): the order here is the
 * order analyzers run in, and cause runs last because it reads the symptoms
 * the others found. Also the rule registry (--rules, docs, --help), rule
 * selection and ms_analyze_session().
 */
#include <stdio.h>
#include <string.h>

#include "analyze/findings_int.h"

static const struct msi_analyzer *const analyzers[] = {
    &msi_analyzer_errors,   &msi_analyzer_assessments, &msi_analyzer_context,
    &msi_analyzer_timing,   &msi_analyzer_integrity,   &msi_analyzer_friction,
    &msi_analyzer_loops,    &msi_analyzer_cause,
};
#define N_ANALYZERS (sizeof analyzers / sizeof analyzers[0])

size_t ms_rule_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < N_ANALYZERS; i++)
        n += analyzers[i]->n_rules;
    return n;
}

const ms_rule_info *ms_rule_at(size_t i)
{
    for (size_t a = 0; a < N_ANALYZERS; a++) {
        if (i < analyzers[a]->n_rules)
            return &analyzers[a]->rules[i];
        i -= analyzers[a]->n_rules;
    }
    return NULL;
}

/* The analyzer that registered rule, or NULL. */
static const struct msi_analyzer *analyzer_of(const char *rule)
{
    for (size_t a = 0; a < N_ANALYZERS; a++)
        for (size_t r = 0; r < analyzers[a]->n_rules; r++)
            if (strcmp(analyzers[a]->rules[r].id, rule) == 0)
                return analyzers[a];
    return NULL;
}

/* Does one --rules entry select rule? The rule id itself, its family (the
 * part before the dot: "context", "error") or its analyzer's name
 * ("errors", "loops"). */
static bool entry_selects(const char *e, const char *rule)
{
    if (!e || !*e)
        return false;
    if (strcmp(e, rule) == 0)
        return true;
    const char *dot = strchr(rule, '.');
    size_t fam = dot ? (size_t)(dot - rule) : strlen(rule);
    if (strlen(e) == fam && strncmp(e, rule, fam) == 0)
        return true;
    const struct msi_analyzer *an = analyzer_of(rule);
    if (an && strcmp(an->name, e) == 0)
        return true;
    if (!an) {
        /* a rule no table lists yet: its analyzer is its family's name
         * plus "s" (errors, loops, ...) when it is not the family itself */
        size_t n = strlen(e);
        if (n == fam + 1 && e[fam] == 's' && strncmp(e, rule, fam) == 0)
            return true;
    }
    return false;
}

bool msi_rule_selected(const struct ms_analyze_options *o, const char *rule)
{
    if (!o || !o->rules || o->n_rules == 0)
        return true;
    for (size_t i = 0; i < o->n_rules; i++)
        if (entry_selects(o->rules[i], rule))
            return true;
    return false;
}

/* Does o select some rule of analyzer an (or the analyzer by name)? */
static bool analyzer_selected(const struct ms_analyze_options *o, const struct msi_analyzer *an)
{
    if (!o || !o->rules || o->n_rules == 0)
        return true;
    for (size_t i = 0; i < o->n_rules; i++)
        if (o->rules[i] && strcmp(o->rules[i], an->name) == 0)
            return true;
    for (size_t r = 0; r < an->n_rules; r++)
        if (msi_rule_selected(o, an->rules[r].id))
            return true;
    return false;
}

static void set_error(struct ms_error *err, ms_code code, const char *msg)
{
    if (!err)
        return;
    err->code = code;
    err->offset = -1;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

ms_code ms_analyze_session(const ms_session *s, const struct ms_analyze_options *o,
                           ms_findings **out, struct ms_error *err)
{
    struct ms_analyze_options defaults;
    if (!o) {
        ms_analyze_options_init(&defaults);
        o = &defaults;
    }
    if (!out || !s) {
        if (out)
            *out = NULL;
        set_error(err, MS_E_INVALID, "analyze: no session");
        return MS_E_INVALID;
    }
    *out = NULL;
    ms_findings *f = msi_findings_new();
    if (!f) {
        set_error(err, MS_E_NOMEM, "analyze: out of memory");
        return MS_E_NOMEM;
    }
    /* The root-cause walk reads the other analyzers' symptoms: when it is
     * selected, every analyzer runs and the selection is applied after. */
    struct ms_analyze_options all = *o;
    all.rules = NULL;
    all.n_rules = 0;
    bool want_cause = analyzer_selected(o, &msi_analyzer_cause);
    const struct ms_analyze_options *run_o = want_cause ? &all : o;

    ms_code rc = MS_OK;
    for (size_t a = 0; a < N_ANALYZERS && rc == MS_OK; a++) {
        const struct msi_analyzer *an = analyzers[a];
        if (!analyzer_selected(run_o, an))
            continue;
        struct msx_arena tmp;
        msx_arena_init(&tmp, 0);
        struct msi_ctx c = {s, run_o, f, &tmp};
        rc = an->run(&c);
        msx_arena_release(&tmp);
    }
    if (rc != MS_OK) {
        ms_findings_free(f);
        set_error(err, rc, rc == MS_E_NOMEM ? "analyze: out of memory" : "analyze: failed");
        return rc;
    }
    msi_findings_filter(f, o);
    msi_findings_sort(f);
    *out = f;
    return MS_OK;
}
