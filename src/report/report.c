/* SPDX-License-Identifier: MIT
 *
 * The report driver: keeps the overview rows and the growth series, feeds
 * the patterns accumulator, analyzes each session as it comes and hands it
 * to the HTML or Markdown renderer, whose bytes go straight to the caller's
 * write callback. Shared helpers of the renderers live here too (durations,
 * times, per-turn tokens, span order). Never opens a store or a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"
#include "util/timefmt.h"

void ms_report_options_init(struct ms_report_options *o)
{
    memset(o, 0, sizeof *o);
    o->version = 1;
    o->format = MS_REPORT_HTML;
}

ms_str msi_s(const char *z)
{
    return (ms_str){z ? z : "", z ? strlen(z) : 0};
}

void msi_duration(struct msx_buf *b, int64_t ms)
{
    if (ms < 0) {
        msx_buf_adds(b, "-");
        return;
    }
    if (ms < 1000)
        msx_buf_addf(b, "%lldms", (long long)ms);
    else if (ms < 60000)
        msx_buf_addf(b, "%lld.%01llds", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
    else if (ms < 3600000)
        msx_buf_addf(b, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
    else if (ms < 86400000)
        msx_buf_addf(b, "%lldh%02lldm", (long long)(ms / 3600000),
                     (long long)(ms % 3600000 / 60000));
    else
        msx_buf_addf(b, "%lldd%02lldh", (long long)(ms / 86400000),
                     (long long)(ms % 86400000 / 3600000));
}

void msi_time(struct msx_buf *b, int64_t ms)
{
    if (ms > INT64_MAX / 1000000 || ms < INT64_MIN / 1000000) {
        msx_buf_addf(b, "%lld ms", (long long)ms);
        return;
    }
    msx_rfc3339_format_ns(b, ms * 1000000);
}

bool msi_is_root(const ms_finding *f)
{
    return strcmp(f->rule, "cause.root") == 0;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

int64_t msi_sub(int64_t a, int64_t b)
{
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    return a - b;
}

int64_t msi_span_ms(int64_t start_ns, int64_t end_ns)
{
    uint64_t d = (uint64_t)end_ns - (uint64_t)start_ns; /* end >= start: fits */
    return (int64_t)(d / 1000000u);
}

void msi_turn_tokens(const ms_turn *t, struct msi_turn_info *ti)
{
    ti->in = ti->out = ti->cached = ti->peak_in = -1;
    const ms_token_usage *u = &t->trace->info.usage;
    if (u->present & (MS_USAGE_INPUT | MS_USAGE_OUTPUT | MS_USAGE_TOTAL)) {
        if (u->present & MS_USAGE_INPUT)
            ti->in = u->input_tokens;
        if (u->present & MS_USAGE_OUTPUT)
            ti->out = u->output_tokens;
        if (u->present & MS_USAGE_CACHE_READ)
            ti->cached = u->cache_read_input_tokens;
    }
    int64_t in = -1, out = -1, cached = -1;
    for (size_t i = 0; i < t->trace->n_spans; i++) {
        const ms_token_usage *su = &t->trace->spans[i].usage;
        if (su->present & MS_USAGE_INPUT) {
            in = sat_add(in < 0 ? 0 : in, su->input_tokens);
            if (su->input_tokens > ti->peak_in)
                ti->peak_in = su->input_tokens;
        }
        if (su->present & MS_USAGE_OUTPUT)
            out = sat_add(out < 0 ? 0 : out, su->output_tokens);
        if (su->present & MS_USAGE_CACHE_READ)
            cached = sat_add(cached < 0 ? 0 : cached, su->cache_read_input_tokens);
    }
    if (ti->in < 0 && ti->out < 0) {
        ti->in = in;
        ti->out = out;
        if (ti->cached < 0)
            ti->cached = cached;
    } else if (ti->cached < 0) {
        ti->cached = cached;
    }
    if (ti->peak_in < 0)
        ti->peak_in = ti->in;
}

__extension__ typedef __int128 i128; /* exact a * b before the division */

int64_t msi_muldiv(int64_t a, int64_t b, int64_t c)
{
    if (c <= 0)
        return 0;
    i128 v = (i128)a * b / c;
    if (v > INT64_MAX)
        return INT64_MAX;
    if (v < INT64_MIN)
        return INT64_MIN;
    return (int64_t)v;
}

const char *msi_role_name(ms_role r)
{
    switch (r) {
    case MS_ROLE_SYSTEM: return "system";
    case MS_ROLE_USER: return "user";
    case MS_ROLE_ASSISTANT: return "assistant";
    case MS_ROLE_TOOL: return "tool";
    default: return "other";
    }
}

ms_str msi_span_io(const ms_span *s, bool output, char **owned)
{
    static const char *const in_keys[] = {"mlflow.spanInputs", "gen_ai.input.messages",
                                          "input.value"};
    static const char *const out_keys[] = {"mlflow.spanOutputs", "gen_ai.output.messages",
                                           "output.value"};
    *owned = NULL;
    for (size_t i = 0; i < 3; i++) {
        const ms_attr *a = ms_span_attr(s, output ? out_keys[i] : in_keys[i]);
        if (!a)
            continue;
        char *txt = NULL;
        size_t len = 0;
        bool is_json;
        if (ms_attr_decode(a, &txt, &len, &is_json) != MS_OK)
            return a->value;
        *owned = txt;
        return (ms_str){txt, len};
    }
    return (ms_str){NULL, 0};
}

/* ---- the driver ----------------------------------------------------------- */

static ms_code fail(struct ms_error *err, ms_code c, const char *what)
{
    if (err) {
        err->code = c;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "report: %s", what);
    }
    return c;
}

/* Writes and empties the buffer. */
static ms_code flush(ms_report *r, struct ms_error *err)
{
    if (r->status != MS_OK)
        return fail(err, r->status, ms_strerror(r->status));
    ms_code c = msx_buf_status(&r->buf);
    if (c == MS_OK && r->buf.len)
        c = r->write(r->ctx, r->buf.ptr, r->buf.len);
    msx_buf_reset(&r->buf);
    if (c != MS_OK) {
        r->status = c;
        return fail(err, c, c == MS_E_NOMEM ? "out of memory"
                            : c == MS_E_TOOBIG ? "a section is too large"
                                               : "cannot write the report");
    }
    return MS_OK;
}

ms_code ms_report_begin(const struct ms_report_options *o, ms_report_write_fn write, void *ctx,
                        ms_report **out, struct ms_error *err)
{
    *out = NULL;
    if (!o || !write)
        return fail(err, MS_E_INVALID, "no options or no writer");
    ms_report *r = calloc(1, sizeof *r);
    if (!r)
        return fail(err, MS_E_NOMEM, "out of memory");
    r->o = *o;
    if (!r->o.max_detail)
        r->o.max_detail = 300;
    if (!r->o.max_open)
        r->o.max_open = 10;
    if (r->o.ui_base_url && strncmp(r->o.ui_base_url, "http://", 7) != 0 &&
        strncmp(r->o.ui_base_url, "https://", 8) != 0)
        r->o.ui_base_url = NULL; /* only web links, never javascript: */
    if (o->analyze)
        r->ao = *o->analyze;
    else
        ms_analyze_options_init(&r->ao);
    r->write = write;
    r->ctx = ctx;
    msx_buf_init(&r->buf, MSI_REPORT_CAP_SECTION);
    struct ms_patterns_options po;
    ms_patterns_options_init(&po);
    po.analyze = &r->ao;
    if (ms_patterns_new(&po, &r->pat) != MS_OK) {
        ms_report_free(r);
        return fail(err, MS_E_NOMEM, "out of memory");
    }
    if (r->o.format == MS_REPORT_MD)
        msi_md_head(r, &r->buf);
    else
        msi_html_head(r, &r->buf);
    ms_code c = flush(r, err);
    if (c != MS_OK) {
        ms_report_free(r);
        return c;
    }
    *out = r;
    return MS_OK;
}

static char *dup_str(ms_str s, size_t *len)
{
    char *p = malloc(s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
        *len = s.len;
    }
    return p;
}

static void fill_row(struct msi_report_row *row, const ms_session *s, const ms_findings *f,
                     const struct msi_turn_info *ti)
{
    row->turns = (int64_t)s->n_turns;
    row->busy_ms = row->idle_ms = 0;
    int64_t last_end = 0;
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_turn *t = &s->turns[i];
        if (i == 0)
            row->first_ms = t->start_ms;
        int64_t end = t->latency_ms >= 0 ? sat_add(t->start_ms, t->latency_ms) : t->start_ms;
        if (i == 0 || end > last_end)
            last_end = end;
        if (t->latency_ms > 0)
            row->busy_ms = sat_add(row->busy_ms, t->latency_ms);
        if (i > 0 && t->gap_ms > 0)
            row->idle_ms = sat_add(row->idle_ms, t->gap_ms);
        if (t->trace->info.state == MS_STATE_ERROR)
            row->errors++;
        if (ti[i].in >= 0) {
            row->tokens_input = sat_add(row->tokens_input, ti[i].in);
            row->has_tokens = true;
        }
        if (ti[i].out >= 0) {
            row->tokens_output = sat_add(row->tokens_output, ti[i].out);
            row->has_tokens = true;
        }
        if (ti[i].cached >= 0) {
            row->tokens_cached = sat_add(row->tokens_cached, ti[i].cached);
            row->has_cached = true;
        }
    }
    row->duration_ms = s->n_turns ? msi_sub(last_end, row->first_ms) : 0;
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *x = ms_findings_at(f, i);
        row->by_sev[x->severity]++;
        if (msi_is_root(x) && !row->cause_turn && x->n_chain) {
            row->cause_turn = x->chain[0].turn;
            for (size_t j = 1; j < x->n_chain; j++) {
                int64_t t = x->chain[j].turn;
                if (t == row->cause_turn)
                    continue;
                if (!row->symptom_first || t < row->symptom_first)
                    row->symptom_first = t;
                if (t > row->symptom_last)
                    row->symptom_last = t;
            }
        }
    }
}

/* Marks cause and symptom turns from the cause chains, error turns, and
 * counts findings per turn. */
static void mark_turns(const ms_session *s, const ms_findings *f, struct msi_turn_info *ti)
{
    for (size_t i = 0; i < s->n_turns; i++)
        ti[i].is_error = s->turns[i].trace->info.state == MS_STATE_ERROR;
    for (size_t i = 0; i < ms_findings_count(f); i++) {
        const ms_finding *x = ms_findings_at(f, i);
        if (x->turn >= 1 && (size_t)x->turn <= s->n_turns)
            ti[x->turn - 1].n_findings++;
        if (!msi_is_root(x))
            continue;
        for (size_t j = 0; j < x->n_chain; j++) {
            int64_t t = x->chain[j].turn;
            if (t < 1 || (size_t)t > s->n_turns)
                continue;
            if (j == 0)
                ti[t - 1].is_cause = true;
            else if (t != x->chain[0].turn)
                ti[t - 1].is_symptom = true; /* the cause turn's own answer is the cause */
        }
    }
}

static ms_code add_series(ms_report *r, size_t row, const struct msi_turn_info *ti, size_t n)
{
    if (r->n_series >= MSI_REPORT_GROWTH_SESSIONS)
        return MS_OK;
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any = any || ti[i].peak_in >= 0;
    if (!any)
        return MS_OK;
    if (!r->series) {
        r->series = calloc(MSI_REPORT_GROWTH_SESSIONS, sizeof *r->series);
        if (!r->series)
            return MS_E_NOMEM;
    }
    size_t m = n < MSI_REPORT_GROWTH_TURNS ? n : MSI_REPORT_GROWTH_TURNS;
    int64_t *peak = malloc((m ? m : 1) * sizeof *peak);
    if (!peak)
        return MS_E_NOMEM;
    for (size_t i = 0; i < m; i++)
        peak[i] = ti[i].peak_in;
    r->series[r->n_series++] = (struct msi_report_series){row, peak, m};
    return MS_OK;
}

ms_code ms_report_add_session(ms_report *r, const ms_session *s, struct ms_error *err)
{
    if (r->status != MS_OK || r->finished)
        return fail(err, r->status != MS_OK ? r->status : MS_E_INVALID, "report already failed or finished");
    ms_findings *f = NULL;
    ms_code c = ms_analyze_session(s, &r->ao, &f, err);
    if (c != MS_OK)
        return c;
    struct msi_turn_info *ti = calloc(s->n_turns ? s->n_turns : 1, sizeof *ti);
    if (r->n_rows == r->cap_rows) {
        size_t nc = r->cap_rows ? r->cap_rows * 2 : 64;
        struct msi_report_row *nr = realloc(r->rows, nc * sizeof *nr);
        if (!nr) {
            free(ti);
            ms_findings_free(f);
            return fail(err, MS_E_NOMEM, "out of memory");
        }
        r->rows = nr;
        r->cap_rows = nc;
    }
    struct msi_report_row *row = &r->rows[r->n_rows];
    memset(row, 0, sizeof *row);
    row->session_id = dup_str(s->session_id, &row->session_id_len);
    row->user_id = dup_str(s->user_id, &row->user_id_len);
    row->experiment_id = dup_str(s->experiment_id, &row->experiment_id_len);
    row->index = r->n_rows;
    r->n_rows++;
    if (!ti || !row->session_id || !row->user_id || !row->experiment_id) {
        free(ti);
        ms_findings_free(f);
        r->status = MS_E_NOMEM;
        return fail(err, MS_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < s->n_turns; i++)
        msi_turn_tokens(&s->turns[i], &ti[i]);
    mark_turns(s, f, ti);
    fill_row(row, s, f, ti);
    r->n_findings += ms_findings_count(f);
    c = ms_patterns_add(r->pat, s, f, err); /* fills err itself */
    if (c == MS_OK) {
        c = add_series(r, row->index, ti, s->n_turns);
        if (c != MS_OK)
            fail(err, c, ms_strerror(c));
    }
    if (c == MS_OK && row->index < r->o.max_detail && r->o.code)
        c = ms_code_link(r->o.code, s, f, &r->links, err);
    if (c == MS_OK && row->index < r->o.max_detail) {
        row->detailed = true;
        if (r->o.format == MS_REPORT_MD)
            msi_md_session(r, &r->buf, s, f, ti, row);
        else
            msi_html_session(r, &r->buf, s, f, ti, row);
        c = flush(r, err);
    } else if (c != MS_OK) {
        r->status = c;
    }
    ms_code_links_free(r->links);
    r->links = NULL;
    free(ti);
    ms_findings_free(f);
    return c;
}

ms_code ms_report_finish(ms_report *r, struct ms_error *err)
{
    if (r->status != MS_OK || r->finished)
        return fail(err, r->status != MS_OK ? r->status : MS_E_INVALID, "report already failed or finished");
    r->finished = true;
    ms_code c = ms_patterns_finish(r->pat, err);
    if (c != MS_OK) {
        r->status = c;
        return c;
    }
    const ms_patterns_result *pr = ms_patterns_get(r->pat);
    if (r->o.format == MS_REPORT_MD)
        msi_md_tail(r, &r->buf, pr);
    else
        msi_html_tail(r, &r->buf, pr);
    return flush(r, err);
}

void ms_report_free(ms_report *r)
{
    if (!r)
        return;
    ms_code_links_free(r->links);
    for (size_t i = 0; i < r->n_rows; i++) {
        free(r->rows[i].session_id);
        free(r->rows[i].user_id);
        free(r->rows[i].experiment_id);
    }
    free(r->rows);
    for (size_t i = 0; i < r->n_series; i++)
        free(r->series[i].peak);
    free(r->series);
    ms_patterns_free(r->pat);
    msx_buf_release(&r->buf);
    free(r);
}

size_t ms_report_sessions(const ms_report *r)
{
    return r ? r->n_rows : 0;
}

size_t ms_report_findings(const ms_report *r)
{
    return r ? r->n_findings : 0;
}
