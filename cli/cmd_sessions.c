/* SPDX-License-Identifier: MIT
 *
 * mlsession sessions list: one row of aggregates per session, as a table,
 * JSON, CSV or Markdown. `sessions show` lives in cmd_show.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "json/json.h"
#include "json/json_write.h"
#include "mlsession/session.h"
#include "mlsession/sfilter.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/utf8.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession [--tracking-uri URI] sessions list [options]\n"
            "       mlsession [--tracking-uri URI] sessions show SESSION_ID [options]\n"
            "\n"
            "Groups traces into sessions (metadata mlflow.trace.session, else tag\n"
            "mlflow.trace.session, tag session_id, root-span session.id or\n"
            "gen_ai.conversation.id) and lists one row per session.\n"
            "\n"
            "Options of list:\n"
            "  -x, --experiment-id ID   only this experiment (repeatable; default: all)\n"
            "  --experiment-name NAME   the same by name\n"
            "  --filter EXPR            session filter, e.g. \"turns >= 5 and errors > 0\"\n"
            "                           (docs/filters.md)\n"
            "  --sort KEY               last (default), first, turns, tokens, errors, duration\n"
            "  --asc                    ascending (default: descending)\n"
            "  --limit N                at most N sessions\n"
            "  --format FMT             table (default), json, csv, md\n"
            "  --include-unsessioned    one row (id \"\") for traces that name no session\n"
            "  --trace-ids              JSON: the trace ids of the turns, in order\n"
            "\n"
            "Run 'mlsession sessions show --help' for show.\n");
}

enum fmt { F_TABLE, F_JSON, F_CSV, F_MD };

/* ---- small formatting helpers ------------------------------------------ */

static void dur(struct msx_buf *b, int64_t ms)
{
    if (ms < 0) {
        msx_buf_adds(b, "-");
        return;
    }
    if (ms < 1000)
        msx_buf_addf(b, "%lldms", (long long)ms);
    else if (ms < 60000)
        msx_buf_addf(b, "%lld.%llds", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
    else if (ms < 3600000)
        msx_buf_addf(b, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
    else if (ms < 86400000)
        msx_buf_addf(b, "%lldh%02lldm", (long long)(ms / 3600000),
                     (long long)(ms % 3600000 / 60000));
    else
        msx_buf_addf(b, "%lldd%02lldh", (long long)(ms / 86400000),
                     (long long)(ms % 86400000 / 3600000));
}

static void when(struct msx_buf *b, int64_t ms)
{
    msx_rfc3339_format_ns(b, ms * 1000000);
}

/* Untrusted text for one table cell, on one line, cut to max bytes; in
 * Markdown the table's specials are escaped too. */
static void cell_text(struct msx_buf *b, ms_str s, size_t max, bool md)
{
    if (!md) {
        cli_put_text(b, s, max, CLI_ESC_LINE, NULL);
        return;
    }
    struct msx_buf line;
    msx_buf_init(&line, MSX_CAP_OUTPUT);
    cli_put_text(&line, s, max, CLI_ESC_LINE, NULL);
    for (size_t i = 0; i < line.len; i++) {
        char c = line.ptr[i];
        if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>' ||
            c == '[' || c == ']')
            msx_buf_addc(b, '\\');
        msx_buf_addc(b, c);
    }
    msx_buf_release(&line);
}

static void score_text(struct msx_buf *b, const ms_session_summary *s, bool md)
{
    for (size_t i = 0; i < s->n_scores; i++) {
        const ms_score *sc = &s->scores[i];
        if (i)
            msx_buf_adds(b, ", ");
        cell_text(b, sc->name, 40, md);
        msx_buf_addc(b, '=');
        ms_str v = sc->value_json;
        if (sc->is_error)
            v = (ms_str){"<scorer error>", 14};
        else if (v.len >= 2 && v.ptr[0] == '"')
            v = (ms_str){v.ptr + 1, v.len - 2};
        cell_text(b, v, 40, md);
    }
}

static size_t width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

/* ---- table ------------------------------------------------------------- */

#define NCOL 12
static const char *const heads[NCOL] = {"session", "user",   "turns",  "first",
                                        "duration", "idle",  "tokens", "errors",
                                        "p50",      "p95",   "first input", "scores"};

static void row_cells(const ms_session_summary *s, char **cell, bool md)
{
    struct msx_buf b;
    for (int c = 0; c < NCOL; c++) {
        msx_buf_init(&b, MSX_CAP_OUTPUT);
        switch (c) {
        case 0:
            cell_text(&b, s->session_id, 48, md);
            break;
        case 1:
            cell_text(&b, s->user_id.len ? s->user_id : (ms_str){"-", 1}, 24, md);
            break;
        case 2:
            msx_buf_addf(&b, "%lld", (long long)s->turns);
            break;
        case 3:
            when(&b, s->first_ms);
            break;
        case 4:
            dur(&b, s->duration_ms);
            break;
        case 5:
            dur(&b, s->idle_ms);
            break;
        case 6:
            if (s->has_tokens)
                msx_buf_addf(&b, "%lld", (long long)s->tokens_total);
            else
                msx_buf_adds(&b, "-");
            break;
        case 7:
            msx_buf_addf(&b, "%lld", (long long)s->errors);
            if (s->in_progress)
                msx_buf_addf(&b, " (+%lld running)", (long long)s->in_progress);
            break;
        case 8:
            dur(&b, s->latency_p50_ms);
            break;
        case 9:
            dur(&b, s->latency_p95_ms);
            break;
        case 10:
            cell_text(&b, s->first_input, 40, md);
            break;
        case 11:
            score_text(&b, s, md);
            break;
        }
        msx_buf_addc(&b, 0);
        cell[c] = b.ptr ? b.ptr : strdup("");
    }
}

static const struct cli_globals *G; /* for styles */

static int print_table(const ms_session_list *l, bool md)
{
    size_t n = ms_session_list_count(l);
    char **cells = calloc((n ? n : 1) * NCOL, sizeof *cells);
    if (!cells) {
        cli_error("sessions: out of memory");
        return EXIT_WORK;
    }
    size_t w[NCOL];
    for (int c = 0; c < NCOL; c++)
        w[c] = width(heads[c]);
    for (size_t i = 0; i < n; i++) {
        row_cells(ms_session_list_at(l, i), &cells[i * NCOL], md);
        for (int c = 0; c < NCOL; c++)
            if (cells[i * NCOL + c] && width(cells[i * NCOL + c]) > w[c])
                w[c] = width(cells[i * NCOL + c]);
    }
    for (size_t i = 0; i <= n; i++) {
        if (md)
            fputs("| ", stdout);
        for (int c = 0; c < NCOL; c++) {
            const char *v = i == 0 ? heads[c] : cells[(i - 1) * NCOL + c];
            v = v ? v : "";
            bool right = c == 2 || c == 6 || c == 7;
            size_t pad = w[c] - width(v);
            if (right)
                printf("%*s", (int)pad, "");
            const char *on = "";
            if (!md && i == 0)
                on = cli_style(G, CLI_BOLD);
            else if (!md && c == 7 && strcmp(v, "0") != 0)
                on = cli_style(G, CLI_RED);
            fputs(on, stdout);
            fputs(v, stdout);
            if (*on)
                fputs(cli_style(G, CLI_RESET), stdout);
            if (c < NCOL - 1 || md) {
                if (!right)
                    printf("%*s", (int)pad, "");
                fputs(md ? " | " : "  ", stdout);
            }
        }
        fputc('\n', stdout);
        if (i == 0 && md) {
            fputs("|", stdout);
            for (int c = 0; c < NCOL; c++) {
                bool right = c == 2 || c == 6 || c == 7;
                fputc(' ', stdout);
                for (size_t k = 0; k < w[c]; k++)
                    fputc(k == w[c] - 1 && right ? ':' : '-', stdout);
                fputs(" |", stdout);
            }
            fputc('\n', stdout);
        }
    }
    for (size_t i = 0; i < n * NCOL; i++)
        free(cells[i]);
    free(cells);
    if (!md)
        printf("%zu session%s of %zu, %zu traces\n", n, n == 1 ? "" : "s",
               ms_session_list_total(l), ms_session_list_traces(l));
    return EXIT_OK;
}

/* ---- csv --------------------------------------------------------------- */

static void csv_field(struct msx_buf *b, ms_str s)
{
    msx_buf_addc(b, '"');
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '"')
            msx_buf_addc(b, '"');
        msx_buf_addc(b, s.ptr[i]);
    }
    msx_buf_addc(b, '"');
}

static int print_csv(const ms_session_list *l)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_buf_adds(&b, "session_id,user_id,experiment_id,turns,first_time,last_time,duration_ms,"
                     "busy_ms,idle_ms,idle_max_ms,tokens_input,tokens_output,tokens_cached,"
                     "tokens_total,cost,errors,in_progress,latency_p50_ms,latency_p95_ms,"
                     "first_input,last_output,scores\r\n");
    for (size_t i = 0; i < ms_session_list_count(l); i++) {
        const ms_session_summary *s = ms_session_list_at(l, i);
        csv_field(&b, s->session_id);
        msx_buf_addc(&b, ',');
        csv_field(&b, s->user_id);
        msx_buf_addc(&b, ',');
        csv_field(&b, s->experiment_id);
        msx_buf_addf(&b, ",%lld,", (long long)s->turns);
        when(&b, s->first_ms);
        msx_buf_addc(&b, ',');
        when(&b, s->last_ms);
        msx_buf_addf(&b, ",%lld,%lld,%lld,%lld,", (long long)s->duration_ms,
                     (long long)s->busy_ms, (long long)s->idle_ms, (long long)s->idle_max_ms);
        if (s->has_tokens)
            msx_buf_addf(&b, "%lld,%lld,%lld,%lld,", (long long)s->tokens_input,
                         (long long)s->tokens_output, (long long)s->tokens_cached,
                         (long long)s->tokens_total);
        else
            msx_buf_adds(&b, ",,,,");
        if (s->has_cost)
            msx_json_format_double(&b, s->cost);
        msx_buf_addf(&b, ",%lld,%lld,", (long long)s->errors, (long long)s->in_progress);
        if (s->latency_p50_ms >= 0)
            msx_buf_addf(&b, "%lld,%lld,", (long long)s->latency_p50_ms,
                         (long long)s->latency_p95_ms);
        else
            msx_buf_adds(&b, ",,");
        csv_field(&b, s->first_input);
        msx_buf_addc(&b, ',');
        csv_field(&b, s->last_output);
        msx_buf_addc(&b, ',');
        struct msx_buf sc;
        msx_buf_init(&sc, MSX_CAP_OUTPUT);
        score_text(&sc, s, false);
        csv_field(&b, (ms_str){sc.ptr, sc.len});
        msx_buf_release(&sc);
        msx_buf_adds(&b, "\r\n");
    }
    int rc = msx_buf_status(&b) == MS_OK ? EXIT_OK : EXIT_WORK;
    if (rc == EXIT_OK)
        fwrite(b.ptr, 1, b.len, stdout);
    else
        cli_error("sessions: out of memory");
    msx_buf_release(&b);
    return rc;
}

/* ---- json -------------------------------------------------------------- */

static void jw_s(struct msx_jw *w, const char *key, ms_str s)
{
    msx_jw_keyz(w, key);
    if (s.ptr)
        msx_jw_str(w, s.ptr, s.len);
    else
        msx_jw_null(w);
}

static void jw_time(struct msx_jw *w, struct msx_buf *tmp, const char *key, int64_t ms)
{
    msx_buf_reset(tmp);
    when(tmp, ms);
    msx_jw_keyz(w, key);
    msx_jw_str(w, tmp->ptr, tmp->len);
}

static void jw_i(struct msx_jw *w, const char *key, int64_t v)
{
    msx_jw_keyz(w, key);
    msx_jw_int(w, v);
}

static int print_json(const ms_session_list *l)
{
    struct msx_buf b, tmp;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    msx_buf_init(&tmp, MSX_CAP_OUTPUT);
    struct msx_jw w;
    msx_jw_init(&w, &b, 0);
    msx_json_parser *jp = msx_json_parser_new();
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "sessions");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < ms_session_list_count(l); i++) {
        const ms_session_summary *s = ms_session_list_at(l, i);
        msx_jw_obj_begin(&w);
        jw_s(&w, "session_id", s->session_id);
        jw_s(&w, "user_id", s->user_id.len ? s->user_id : (ms_str){NULL, 0});
        jw_s(&w, "experiment_id", s->experiment_id);
        jw_i(&w, "turns", s->turns);
        jw_s(&w, "first_trace_id", s->first_trace_id);
        jw_s(&w, "last_trace_id", s->last_trace_id);
        jw_time(&w, &tmp, "first_time", s->first_ms);
        jw_time(&w, &tmp, "last_time", s->last_ms);
        jw_i(&w, "first_ms", s->first_ms);
        jw_i(&w, "last_ms", s->last_ms);
        jw_i(&w, "duration_ms", s->duration_ms);
        jw_i(&w, "busy_ms", s->busy_ms);
        jw_i(&w, "idle_ms", s->idle_ms);
        jw_i(&w, "idle_max_ms", s->idle_max_ms);
        msx_jw_keyz(&w, "tokens");
        if (s->has_tokens) {
            msx_jw_obj_begin(&w);
            jw_i(&w, "input", s->tokens_input);
            jw_i(&w, "output", s->tokens_output);
            jw_i(&w, "cached", s->tokens_cached);
            jw_i(&w, "total", s->tokens_total);
            msx_jw_obj_end(&w);
        } else {
            msx_jw_null(&w);
        }
        msx_jw_keyz(&w, "cost");
        if (s->has_cost)
            msx_jw_double(&w, s->cost);
        else
            msx_jw_null(&w);
        jw_i(&w, "errors", s->errors);
        jw_i(&w, "in_progress", s->in_progress);
        msx_jw_keyz(&w, "latency_ms");
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "p50");
        if (s->latency_p50_ms >= 0)
            msx_jw_int(&w, s->latency_p50_ms);
        else
            msx_jw_null(&w);
        msx_jw_keyz(&w, "p95");
        if (s->latency_p95_ms >= 0)
            msx_jw_int(&w, s->latency_p95_ms);
        else
            msx_jw_null(&w);
        msx_jw_obj_end(&w);
        jw_s(&w, "first_input", s->first_input);
        jw_s(&w, "last_output", s->last_output);
        msx_jw_keyz(&w, "scores");
        msx_jw_obj_begin(&w);
        for (size_t k = 0; k < s->n_scores; k++) {
            const ms_score *sc = &s->scores[k];
            msx_jw_key(&w, sc->name.ptr, sc->name.len);
            msx_jw_obj_begin(&w);
            if (sc->is_error) {
                jw_s(&w, "error", sc->rationale);
            } else {
                msx_jw_keyz(&w, "value");
                /* the value as recorded JSON: re-emit it as a string when
                 * it cannot be embedded */
                msx_json jv;
                if (sc->value_json.len && jp &&
                    msx_json_parse(jp, sc->value_json.ptr, sc->value_json.len, false, &jv,
                                   NULL) == MS_OK)
                    msx_jw_value(&w, jv);
                else if (sc->value_json.len)
                    msx_jw_str(&w, sc->value_json.ptr, sc->value_json.len);
                else
                    msx_jw_null(&w);
                jw_s(&w, "rationale", sc->rationale);
            }
            msx_jw_obj_end(&w);
        }
        msx_jw_obj_end(&w);
        if (s->trace_ids) {
            msx_jw_keyz(&w, "trace_ids");
            msx_jw_arr_begin(&w);
            for (int64_t k = 0; k < s->turns; k++)
                msx_jw_str(&w, s->trace_ids[k].ptr, s->trace_ids[k].len);
            msx_jw_arr_end(&w);
        }
        msx_jw_obj_end(&w);
        if (b.len > (1u << 20)) { /* stream: memory stays at one chunk */
            if (msx_buf_status(&b) != MS_OK)
                break; /* reported below */
            fwrite(b.ptr, 1, b.len, stdout);
            msx_buf_reset(&b);
        }
    }
    msx_jw_arr_end(&w);
    jw_i(&w, "total", (int64_t)ms_session_list_total(l));
    jw_i(&w, "traces", (int64_t)ms_session_list_traces(l));
    msx_jw_keyz(&w, "warnings");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < ms_session_list_warning_count(l) && ms_session_list_warning(l, i); i++)
        msx_jw_strz(&w, ms_session_list_warning(l, i));
    msx_jw_arr_end(&w);
    msx_jw_obj_end(&w);
    msx_buf_addc(&b, '\n');
    int rc = msx_buf_status(&b) == MS_OK ? EXIT_OK : EXIT_WORK;
    if (rc == EXIT_OK)
        fwrite(b.ptr, 1, b.len, stdout);
    else
        cli_error("sessions: out of memory");
    msx_buf_release(&b);
    msx_buf_release(&tmp);
    msx_json_parser_free(jp);
    return rc;
}

/* ---- list -------------------------------------------------------------- */

static bool parse_sort(const char *v, ms_session_sort *s)
{
    static const char *const names[] = {"last", "first", "turns", "tokens", "errors", "duration"};
    for (int i = 0; i < 6; i++)
        if (strcmp(v, names[i]) == 0) {
            *s = (ms_session_sort)i;
            return true;
        }
    return false;
}

static void on_progress(void *ctx, uint64_t traces)
{
    cli_progress_update(ctx, (unsigned long long)traces, 0);
}

static int cmd_list(struct cli_globals *g, int argc, char **argv)
{
    struct cli_experiments x = {0};
    struct ms_session_query q = {0};
    q.version = 1;
    const char *v, *filter_text = NULL;
    enum fmt fmt = F_TABLE;
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            return EXIT_OK;
        }
        if (cli_experiment_option(&x, argc, argv, &i, &rc)) {
            if (rc)
                return rc;
        } else if (cli_opt_value(argc, argv, &i, "--filter", &v)) {
            filter_text = v;
        } else if (cli_opt_value(argc, argv, &i, "--sort", &v)) {
            if (!parse_sort(v, &q.sort)) {
                cli_error("sessions list: unknown --sort '%s' (last, first, turns, tokens, "
                          "errors, duration)",
                          v);
                return EXIT_USAGE;
            }
        } else if (cli_opt_value(argc, argv, &i, "--limit", &v)) {
            char *end;
            long long n = strtoll(v, &end, 10);
            if (!*v || *end || n <= 0) {
                cli_error("sessions list: --limit wants a positive number, not '%s'", v);
                return EXIT_USAGE;
            }
            q.limit = n;
        } else if (cli_opt_value(argc, argv, &i, "--format", &v)) {
            if (strcmp(v, "table") == 0)
                fmt = F_TABLE;
            else if (strcmp(v, "json") == 0)
                fmt = F_JSON;
            else if (strcmp(v, "csv") == 0)
                fmt = F_CSV;
            else if (strcmp(v, "md") == 0)
                fmt = F_MD;
            else {
                cli_error("sessions list: unknown --format '%s' (table, json, csv, md)", v);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--asc") == 0) {
            q.ascending = true;
        } else if (strcmp(a, "--include-unsessioned") == 0) {
            q.include_unsessioned = true;
        } else if (strcmp(a, "--trace-ids") == 0) {
            q.with_trace_ids = true;
        } else {
            cli_error("sessions list: unknown argument '%s' (see 'mlsession sessions --help')", a);
            return EXIT_USAGE;
        }
    }
    struct ms_error err = {0};
    ms_sfilter *f = NULL;
    if (filter_text && ms_sfilter_parse(filter_text, &f, &err) != MS_OK) {
        cli_error("sessions list: bad --filter: %s", err.msg);
        if (err.offset >= 0) {
            fprintf(stderr, "  %s\n  %*s^\n", filter_text, (int)err.offset, "");
        }
        return EXIT_USAGE;
    }
    q.filter = f;
    ms_store *store = cli_open_store(g);
    if (!store) {
        ms_sfilter_free(f);
        return EXIT_USAGE;
    }
    if (!cli_resolve_experiments(store, &x)) {
        ms_store_close(store);
        ms_sfilter_free(f);
        return EXIT_USAGE;
    }
    q.experiment_ids = x.n ? x.ptrs : NULL;
    q.n_experiment_ids = x.n;
    ms_session_list *l = NULL;
    struct cli_progress pr;
    cli_progress_start(&pr, g, "scanning traces");
    q.progress = on_progress;
    q.progress_ctx = &pr;
    G = g;
    ms_code lrc = ms_sessions_list(store, &q, &l, &err);
    cli_progress_end(&pr);
    if (lrc != MS_OK) {
        cli_store_error(g, &err);
        rc = err.code == MS_E_NOMEM || err.code == MS_E_IO ? EXIT_WORK : EXIT_USAGE;
    } else {
        switch (fmt) {
        case F_JSON:
            rc = print_json(l);
            break;
        case F_CSV:
            rc = print_csv(l);
            break;
        case F_MD:
            rc = print_table(l, true);
            break;
        default:
            rc = print_table(l, false);
            break;
        }
        if (fmt != F_JSON)
            for (size_t i = 0; i < ms_session_list_warning_count(l); i++) {
                const char *w = ms_session_list_warning(l, i);
                if (!w) {
                    cli_error("warning: %zu more", ms_session_list_warning_count(l) - i);
                    break;
                }
                cli_error("warning: %s", w);
            }
    }
    ms_session_list_free(l);
    ms_store_close(store);
    ms_sfilter_free(f);
    if (fflush(stdout) != 0) {
        cli_error("sessions list: cannot write the output");
        return EXIT_WORK;
    }
    return rc;
}

int cmd_sessions(struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "show") == 0)
        return cmd_sessions_show(g, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(g, argc - 1, argv + 1);
    cli_error("sessions: unknown subcommand '%s' (list, show)", argv[1]);
    return EXIT_USAGE;
}
