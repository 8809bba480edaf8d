/* SPDX-License-Identifier: MIT
 *
 * assessments.c - what the session's own judges said:
 *   assessment.failing       a valid feedback whose value fails: false, "no",
 *                            "unresolved", ... or a number below the pass
 *                            mark of its scale; the rationale is always
 *                            shown. Session-level ones (metadata
 *                            mlflow.trace.session) are reported at the turn
 *                            that carries them, marked "session-level".
 *   assessment.scorer_error  an assessment that carries an error: the scorer
 *                            failed; never a failure of the trace
 *   assessment.trend         one score falling across turns
 *   assessment.by_turn       the failing scores of the session by turn, on
 *                            one line
 * Overridden feedback (valid=false) and expectations (ground truth, not a
 * score) are never failures. The scale of a numeric score is inferred from
 * the values of that name in the session (0/1, 0-1, 1-5, 1-10, 0-100).
 * Reads only the assessments of the session's traces; never prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "util/buf.h"

static const ms_rule_info rules[] = {
    {"assessment.failing", "assessments", MS_SEV_ERROR,
     "a feedback on a turn (or the session) fails: false, \"no\", \"unresolved\", a score below the pass mark; with its rationale"},
    {"assessment.scorer_error", "assessments", MS_SEV_INFO,
     "a scorer failed (the assessment carries an error): not a failure of the trace"},
    {"assessment.trend", "assessments", MS_SEV_WARN, "a score trends down across turns"},
    {"assessment.by_turn", "assessments", MS_SEV_INFO, "the failing scores of the session, by turn"},
};

#define SESSION_KEY "mlflow.trace.session"
/* A trend's rank correlation looks at this many scores at most. */
#define TAU_POINTS 512

/* ---- small string helpers ---------------------------------------------- */

static char lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static bool ieq(ms_str a, const char *z)
{
    size_t n = strlen(z);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a.ptr[i]) != z[i])
            return false;
    return true;
}

static bool icontains(ms_str a, const char *z)
{
    size_t n = strlen(z);
    for (size_t i = 0; i + n <= a.len; i++) {
        size_t k = 0;
        while (k < n && lower(a.ptr[i + k]) == z[k])
            k++;
        if (k == n)
            return true;
    }
    return false;
}

static bool str_eq(ms_str a, ms_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static ms_str trim(ms_str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\n' || s.ptr[0] == '\t' || s.ptr[0] == '\r')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\n' ||
                     s.ptr[s.len - 1] == '\t' || s.ptr[s.len - 1] == '\r'))
        s.len--;
    return s;
}

/* ---- reading a value ----------------------------------------------------- */

enum vkind { V_NONE = 0, V_BOOL, V_NUM, V_STR };

struct value {
    enum vkind kind;
    bool b;
    double num;   /* a score, not a count: scores may be fractions */
    bool is_int;  /* the number was written without fraction or exponent */
    ms_str str;   /* the string's content, quotes removed (escapes kept) */
};

/* The value of a feedback from its JSON text; V_NONE for null, objects,
 * arrays and what cannot be read. */
static struct value read_value(ms_str json)
{
    struct value v;
    memset(&v, 0, sizeof v);
    ms_str s = trim(json);
    if (!s.ptr || !s.len)
        return v;
    if (s.len == 4 && memcmp(s.ptr, "true", 4) == 0) {
        v.kind = V_BOOL;
        v.b = true;
    } else if (s.len == 5 && memcmp(s.ptr, "false", 5) == 0) {
        v.kind = V_BOOL;
        v.b = false;
    } else if (s.ptr[0] == '"' && s.len >= 2 && s.ptr[s.len - 1] == '"') {
        v.kind = V_STR;
        v.str = trim((ms_str){s.ptr + 1, s.len - 2});
        /* a number sent as a string ("4"): read it as the number */
        if (v.str.len && (v.str.ptr[0] == '-' || (v.str.ptr[0] >= '0' && v.str.ptr[0] <= '9'))) {
            struct value n = read_value(v.str);
            if (n.kind == V_NUM)
                return n;
        }
    } else if (s.ptr[0] == '-' || (s.ptr[0] >= '0' && s.ptr[0] <= '9')) {
        char buf[64];
        if (s.len >= sizeof buf)
            return v;
        memcpy(buf, s.ptr, s.len);
        buf[s.len] = '\0';
        char *end = NULL;
        double d = strtod(buf, &end);
        if (!end || *end != '\0' || d != d)
            return v;
        v.kind = V_NUM;
        v.num = d;
        v.is_int = strpbrk(buf, ".eE") == NULL;
    }
    return v;
}

/* Names whose "yes"/true means something bad happened ("toxicity",
 * "hallucination"), unless the name says the opposite ("non_toxic",
 * "hallucination_free", "harmless", "unbiased"). */
static bool is_inverted(ms_str name)
{
    static const char *const bad_when_true[] = {"toxic",  "hallucinat", "harm",  "pii",
                                                "jailbreak", "leak",     "frustrat", "bias",
                                                "unsafe"};
    static const char *const negated[] = {"non_", "non-", "nontoxic", "not_", "no_",  "no-",
                                          "_free", "-free", "harmless", "unbias", "without"};
    for (size_t i = 0; i < sizeof negated / sizeof negated[0]; i++)
        if (icontains(name, negated[i]))
            return false;
    for (size_t i = 0; i < sizeof bad_when_true / sizeof bad_when_true[0]; i++)
        if (icontains(name, bad_when_true[i]))
            return true;
    return false;
}

/* A categorical value: 1 passes, 0 fails, -1 unknown. */
static int judge_string(ms_str name, ms_str v)
{
    static const char *const fail[] = {"fail",      "failed",     "failure", "unresolved",
                                       "incorrect", "wrong",      "bad",     "negative",
                                       "thumbs_down", "thumbsdown", "thumbs down", "irrelevant",
                                       "not_relevant", "unhelpful", "poor",  "unsafe",
                                       "inadequate", "incomplete"};
    static const char *const pass[] = {"pass",     "passed",  "resolved", "correct",
                                       "good",     "positive", "thumbs_up", "thumbsup",
                                       "thumbs up", "relevant", "helpful",  "safe",
                                       "complete", "none",     "ok"};
    for (size_t i = 0; i < sizeof fail / sizeof fail[0]; i++)
        if (ieq(v, fail[i]))
            return 0;
    for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
        if (ieq(v, pass[i]))
            return 1;
    bool inv = is_inverted(name);
    if (ieq(v, "yes") || ieq(v, "true") || ieq(v, "y"))
        return inv ? 0 : 1;
    if (ieq(v, "no") || ieq(v, "false") || ieq(v, "n"))
        return inv ? 1 : 0;
    return -1;
}

/* The scale of one numeric score, inferred from every value of that name. */
struct scale {
    double max;       /* the top of the scale */
    double pass;      /* values below this fail (above, for inverted names) */
    const char *text; /* "0-1", "1-5", ... */
    bool known;
};

static struct scale infer_scale(double lo, double hi, bool all_int)
{
    struct scale s = {0, 0, "", false};
    if (lo < 0)
        return s;
    if (all_int && hi <= 1) {
        s = (struct scale){1, 1, "0/1", true};
    } else if (hi <= 1) {
        s = (struct scale){1, 0.5, "0-1", true};
    } else if (hi <= 5) {
        s = (struct scale){5, 3, "1-5", true};
    } else if (hi <= 10) {
        s = (struct scale){10, 5, "1-10", true};
    } else if (hi <= 100) {
        s = (struct scale){100, 50, "0-100", true};
    }
    return s;
}

/* One feedback of the session, read once. */
struct item {
    const ms_turn *turn;
    const ms_assessment *a;
    size_t index;      /* in info.assessments */
    struct value v;
    bool session_level;
    bool usable;       /* a valid feedback without error */
    bool scaled;       /* its name's scale was inferred */
    int verdict;       /* 1 pass, 0 fail, -1 unknown */
    double score;      /* 0..1 when verdict is known or the scale is */
    bool has_score;
    struct scale sc;
};

static bool has_session_key(const ms_assessment *a)
{
    for (size_t i = 0; i < a->n_metadata; i++)
        if (ieq(a->metadata[i].key, SESSION_KEY))
            return true;
    return false;
}

/* Did a later assessment of the trace override a (its "overrides" names
 * a's id)? Older stores may not have cleared a's valid flag. */
static bool is_overridden(const ms_trace *t, const ms_assessment *a)
{
    if (!a->assessment_id.len)
        return false;
    for (size_t i = 0; i < t->info.n_assessments; i++)
        if (&t->info.assessments[i] != a && str_eq(t->info.assessments[i].overrides, a->assessment_id))
            return true;
    return false;
}

static const ms_span *find_span(const ms_trace *t, ms_str id)
{
    if (!id.len)
        return NULL;
    for (size_t i = 0; i < t->n_spans; i++)
        if (strlen(t->spans[i].span_id) == id.len &&
            memcmp(t->spans[i].span_id, id.ptr, id.len) == 0)
            return &t->spans[i];
    return NULL;
}

/* The value as recorded, for messages: at most 60 bytes of it. */
static int vlen(ms_str v)
{
    return (int)(v.len > 60 ? 60 : v.len);
}

static ms_code report_failing(struct msi_ctx *c, const struct item *it)
{
    const ms_assessment *a = it->a;
    char path[64];
    snprintf(path, sizeof path, "info.assessments[%zu]", it->index);
    char where[160] = "";
    const ms_span *sp = it->turn ? find_span(it->turn->trace, a->span_id) : NULL;
    if (it->session_level)
        snprintf(where, sizeof where, "session-level ");
    else if (a->span_id.len)
        snprintf(where, sizeof where, "span-level (span %.*s) ", sp ? (int)sp->name.len : (int)a->span_id.len,
                 sp ? sp->name.ptr : a->span_id.ptr);
    char scale[64] = "";
    if (it->v.kind == V_NUM && it->sc.known && it->sc.max > 1)
        snprintf(scale, sizeof scale, " (below the pass mark %g of a %s scale)", it->sc.pass,
                 it->sc.text);
    else if (it->v.kind == V_NUM && it->sc.known && it->sc.pass < 1)
        snprintf(scale, sizeof scale, " (below the pass mark %g of a %s scale)", it->sc.pass,
                 it->sc.text);
    ms_str rat = trim(a->rationale);
    ms_finding *f = msi_finding_add(
        c, "assessment.failing", MS_SEV_ERROR, it->turn, a->span_id, msi_s(path), rat,
        "%sfeedback %.*s=%.*s%s from %.*s%s%.*s: %.*s", where, (int)a->name.len, a->name.ptr,
        vlen(a->value_json), a->value_json.ptr ? a->value_json.ptr : "", scale,
        a->source_type.len ? (int)a->source_type.len : 7,
        a->source_type.len ? a->source_type.ptr : "unknown", a->source_id.len ? " " : "",
        (int)a->source_id.len, a->source_id.ptr ? a->source_id.ptr : "",
        rat.len ? (int)rat.len : 14, rat.len ? rat.ptr : "(no rationale)");
    return f ? MS_OK : MS_E_NOMEM;
}

static ms_code report_scorer_error(struct msi_ctx *c, const ms_turn *tu, const ms_assessment *a,
                                   size_t index)
{
    char path[64];
    snprintf(path, sizeof path, "info.assessments[%zu].error", index);
    ms_str msg = trim(a->error_message);
    ms_finding *f = msi_finding_add(
        c, "assessment.scorer_error", MS_SEV_INFO, tu, a->span_id, msi_s(path), msg,
        "%sscorer %.*s (%.*s) failed: %.*s%s%.*s; a scorer failure, not a failure of the trace",
        has_session_key(a) ? "session-level " : "", (int)a->name.len, a->name.ptr,
        a->source_type.len ? (int)a->source_type.len : 7,
        a->source_type.len ? a->source_type.ptr : "unknown",
        a->error_code.len ? (int)a->error_code.len : 5,
        a->error_code.len ? a->error_code.ptr : "error", msg.len ? ": " : "",
        (int)(msg.len > 160 ? 160 : msg.len), msg.ptr ? msg.ptr : "");
    return f ? MS_OK : MS_E_NOMEM;
}

/* ---- trend ----------------------------------------------------------------- */

/* Scores of one name, one per turn (the last one recorded at that turn). */
static ms_code check_trend(struct msi_ctx *c, struct item *items, size_t n, bool *done)
{
    for (size_t i = 0; i < n; i++) {
        if (done[i] || !items[i].usable || items[i].session_level || !items[i].has_score)
            continue;
        /* collect this name's series in turn order (items are in turn order) */
        size_t *idx = msx_arena_alloc(c->tmp, n * sizeof *idx);
        if (!idx)
            return MS_E_NOMEM;
        size_t m = 0;
        for (size_t j = i; j < n; j++) {
            if (!items[j].usable || items[j].session_level || !items[j].has_score ||
                !str_eq(items[j].a->name, items[i].a->name))
                continue;
            done[j] = true;
            if (m && items[idx[m - 1]].turn->index == items[j].turn->index)
                idx[m - 1] = j; /* the later one at the same turn wins */
            else
                idx[m++] = j;
        }
        if (m < 3)
            continue;
        long drops = 0, conc = 0, disc = 0;
        size_t onset = 0;
        for (size_t k = 1; k < m; k++) {
            if (items[idx[k]].score < items[idx[k - 1]].score) {
                if (!drops)
                    onset = k;
                drops++;
            }
        }
        /* Kendall's tau over at most TAU_POINTS evenly spread scores */
        size_t stride = m / TAU_POINTS + 1, pairs = 0;
        for (size_t p = 0; p < m; p += stride)
            for (size_t q = p + stride; q < m; q += stride) {
                pairs++;
                if (items[idx[q]].score > items[idx[p]].score)
                    conc++;
                else if (items[idx[q]].score < items[idx[p]].score)
                    disc++;
            }
        const struct item *first = &items[idx[0]], *last = &items[idx[m - 1]];
        if (drops < 2 || !(last->score < first->score) || 2 * (disc - conc) < (long)pairs)
            continue;
        /* "5 (t2) -> 4 (t4) -> 2 (t6)", the first 8 points */
        struct msx_buf b;
        msx_buf_init(&b, 4096);
        for (size_t k = 0; k < m && k < 8; k++) {
            const struct item *it = &items[idx[k]];
            msx_buf_addf(&b, "%s%.*s (t%lld)", k ? " -> " : "", vlen(it->a->value_json),
                         it->a->value_json.ptr ? it->a->value_json.ptr : "",
                         (long long)it->turn->index);
        }
        if (m > 8)
            msx_buf_addf(&b, " -> ... (%zu scores)", m);
        size_t blen = 0;
        char *text = msx_buf_status(&b) == MS_OK ? msx_buf_take(&b, &blen) : NULL;
        msx_buf_release(&b);
        if (!text)
            return MS_E_NOMEM;
        const struct item *on = &items[idx[onset]];
        char path[64];
        snprintf(path, sizeof path, "info.assessments[%zu]", on->index);
        ms_finding *f = msi_finding_add(
            c, "assessment.trend", MS_SEV_WARN, on->turn, on->a->span_id, msi_s(path),
            on->a->rationale, "%.*s trends down across turns %lld-%lld: %s", (int)first->a->name.len,
            first->a->name.ptr, (long long)first->turn->index, (long long)last->turn->index, text);
        free(text);
        if (!f)
            return MS_E_NOMEM;
    }
    return MS_OK;
}

/* ---- the analyzer ------------------------------------------------------------ */

static ms_code run_assessments(struct msi_ctx *c)
{
    const ms_session *s = c->s;
    size_t total = 0;
    for (size_t t = 0; t < s->n_turns; t++)
        if (s->turns[t].trace)
            total += s->turns[t].trace->info.n_assessments;
    if (!total)
        return MS_OK;
    struct item *items = msx_arena_calloc(c->tmp, total, sizeof *items);
    bool *done = msx_arena_calloc(c->tmp, total, sizeof *done);
    if (!items || !done)
        return MS_E_NOMEM;

    /* read every feedback once, in turn order */
    size_t n = 0;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_turn *tu = &s->turns[t];
        if (!tu->trace)
            continue;
        for (size_t k = 0; k < tu->trace->info.n_assessments; k++) {
            const ms_assessment *a = &tu->trace->info.assessments[k];
            struct item *it = &items[n++];
            it->turn = tu;
            it->a = a;
            it->index = k;
            it->session_level = has_session_key(a);
            it->verdict = -1;
            bool valid = (a->has_valid ? a->valid : true) && !is_overridden(tu->trace, a);
            it->usable = !a->is_expectation && !a->has_error && valid;
            if (it->usable)
                it->v = read_value(a->value_json);
        }
    }

    /* numeric scales, per name */
    for (size_t i = 0; i < n; i++) {
        if (!items[i].usable || items[i].v.kind != V_NUM || items[i].scaled)
            continue;
        double lo = items[i].v.num, hi = items[i].v.num;
        bool all_int = items[i].v.is_int;
        for (size_t j = i + 1; j < n; j++)
            if (items[j].usable && items[j].v.kind == V_NUM &&
                str_eq(items[j].a->name, items[i].a->name)) {
                if (items[j].v.num < lo)
                    lo = items[j].v.num;
                if (items[j].v.num > hi)
                    hi = items[j].v.num;
                all_int = all_int && items[j].v.is_int;
            }
        struct scale sc = infer_scale(lo, hi, all_int);
        for (size_t j = i; j < n; j++)
            if (items[j].usable && items[j].v.kind == V_NUM &&
                str_eq(items[j].a->name, items[i].a->name)) {
                items[j].sc = sc;
                items[j].scaled = true;
            }
    }

    /* verdicts */
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (!it->usable)
            continue;
        bool inv = is_inverted(it->a->name);
        switch (it->v.kind) {
        case V_BOOL:
            it->verdict = (it->v.b != inv) ? 1 : 0;
            break;
        case V_STR:
            it->verdict = judge_string(it->a->name, it->v.str);
            break;
        case V_NUM:
            if (it->sc.known) {
                bool below = it->v.num < it->sc.pass;
                it->verdict = (below != inv) ? 0 : 1;
                double sc = it->v.num / it->sc.max;
                it->score = inv ? 1 - sc : sc;
                it->has_score = true;
            }
            break;
        case V_NONE:
            break;
        }
        if (it->v.kind != V_NUM && it->verdict >= 0) {
            it->score = it->verdict;
            it->has_score = true;
        }
    }

    size_t failing = 0;
    ms_code rc = MS_OK;
    for (size_t i = 0; i < n && rc == MS_OK; i++) {
        const struct item *it = &items[i];
        if (it->a->has_error) {
            if (msi_rule_selected(c->o, "assessment.scorer_error"))
                rc = report_scorer_error(c, it->turn, it->a, it->index);
            continue;
        }
        if (it->usable && it->verdict == 0) {
            failing++;
            rc = report_failing(c, it);
        }
    }
    if (rc != MS_OK)
        return rc;

    rc = check_trend(c, items, n, done);
    if (rc != MS_OK || failing < 2)
        return rc; /* one failing score needs no summary */

    /* failing scores by turn, on one line */
    struct msx_buf b;
    msx_buf_init(&b, 8192);
    int64_t cur = -1;
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const struct item *it = &items[i];
        if (!it->usable || it->verdict != 0)
            continue;
        if (shown == 12) {
            msx_buf_addf(&b, "; ... (%zu in all)", failing);
            break;
        }
        if (it->turn->index != cur) {
            msx_buf_addf(&b, "%sturn %lld: ", cur < 0 ? "" : "; ", (long long)it->turn->index);
            cur = it->turn->index;
        } else {
            msx_buf_adds(&b, ", ");
        }
        msx_buf_addf(&b, "%s%.*s=%.*s", it->session_level ? "session-level " : "",
                     (int)it->a->name.len, it->a->name.ptr, vlen(it->a->value_json),
                     it->a->value_json.ptr ? it->a->value_json.ptr : "");
        shown++;
    }
    size_t blen = 0;
    char *text = msx_buf_status(&b) == MS_OK ? msx_buf_take(&b, &blen) : NULL;
    msx_buf_release(&b);
    if (!text)
        return MS_E_NOMEM;
    ms_finding *f = msi_finding_add(c, "assessment.by_turn", MS_SEV_INFO, NULL, (ms_str){NULL, 0},
                                    (ms_str){NULL, 0}, (ms_str){NULL, 0},
                                    "failing scores by turn: %s", text);
    free(text);
    return f ? MS_OK : MS_E_NOMEM;
}

const struct msi_analyzer msi_analyzer_assessments = {
    "assessments", rules, sizeof rules / sizeof rules[0], run_assessments};
