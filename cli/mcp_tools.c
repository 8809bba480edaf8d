/* SPDX-License-Identifier: MIT
 *
 * The tools of `mlsession mcp`. Answers are compact text a model can read
 * in one go: JSON on one line for lists, short labelled lines for
 * transcripts and findings, each within a budget (max_tokens, about four
 * bytes a token) and saying what was left out and how to get it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/mcp.h"
#include "mlsession/analyze.h"
#include "mlsession/filter.h"
#include "mlsession/patterns.h"
#include "mlsession/session.h"
#include "mlsession/sfilter.h"
#include "util/timefmt.h"
#include "util/utf8.h"

#define DEFAULT_TOKENS 4000
#define BYTES_PER_TOKEN 4

/* ---- arguments --------------------------------------------------------- */

/* A string argument: *v = NULL when absent; false (with the message in
 * out) when present but not a string, or absent and required. */
static bool arg_str(msx_json args, const char *key, bool required, const char **v,
                    struct msx_buf *out)
{
    msx_json a = msx_json_get(args, key);
    *v = NULL;
    if (!msx_json_ok(a) || msx_json_is_null_or_none(a)) {
        if (required)
            msx_buf_addf(out, "invalid arguments: '%s' is required", key);
        return !required;
    }
    ms_str s = msx_json_str(a);
    if (!s.ptr || memchr(s.ptr, 0, s.len)) {
        msx_buf_addf(out, "invalid arguments: '%s' must be a string", key);
        return false;
    }
    *v = s.ptr;
    return true;
}

static bool arg_int(msx_json args, const char *key, int64_t def, int64_t lo, int64_t hi,
                    int64_t *v, struct msx_buf *out)
{
    msx_json a = msx_json_get(args, key);
    *v = def;
    if (!msx_json_ok(a) || msx_json_is_null_or_none(a))
        return true;
    if (!msx_json_int64(a, v) || *v < lo || *v > hi) {
        msx_buf_addf(out, "invalid arguments: '%s' must be an integer from %lld to %lld", key,
                     (long long)lo, (long long)hi);
        return false;
    }
    return true;
}

/* Rejects keys the tool does not know (a typo should not pass silently). */
static bool known_args(msx_json args, const char *const *keys, struct msx_buf *out)
{
    if (!msx_json_ok(args))
        return true;
    struct msx_json_iter it = msx_json_iter_init(args);
    ms_str k;
    msx_json v;
    while (msx_json_next(&it, &k, &v)) {
        bool ok = false;
        for (const char *const *p = keys; *p && !ok; p++)
            ok = strlen(*p) == k.len && memcmp(*p, k.ptr, k.len) == 0;
        if (!ok) {
            msx_buf_addf(out, "invalid arguments: unknown argument '%.*s'", (int)k.len, k.ptr);
            return false;
        }
    }
    return true;
}

/* The experiments to look at: the tool's experiment_id, else the
 * server's -x. */
static void experiments(struct mcp_server *srv, const char *exp, const char **one,
                        const char *const **ids, size_t *n)
{
    if (exp) {
        *one = exp;
        *ids = one;
        *n = 1;
    } else {
        *ids = srv->x.n ? srv->x.ptrs : NULL;
        *n = srv->x.n;
    }
}

/* ---- text helpers ------------------------------------------------------ */

/* Untrusted text on one line, cut to max bytes with an ellipsis. */
static void text(struct msx_buf *b, ms_str s, size_t max)
{
    cli_put_text(b, s, max, CLI_ESC_LINE, NULL);
}

static void when(struct msx_buf *b, int64_t ms)
{
    msx_rfc3339_format_ns(b, ms * 1000000);
}

static void store_error(struct msx_buf *out, const struct ms_error *err)
{
    msx_buf_addf(out, "%s", err->msg[0] ? err->msg : ms_strerror(err->code));
}

static const char *const ROLE[] = {"other", "system", "user", "assistant", "tool"};

/* ---- list_sessions ----------------------------------------------------- */

static bool t_list_sessions(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    static const char *const keys[] = {"filter", "experiment_id", "sort", "limit", NULL};
    const char *filter, *exp, *sort;
    int64_t limit;
    if (!known_args(args, keys, out) || !arg_str(args, "filter", false, &filter, out) ||
        !arg_str(args, "experiment_id", false, &exp, out) ||
        !arg_str(args, "sort", false, &sort, out) ||
        !arg_int(args, "limit", 20, 1, 500, &limit, out))
        return false;
    struct ms_session_query q = {0};
    q.version = 1;
    q.limit = limit;
    static const char *const sorts[] = {"last", "first", "turns", "tokens", "errors", "duration"};
    if (sort) {
        size_t i = 0;
        while (i < 6 && strcmp(sort, sorts[i]) != 0)
            i++;
        if (i == 6) {
            msx_buf_addf(out, "invalid arguments: sort must be one of last, first, turns, "
                              "tokens, errors, duration");
            return false;
        }
        q.sort = (ms_session_sort)i;
    }
    struct ms_error err = {0};
    ms_sfilter *f = NULL;
    if (filter && ms_sfilter_parse(filter, &f, &err) != MS_OK) {
        msx_buf_addf(out, "invalid filter at byte %lld: %s (docs/filters.md)",
                     (long long)err.offset, err.msg);
        return false;
    }
    q.filter = f;
    const char *one;
    experiments(srv, exp, &one, &q.experiment_ids, &q.n_experiment_ids);
    ms_session_list *l = NULL;
    bool ok = ms_sessions_list(srv->store, &q, &l, &err) == MS_OK;
    if (!ok)
        store_error(out, &err);
    else {
        struct msx_jw w;
        msx_jw_init(&w, out, 0);
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "sessions_matching");
        msx_jw_int(&w, (int64_t)ms_session_list_total(l));
        msx_jw_keyz(&w, "shown");
        msx_jw_int(&w, (int64_t)ms_session_list_count(l));
        msx_jw_keyz(&w, "sessions");
        msx_jw_arr_begin(&w);
        for (size_t i = 0; i < ms_session_list_count(l); i++) {
            const ms_session_summary *s = ms_session_list_at(l, i);
            struct msx_buf t;
            msx_buf_init(&t, MSX_CAP_LINE);
            msx_jw_obj_begin(&w);
            msx_jw_keyz(&w, "id");
            msx_jw_str(&w, s->session_id.ptr, s->session_id.len);
            msx_jw_keyz(&w, "user");
            if (s->user_id.len)
                msx_jw_str(&w, s->user_id.ptr, s->user_id.len);
            else
                msx_jw_null(&w);
            msx_jw_keyz(&w, "turns");
            msx_jw_int(&w, s->turns);
            when(&t, s->first_ms);
            msx_jw_keyz(&w, "first");
            msx_jw_str(&w, t.ptr, t.len);
            msx_jw_keyz(&w, "duration_ms");
            msx_jw_int(&w, s->duration_ms);
            msx_jw_keyz(&w, "idle_max_ms");
            msx_jw_int(&w, s->idle_max_ms);
            msx_jw_keyz(&w, "tokens");
            if (s->has_tokens)
                msx_jw_int(&w, s->tokens_total);
            else
                msx_jw_null(&w);
            msx_jw_keyz(&w, "errors");
            msx_jw_int(&w, s->errors);
            if (s->in_progress) {
                msx_jw_keyz(&w, "in_progress");
                msx_jw_int(&w, s->in_progress);
            }
            msx_buf_reset(&t);
            text(&t, s->first_input, 100);
            msx_jw_keyz(&w, "first_input");
            msx_jw_str(&w, t.ptr ? t.ptr : "", t.len);
            if (s->n_scores) {
                msx_jw_keyz(&w, "scores");
                msx_jw_obj_begin(&w);
                for (size_t k = 0; k < s->n_scores; k++) {
                    msx_jw_key(&w, s->scores[k].name.ptr, s->scores[k].name.len);
                    if (s->scores[k].is_error)
                        msx_jw_strz(&w, "<scorer error>");
                    else
                        msx_jw_str(&w, s->scores[k].value_json.ptr, s->scores[k].value_json.len);
                }
                msx_jw_obj_end(&w);
            }
            msx_jw_obj_end(&w);
            msx_buf_release(&t);
        }
        msx_jw_arr_end(&w);
        msx_jw_obj_end(&w);
    }
    ms_session_list_free(l);
    ms_sfilter_free(f);
    return ok;
}

/* ---- sessions ---------------------------------------------------------- */

static bool load(struct mcp_server *srv, msx_json args, ms_session **s, struct msx_buf *out)
{
    const char *sid, *exp;
    if (!arg_str(args, "session_id", true, &sid, out) ||
        !arg_str(args, "experiment_id", false, &exp, out))
        return false;
    const char *one;
    const char *const *ids;
    size_t n;
    experiments(srv, exp, &one, &ids, &n);
    struct ms_error err = {0};
    if (ms_session_load(srv->store, ids, n, sid, s, &err) != MS_OK) {
        store_error(out, &err);
        if (err.code == MS_E_NOTFOUND)
            msx_buf_adds(out, " (list_sessions shows the ids)");
        return false;
    }
    return true;
}

static void turn_head(struct msx_buf *b, const ms_turn *t, size_t n_turns)
{
    msx_buf_addf(b, "## turn %lld/%zu  ", (long long)t->index, n_turns);
    when(b, t->start_ms);
    if (t->index > 1) {
        msx_buf_addf(b, "  gap %llds", (long long)(t->gap_ms / 1000));
    }
    if (t->latency_ms >= 0)
        msx_buf_addf(b, "  latency %lldms", (long long)t->latency_ms);
    const ms_token_usage *u = &t->trace->info.usage;
    if (u->present & MS_USAGE_INPUT)
        msx_buf_addf(b, "  tokens in %lld out %lld", (long long)u->input_tokens,
                     (long long)u->output_tokens);
    msx_buf_addf(b, "  %s  %.*s\n", ms_trace_state_name(t->trace->info.state),
                 (int)t->trace->info.trace_id.len, t->trace->info.trace_id.ptr);
}

static void turn_body(struct msx_buf *b, const ms_turn *t, size_t max)
{
    for (size_t i = t->first_new; i < t->n_input; i++) {
        const ms_message *m = &t->input[i];
        if (m->role == MS_ROLE_SYSTEM && t->index > 1)
            continue;
        msx_buf_addf(b, "%s: ", ROLE[m->role <= MS_ROLE_TOOL ? m->role : 0]);
        text(b, m->text, max);
        msx_buf_addc(b, '\n');
    }
    for (size_t i = 0; i < t->n_docs; i++) {
        const ms_document *d = &t->docs[i];
        msx_buf_addf(b, "document %lld: ", (long long)d->rank);
        text(b, d->uri.len ? d->uri : d->id, 120);
        msx_buf_adds(b, " \"");
        text(b, d->text, 160);
        msx_buf_adds(b, "\"\n");
    }
    for (size_t i = 0; i < t->n_tools; i++) {
        const ms_tool_call *c = &t->tools[i];
        msx_buf_adds(b, "tool ");
        text(b, c->name, 80);
        msx_buf_addc(b, '(');
        text(b, c->arguments, 160);
        msx_buf_adds(b, c->failed ? ") FAILED: " : ") -> ");
        text(b, c->failed ? c->error : c->result, 160);
        msx_buf_addc(b, '\n');
    }
    for (size_t i = 0; i < t->n_output; i++) {
        msx_buf_adds(b, "assistant: ");
        text(b, t->output[i].text, max);
        msx_buf_addc(b, '\n');
    }
    const ms_trace_info *in = &t->trace->info;
    for (size_t i = 0; i < in->n_assessments; i++) {
        const ms_assessment *a = &in->assessments[i];
        if (a->has_valid && !a->valid)
            continue;
        msx_buf_adds(b, "assessment ");
        text(b, a->name, 60);
        if (a->has_error) {
            msx_buf_adds(b, ": scorer error ");
            text(b, a->error_message, 120);
        } else {
            msx_buf_addc(b, '=');
            text(b, a->value_json, 80);
            if (a->rationale.len) {
                msx_buf_adds(b, " (");
                text(b, a->rationale, 160);
                msx_buf_addc(b, ')');
            }
        }
        msx_buf_addc(b, '\n');
    }
}

static bool t_get_session(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    static const char *const keys[] = {"session_id", "experiment_id", "max_tokens", "from_turn",
                                       NULL};
    int64_t budget, from;
    if (!known_args(args, keys, out) ||
        !arg_int(args, "max_tokens", DEFAULT_TOKENS, 200, 100000, &budget, out) ||
        !arg_int(args, "from_turn", 1, 1, INT64_MAX / 2, &from, out))
        return false;
    ms_session *s = NULL;
    if (!load(srv, args, &s, out))
        return false;
    size_t cap = (size_t)budget * BYTES_PER_TOKEN;
    msx_buf_adds(out, "# session ");
    text(out, s->session_id, 200);
    if (s->user_id.len) {
        msx_buf_adds(out, "  user ");
        text(out, s->user_id, 100);
    }
    msx_buf_addf(out, "  %zu turns\n", s->n_turns);
    struct msx_buf turn;
    msx_buf_init(&turn, MSX_CAP_OUTPUT);
    size_t shown = 0;
    for (size_t i = (size_t)from - 1; i < s->n_turns; i++) {
        msx_buf_reset(&turn);
        turn_head(&turn, &s->turns[i], s->n_turns);
        turn_body(&turn, &s->turns[i], 600);
        if (shown && out->len + turn.len + 120 > cap) {
            msx_buf_addf(out, "[budget of %lld tokens reached: turns %zu-%zu not shown; call "
                              "get_session with from_turn=%zu]\n",
                         (long long)budget, i + 1, s->n_turns, i + 1);
            break;
        }
        msx_buf_add(out, turn.ptr, turn.len);
        shown++;
    }
    if ((size_t)from > s->n_turns)
        msx_buf_addf(out, "(from_turn %lld is past the last turn)\n", (long long)from);
    msx_buf_release(&turn);
    ms_session_free(s);
    return true;
}

/* ---- findings ---------------------------------------------------------- */

static void finding(struct msx_buf *b, const ms_finding *f, bool chain)
{
    msx_buf_addf(b, "%s %s", ms_severity_name(f->severity), f->rule);
    if (f->turn)
        msx_buf_addf(b, " turn %lld", (long long)f->turn);
    msx_buf_adds(b, ": ");
    text(b, f->message, 400);
    msx_buf_addc(b, '\n');
    if (f->excerpt.len) {
        msx_buf_adds(b, "  evidence: ");
        text(b, f->excerpt, 240);
        if (f->path.len) {
            msx_buf_adds(b, " [");
            text(b, f->path, 120);
            msx_buf_addc(b, ']');
        }
        msx_buf_addc(b, '\n');
    }
    for (size_t i = 0; chain && i < f->n_chain; i++) {
        const ms_link *l = &f->chain[i];
        msx_buf_addf(b, "  %s turn %lld: ", i == 0 ? "cause" : "->", (long long)l->turn);
        text(b, l->why, 300);
        if (l->excerpt.len) {
            msx_buf_adds(b, " | ");
            text(b, l->excerpt, 200);
        }
        msx_buf_addc(b, '\n');
    }
}

static bool analyze(struct mcp_server *srv, msx_json args, bool causes_only,
                    struct msx_buf *out)
{
    static const char *const keys[] = {"session_id", "experiment_id", "rules", "min_severity",
                                       NULL};
    const char *rules_csv, *min;
    if (!known_args(args, keys, out) || !arg_str(args, "rules", false, &rules_csv, out) ||
        !arg_str(args, "min_severity", false, &min, out))
        return false;
    int floor = MS_SEV_INFO;
    if (min) {
        if (strcmp(min, "info") == 0)
            floor = MS_SEV_INFO;
        else if (strcmp(min, "warn") == 0)
            floor = MS_SEV_WARN;
        else if (strcmp(min, "error") == 0)
            floor = MS_SEV_ERROR;
        else {
            msx_buf_adds(out, "invalid arguments: min_severity must be info, warn or error");
            return false;
        }
    }
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    char *copy = rules_csv ? strdup(rules_csv) : NULL;
    const char *list[64];
    size_t nr = 0;
    for (char *save = NULL, *p = copy ? strtok_r(copy, ",", &save) : NULL; p && nr < 64;
         p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        bool known = false;
        for (size_t i = 0; i < ms_rule_count() && !known; i++) {
            const ms_rule_info *r = ms_rule_at(i);
            known = strcmp(r->id, p) == 0 || strcmp(r->analyzer, p) == 0;
        }
        if (!known) {
            msx_buf_addf(out, "invalid arguments: unknown rule or analyzer '%s'", p);
            free(copy);
            return false;
        }
        list[nr++] = p;
    }
    o.rules = nr ? list : NULL;
    o.n_rules = nr;
    ms_session *s = NULL;
    if (!load(srv, args, &s, out)) {
        free(copy);
        return false;
    }
    ms_findings *f = NULL;
    struct ms_error err = {0};
    bool ok = ms_analyze_session(s, &o, &f, &err) == MS_OK;
    if (!ok)
        store_error(out, &err);
    else {
        size_t shown = 0, n = ms_findings_count(f);
        msx_buf_adds(out, "session ");
        text(out, s->session_id, 200);
        msx_buf_addf(out, " (%zu turns)\n", s->n_turns);
        for (size_t i = 0; i < n; i++) {
            const ms_finding *x = ms_findings_at(f, i);
            bool root = strcmp(x->rule, "cause.root") == 0;
            if ((int)x->severity < floor || (causes_only && !root))
                continue;
            finding(out, x, root);
            shown++;
        }
        if (causes_only && !shown) {
            msx_buf_adds(out, "no root cause found: no symptom here is carried from an earlier "
                              "turn. Symptoms:\n");
            for (size_t i = 0; i < n; i++)
                if (ms_findings_at(f, i)->severity == MS_SEV_ERROR)
                    finding(out, ms_findings_at(f, i), false), shown++;
            if (!shown)
                msx_buf_adds(out, "(none at error level)\n");
        } else if (!shown)
            msx_buf_adds(out, "no findings\n");
    }
    ms_findings_free(f);
    ms_session_free(s);
    free(copy);
    return ok;
}

static bool t_analyze_session(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    return analyze(srv, args, false, out);
}

static bool t_find_root_cause(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    return analyze(srv, args, true, out);
}

/* ---- failure_by_turn --------------------------------------------------- */

static bool t_failure_by_turn(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    static const char *const keys[] = {"filter", "experiment_id", "max_turns", NULL};
    const char *filter, *exp;
    int64_t max_turns;
    if (!known_args(args, keys, out) || !arg_str(args, "filter", false, &filter, out) ||
        !arg_str(args, "experiment_id", false, &exp, out) ||
        !arg_int(args, "max_turns", 30, 1, 1000, &max_turns, out))
        return false;
    struct ms_error err = {0};
    ms_sfilter *f = NULL;
    if (filter && ms_sfilter_parse(filter, &f, &err) != MS_OK) {
        msx_buf_addf(out, "invalid filter at byte %lld: %s", (long long)err.offset, err.msg);
        return false;
    }
    struct ms_session_query q = {0};
    q.version = 1;
    q.filter = f;
    const char *one;
    experiments(srv, exp, &one, &q.experiment_ids, &q.n_experiment_ids);
    struct ms_patterns_options o;
    ms_patterns_options_init(&o);
    ms_patterns *p = NULL;
    bool ok = ms_patterns_compute(srv->store, &q, &o, &p, &err) == MS_OK;
    if (!ok)
        store_error(out, &err);
    else {
        const ms_patterns_result *r = ms_patterns_get(p);
        msx_buf_addf(out,
                     "%lld sessions, %lld with an error (first error: a turn in ERROR or an "
                     "error-level errors finding), %lld abandoned\n"
                     "turn  reached  first_error  hazard  abandoned\n",
                     (long long)r->sessions, (long long)r->errored, (long long)r->abandoned);
        for (size_t i = 0; i < r->n_by_turn && (int64_t)i < max_turns; i++) {
            const ms_pat_turn *t = &r->by_turn[i];
            int64_t per_mille = t->reached ? t->first_error * 1000 / t->reached : 0;
            msx_buf_addf(out, "%4lld  %7lld  %11lld  %3lld.%lld%%  %9lld\n", (long long)t->turn,
                         (long long)t->reached, (long long)t->first_error,
                         (long long)(per_mille / 10), (long long)(per_mille % 10),
                         (long long)t->abandoned);
        }
        if ((int64_t)r->n_by_turn > max_turns)
            msx_buf_addf(out, "[turns %lld-%zu not shown; raise max_turns]\n",
                         (long long)max_turns + 1, r->n_by_turn);
    }
    ms_patterns_free(p);
    ms_sfilter_free(f);
    return ok;
}

/* ---- context_growth ---------------------------------------------------- */

static bool t_context_growth(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    static const char *const keys[] = {"session_id", "experiment_id", "windows", NULL};
    const char *windows;
    if (!known_args(args, keys, out) || !arg_str(args, "windows", false, &windows, out))
        return false;
    ms_session *s = NULL;
    if (!load(srv, args, &s, out))
        return false;
    msx_buf_adds(out, "session ");
    text(out, s->session_id, 200);
    msx_buf_addf(out, ": input tokens per turn\nturn  input  growth  cached  output\n");
    int64_t prev = -1;
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_token_usage *u = &s->turns[i].trace->info.usage;
        if (!(u->present & MS_USAGE_INPUT)) {
            msx_buf_addf(out, "%4zu      -\n", i + 1);
            continue;
        }
        msx_buf_addf(out, "%4zu  %5lld  ", i + 1, (long long)u->input_tokens);
        if (prev >= 0)
            msx_buf_addf(out, "%+6lld", (long long)(u->input_tokens - prev));
        else
            msx_buf_adds(out, "     -");
        msx_buf_addf(out, "  %6lld  %6lld\n",
                     (long long)(u->present & MS_USAGE_CACHE_READ ? u->cache_read_input_tokens : 0),
                     (long long)u->output_tokens);
        prev = u->input_tokens;
    }
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *fam[1] = {"context"};
    o.rules = fam;
    o.n_rules = 1;
    o.model_windows = windows;
    ms_findings *f = NULL;
    struct ms_error err = {0};
    bool ok = ms_analyze_session(s, &o, &f, &err) == MS_OK;
    if (ok)
        for (size_t i = 0; i < ms_findings_count(f); i++)
            finding(out, ms_findings_at(f, i), false);
    else
        store_error(out, &err);
    ms_findings_free(f);
    ms_session_free(s);
    return ok;
}

/* ---- traces ------------------------------------------------------------ */

static bool t_search_traces(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    static const char *const keys[] = {"filter_string", "experiment_id", "max_results",
                                       "order_by", NULL};
    const char *filter, *exp, *order;
    int64_t max;
    if (!known_args(args, keys, out) || !arg_str(args, "filter_string", false, &filter, out) ||
        !arg_str(args, "experiment_id", false, &exp, out) ||
        !arg_str(args, "order_by", false, &order, out) ||
        !arg_int(args, "max_results", 10, 1, 100, &max, out))
        return false;
    struct ms_error err = {0};
    ms_filter *f = NULL;
    if (filter && ms_filter_parse(filter, &f, &err) != MS_OK) {
        msx_buf_addf(out, "invalid filter_string at byte %lld: %s (MLflow's trace filter "
                          "language)",
                     (long long)err.offset, err.msg);
        return false;
    }
    struct ms_search req = {0};
    req.version = 1;
    req.filter = f;
    req.max_results = max;
    req.order_by = order ? &order : NULL;
    req.n_order_by = order ? 1 : 0;
    const char *one;
    experiments(srv, exp, &one, &req.experiment_ids, &req.n_experiment_ids);
    ms_trace_set *set = NULL;
    bool ok = ms_store_search(srv->store, &req, &set, &err) == MS_OK;
    if (!ok)
        store_error(out, &err);
    for (size_t i = 0; ok && i < ms_trace_set_count(set); i++) {
        const ms_trace *t = ms_trace_set_at(set, i);
        text(out, t->info.trace_id, 80);
        msx_buf_addc(out, ' ');
        when(out, t->info.request_time_ms);
        msx_buf_addf(out, " %s", ms_trace_state_name(t->info.state));
        if (t->info.has_execution_duration)
            msx_buf_addf(out, " %lldms", (long long)t->info.execution_duration_ms);
        ms_str sid = ms_trace_session_id(t, NULL, NULL);
        if (sid.len) {
            msx_buf_adds(out, " session=");
            text(out, sid, 80);
        }
        msx_buf_adds(out, "\n  request: ");
        text(out, t->info.request_preview, 160);
        msx_buf_adds(out, "\n  response: ");
        text(out, t->info.response_preview, 160);
        msx_buf_addc(out, '\n');
    }
    if (ok && !ms_trace_set_count(set))
        msx_buf_adds(out, "no traces match\n");
    if (ok && ms_trace_set_next_page_token(set))
        msx_buf_addf(out, "[more traces match: raise max_results (up to 100) or narrow the "
                          "filter]\n");
    ms_trace_set_free(set);
    ms_filter_free(f);
    return ok;
}

/* One span on its line(s), indented by depth. */
static void span_line(struct msx_buf *b, const ms_span *s, int depth)
{
    msx_buf_addf(b, "%*s- ", depth * 2, "");
    text(b, s->name, 100);
    if (s->span_type.len) {
        msx_buf_adds(b, " [");
        text(b, s->span_type, 40);
        msx_buf_addc(b, ']');
    }
    msx_buf_addf(b, " %s", s->status == MS_STATUS_ERROR ? "ERROR"
                           : s->status == MS_STATUS_OK  ? "OK"
                                                        : "UNSET");
    if (s->has_end)
        msx_buf_addf(b, " %lldms", (long long)((s->end_ns - s->start_ns) / 1000000));
    else
        msx_buf_adds(b, " running");
    if (s->usage.present & MS_USAGE_INPUT)
        msx_buf_addf(b, " tokens %lld/%lld", (long long)s->usage.input_tokens,
                     (long long)s->usage.output_tokens);
    msx_buf_addc(b, '\n');
    for (size_t k = 0; k < s->n_events; k++) {
        const ms_event *e = &s->events[k];
        if (e->name.len != 9 || memcmp(e->name.ptr, "exception", 9) != 0)
            continue;
        msx_buf_addf(b, "%*s  exception ", depth * 2, "");
        for (size_t a = 0; a < e->n_attrs; a++)
            if (e->attrs[a].key.len == 14 && memcmp(e->attrs[a].key.ptr, "exception.type", 14) == 0)
                text(b, e->attrs[a].value, 100);
        msx_buf_adds(b, ": ");
        for (size_t a = 0; a < e->n_attrs; a++)
            if (e->attrs[a].key.len == 17 &&
                memcmp(e->attrs[a].key.ptr, "exception.message", 17) == 0)
                text(b, e->attrs[a].value, 200);
        msx_buf_addc(b, '\n');
    }
    static const char *const io[2] = {"mlflow.spanInputs", "mlflow.spanOutputs"};
    for (int k = 0; k < 2; k++) {
        const ms_attr *a = ms_span_attr(s, io[k]);
        if (!a)
            continue;
        msx_buf_addf(b, "%*s  %s: ", depth * 2, "", k ? "out" : "in");
        text(b, a->value, 200);
        msx_buf_addc(b, '\n');
    }
}

static bool t_get_trace(struct mcp_server *srv, msx_json args, struct msx_buf *out)
{
    static const char *const keys[] = {"trace_id", "max_tokens", NULL};
    const char *id;
    int64_t budget;
    if (!known_args(args, keys, out) || !arg_str(args, "trace_id", true, &id, out) ||
        !arg_int(args, "max_tokens", DEFAULT_TOKENS, 200, 100000, &budget, out))
        return false;
    ms_trace_set *set = NULL;
    struct ms_error err = {0};
    if (ms_store_get_trace(srv->store, id, &set, &err) != MS_OK) {
        store_error(out, &err);
        return false;
    }
    const ms_trace *t = ms_trace_set_at(set, 0);
    text(out, t->info.trace_id, 80);
    msx_buf_adds(out, " ");
    when(out, t->info.request_time_ms);
    msx_buf_addf(out, " %s", ms_trace_state_name(t->info.state));
    if (t->info.has_execution_duration)
        msx_buf_addf(out, " %lldms", (long long)t->info.execution_duration_ms);
    ms_str sid = ms_trace_session_id(t, NULL, NULL);
    if (sid.len) {
        msx_buf_adds(out, " session=");
        text(out, sid, 100);
    }
    msx_buf_addf(out, " %zu spans\n", t->n_spans);
    size_t *order = NULL, n = 0;
    int *depth = NULL;
    if (ms_trace_span_order(t, &order, &depth, &n) != MS_OK) {
        ms_trace_set_free(set);
        msx_buf_adds(out, "out of memory");
        return false;
    }
    size_t cap = (size_t)budget * BYTES_PER_TOKEN;
    for (size_t k = 0; k < n && out->len < cap; k++)
        span_line(out, &t->spans[order[k]], depth[k] < 64 ? depth[k] : 64);
    if (out->len >= cap)
        msx_buf_addf(out, "[budget of %lld tokens reached: spans left out; raise max_tokens]\n",
                     (long long)budget);
    free(order);
    free(depth);
    ms_trace_set_free(set);
    return true;
}

/* ---- the table --------------------------------------------------------- */

#define SESSION_ID "\"session_id\": {\"type\": \"string\", \"description\": \"a session id from list_sessions\"}"
#define EXPERIMENT "\"experiment_id\": {\"type\": \"string\", \"description\": \"only this experiment (default: the server's)\"}"

static const struct mcp_tool TOOLS[] = {
    {"list_sessions",
     "List chat sessions (one row each: id, user, turns, first time, duration, longest idle gap, "
     "tokens, turns in error, first user input, session-level scores). Filter with the session "
     "filter language, e.g. \"errors > 0 and turns >= 5\", \"score.user_frustration = "
     "'unresolved'\", \"any(span.type = 'TOOL' and span.status = 'ERROR')\", \"input contains "
     "'refund'\".",
     "{\"type\": \"object\", \"properties\": {\"filter\": {\"type\": \"string\"}, " EXPERIMENT
     ", \"sort\": {\"type\": \"string\", \"enum\": [\"last\", \"first\", \"turns\", \"tokens\", "
     "\"errors\", \"duration\"]}, \"limit\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": "
     "500, \"default\": 20}}, \"additionalProperties\": false}",
     t_list_sessions},
    {"get_session",
     "The conversation of one session, turn by turn: time, gap, latency, tokens, status, the "
     "user's new messages, retrieved documents, tool calls, the assistant's answer and "
     "assessments; each message once. Stops at max_tokens and says from which turn to continue.",
     "{\"type\": \"object\", \"properties\": {" SESSION_ID ", " EXPERIMENT
     ", \"max_tokens\": {\"type\": \"integer\", \"minimum\": 200, \"maximum\": 100000, "
     "\"default\": 4000}, \"from_turn\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 1}}, "
     "\"required\": [\"session_id\"], \"additionalProperties\": false}",
     t_get_session},
    {"analyze_session",
     "Deterministic findings for one session: errors and exceptions, failing assessments "
     "(scorer errors apart), context growth and window, idle gaps and stuck turns, broken "
     "history, user friction, loops, and root causes with the chain from cause to symptom.",
     "{\"type\": \"object\", \"properties\": {" SESSION_ID ", " EXPERIMENT
     ", \"rules\": {\"type\": \"string\", \"description\": \"comma-separated rule ids or "
     "analyzers, e.g. 'context,cause.root'\"}, \"min_severity\": {\"type\": \"string\", \"enum\": "
     "[\"info\", \"warn\", \"error\"]}}, \"required\": [\"session_id\"], "
     "\"additionalProperties\": false}",
     t_analyze_session},
    {"find_root_cause",
     "The earliest turn whose content (a retrieved document, a tool result, an earlier answer, "
     "a dropped message) is carried into the session's symptoms, with the evidence at each link.",
     "{\"type\": \"object\", \"properties\": {" SESSION_ID ", " EXPERIMENT
     "}, \"required\": [\"session_id\"], \"additionalProperties\": false}",
     t_find_root_cause},
    {"failure_by_turn",
     "Across sessions: for each turn index, how many sessions reached it, how many had their "
     "first error there (and the hazard rate), how many were abandoned there.",
     "{\"type\": \"object\", \"properties\": {\"filter\": {\"type\": \"string\"}, " EXPERIMENT
     ", \"max_turns\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000, \"default\": "
     "30}}, \"additionalProperties\": false}",
     t_failure_by_turn},
    {"context_growth",
     "Input tokens per turn of one session with growth and cached tokens, and the context "
     "findings: the turn the model's window was passed, the growth shape, sudden drops.",
     "{\"type\": \"object\", \"properties\": {" SESSION_ID ", " EXPERIMENT
     ", \"windows\": {\"type\": \"string\", \"description\": \"model windows overriding the "
     "built-in table, e.g. 'my-model=8192'\"}}, \"required\": [\"session_id\"], "
     "\"additionalProperties\": false}",
     t_context_growth},
    {"search_traces",
     "Search traces with MLflow's filter language (as `mlflow traces search`), e.g. "
     "\"trace.status = 'ERROR'\" or \"metadata.`mlflow.trace.session` = 'abc'\"; one short "
     "entry per trace.",
     "{\"type\": \"object\", \"properties\": {\"filter_string\": {\"type\": \"string\"}, " EXPERIMENT
     ", \"max_results\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100, \"default\": "
     "10}, \"order_by\": {\"type\": \"string\", \"description\": \"e.g. 'timestamp_ms DESC'\"}}, "
     "\"additionalProperties\": false}",
     t_search_traces},
    {"get_trace",
     "One trace (one turn) as a span tree: name, type, status, duration, tokens, exceptions, "
     "inputs and outputs abbreviated, within max_tokens.",
     "{\"type\": \"object\", \"properties\": {\"trace_id\": {\"type\": \"string\"}, "
     "\"max_tokens\": {\"type\": \"integer\", \"minimum\": 200, \"maximum\": 100000, \"default\": "
     "4000}}, \"required\": [\"trace_id\"], \"additionalProperties\": false}",
     t_get_trace},
};

void mcp_tools_describe(struct msx_jw *w)
{
    msx_json_parser *p = msx_json_parser_new();
    msx_jw_arr_begin(w);
    for (size_t i = 0; p && i < sizeof TOOLS / sizeof *TOOLS; i++) {
        msx_json schema;
        if (msx_json_parse(p, TOOLS[i].input_schema, strlen(TOOLS[i].input_schema), false,
                           &schema, NULL) != MS_OK)
            continue; /* a test checks every schema parses */
        msx_jw_obj_begin(w);
        msx_jw_keyz(w, "name");
        msx_jw_strz(w, TOOLS[i].name);
        msx_jw_keyz(w, "description");
        msx_jw_strz(w, TOOLS[i].description);
        msx_jw_keyz(w, "inputSchema");
        msx_jw_value(w, schema);
        msx_jw_keyz(w, "annotations");
        msx_jw_obj_begin(w);
        msx_jw_keyz(w, "readOnlyHint");
        msx_jw_bool(w, true);
        msx_jw_obj_end(w);
        msx_jw_obj_end(w);
    }
    msx_jw_arr_end(w);
    msx_json_parser_free(p);
}

const struct mcp_tool *mcp_tool_find(const char *name)
{
    for (size_t i = 0; i < sizeof TOOLS / sizeof *TOOLS; i++)
        if (strcmp(TOOLS[i].name, name) == 0)
            return &TOOLS[i];
    return NULL;
}
