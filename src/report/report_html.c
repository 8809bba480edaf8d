/* SPDX-License-Identifier: MIT
 *
 * The HTML report: one file that needs nothing else. A CSP meta forbids
 * every fetch (default-src 'none'); styles are inline; charts are inline
 * SVG whose coordinates are computed here in int64; the one inline script
 * sorts the overview table and folds sections, reading text only through
 * textContent. Every trace-derived string goes through msi_html() and only
 * into element text or double-quoted attributes; element ids and anchors
 * are numbers we make, never trace text.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"

#define W 1000 /* chart width in viewBox units */

static const char css[] =
    ":root{--cause:#c62828;--symptom:#ef6c00;--err:#8e0000;--ok:#3949ab;--in:#5c6bc0;"
    "--cached:#9fa8da;--out:#43a047;--muted:#666;--line:#ddd}"
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:0;"
    "color:#222;background:#f6f7f9}"
    "header.top{background:#1f2937;color:#fff;padding:14px 24px}"
    "header.top h1{margin:0;font-size:20px}header.top p{margin:4px 0 0;color:#cbd5e1}"
    "main{display:flex;flex-direction:column;gap:16px;padding:16px 24px}"
    "#overview{order:-2}#across{order:1}#across.first{order:-1}"
    "section.card,details.session{background:#fff;border:1px solid var(--line);border-radius:8px;"
    "padding:12px 16px}"
    "details.session>summary{cursor:pointer;list-style:none}"
    "details.session>summary::before{content:'\\25b6';display:inline-block;width:1.2em;color:#888}"
    "details.session[open]>summary::before{content:'\\25bc'}"
    "h2{display:inline;font-size:17px;margin:0}h3{font-size:15px;margin:16px 0 6px}"
    ".sid,.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "overflow-wrap:anywhere}"
    ".meta{color:var(--muted);margin:6px 0}"
    ".tag{display:inline-block;border-radius:4px;padding:0 6px;margin-left:4px;font-size:12px;"
    "font-weight:600;color:#fff;background:#777;vertical-align:middle}"
    ".tag.cause,.sev-root{background:var(--cause)}.tag.symptom{background:var(--symptom)}"
    ".tag.error,.sev-error{background:var(--err)}.sev-warn{background:#b26a00}"
    ".sev-info{background:#546e7a}.tag.ok{background:#2e7d32}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);"
    "padding:4px 6px;text-align:left;vertical-align:top}"
    "th{background:#f0f2f5;cursor:pointer;user-select:none;white-space:nowrap}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.t{white-space:nowrap}"
    "ol.findings{padding-left:20px}li.finding{margin:6px 0}"
    "li.finding.root{border-left:4px solid var(--cause);padding-left:8px;background:#fff5f5}"
    ".ev{color:#444;font-size:13px}.excerpt{background:#f3f4f6;border-radius:4px;padding:2px 6px;"
    "white-space:pre-wrap;overflow-wrap:anywhere;display:block;margin:2px 0;font-size:13px}"
    "ol.chain{margin:4px 0 4px 18px;padding:0}ol.chain li{margin:2px 0}"
    "svg.chart{width:100%;height:auto;display:block;background:#fff}"
    "svg text{font:11px system-ui,sans-serif;fill:#444}"
    ".turn{border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:8px 0}"
    ".turn.cause{border:2px solid var(--cause);background:#fff8f8}"
    ".turn.symptom{border:2px solid var(--symptom);background:#fffaf3}"
    ".turn.error{border-left:6px solid var(--err)}"
    ".msg{margin:4px 0;display:flex;gap:8px}.role{flex:0 0 72px;font-weight:600;color:#555}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere;flex:1}"
    ".msg.user .text{background:#eef2ff;border-radius:4px;padding:2px 6px}"
    ".msg.assistant .text{background:#f0fdf4;border-radius:4px;padding:2px 6px}"
    ".doc,.tool{font-size:13px;margin:3px 0 3px 80px}"
    "details.spans{margin-top:6px}details.spans>summary{cursor:pointer;color:#374151}"
    "details.span{margin:1px 0;font-size:13px}details.span>summary{cursor:pointer}"
    ".span-body{margin-left:22px;font-size:12px}"
    ".span-body pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f8f9fb;margin:2px 0;"
    "padding:4px;border-radius:4px}"
    ".st-ERROR{color:var(--err);font-weight:600}.dim{color:var(--muted)}"
    ".legend span{display:inline-block;margin-right:12px;font-size:12px}"
    ".sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}"
    "button{font:inherit;margin-right:6px}a{color:#1d4ed8}"
    ".note{background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:6px 10px}";

static const char script[] =
    "(function(){'use strict';"
    "var t=document.getElementById('overview-table');"
    "var PAGE=200,page=0,pager=null,prev,next,info;"
    "var show=function(){if(!pager)return;var rows=t.tBodies[0].rows,n=rows.length,"
    "last=Math.max(0,Math.ceil(n/PAGE)-1);if(page>last)page=last;if(page<0)page=0;"
    "for(var i=0;i<n;i++)rows[i].hidden=i<page*PAGE||i>=(page+1)*PAGE;"
    "info.textContent=' rows '+(page*PAGE+1)+'\u2013'+Math.min(n,(page+1)*PAGE)+' of '+n+' ';"
    "prev.disabled=page===0;next.disabled=page===last;};"
    "var button=function(label,step){var b=document.createElement('button');b.type='button';"
    "b.textContent=label;b.addEventListener('click',function(){page+=step;show();});return b;};"
    "if(t){var hs=t.tHead.rows[0].cells,dir={};"
    "if(t.tBodies[0].rows.length>PAGE+50){pager=document.createElement('p');"
    "pager.className='pager';prev=button('\u2190 previous',-1);next=button('next \u2192',1);"
    "info=document.createElement('span');pager.appendChild(prev);pager.appendChild(info);"
    "pager.appendChild(next);t.parentNode.insertBefore(pager,t);show();}"
    "var key=function(r,i){var c=r.cells[i],v=c.getAttribute('data-v');"
    "return v===null?c.textContent:Number(v);};"
    "var sort=function(i){var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);"
    "var d=dir[i]=(dir[i]===1?-1:1);"
    "rows.sort(function(a,c){var x=key(a,i),y=key(c,i);if(x<y)return -d;if(x>y)return d;"
    "return Number(a.getAttribute('data-i'))-Number(c.getAttribute('data-i'));});"
    "rows.forEach(function(r){b.appendChild(r);});page=0;show();"
    "for(var j=0;j<hs.length;j++)hs[j].setAttribute('aria-sort',j===i?(d>0?'ascending':"
    "'descending'):'none');};"
    "Array.prototype.forEach.call(hs,function(h,i){h.tabIndex=0;"
    "h.addEventListener('click',function(){sort(i);});"
    "h.addEventListener('keydown',function(e){if(e.key==='Enter')sort(i);});});}"
    "Array.prototype.forEach.call(document.querySelectorAll('button[data-fold]'),function(b){"
    "b.addEventListener('click',function(){var open=b.getAttribute('data-fold')==='open';"
    "Array.prototype.forEach.call(document.querySelectorAll('details.session'),function(d){"
    "d.open=open;});});});"
    "document.documentElement.setAttribute('data-report-ready','1');})();";

/* ---- small pieces -------------------------------------------------------- */

static void h(struct msx_buf *b, ms_str s)
{
    msi_html(b, s, 0);
}

static void hcut(struct msx_buf *b, ms_str s)
{
    msi_html(b, s, MSI_REPORT_TEXT_MAX);
}

static const char *sev_class(const ms_finding *f)
{
    if (msi_is_root(f))
        return "sev-root";
    return f->severity == MS_SEV_ERROR ? "sev-error" : f->severity == MS_SEV_WARN ? "sev-warn"
                                                                                  : "sev-info";
}

/* "base/#/experiments/EXP/traces?selectedEvaluationId=ID&traceId=ID&compareRunsMode=TRACES",
 * the link MLflow 3.17.2's own UI builds for a trace. */
static void trace_link(struct ms_report *r, struct msx_buf *b, ms_str exp, ms_str tid)
{
    if (!r->o.ui_base_url || !exp.len || !tid.len)
        return;
    struct msx_buf u;
    msx_buf_init(&u, MSX_CAP_LINE);
    ms_str base = msi_s(r->o.ui_base_url);
    while (base.len && base.ptr[base.len - 1] == '/')
        base.len--;
    msx_buf_add(&u, base.ptr, base.len);
    msx_buf_adds(&u, "/#/experiments/");
    msi_url_component(&u, exp);
    msx_buf_adds(&u, "/traces?selectedEvaluationId=");
    msi_url_component(&u, tid);
    msx_buf_adds(&u, "&traceId=");
    msi_url_component(&u, tid);
    msx_buf_adds(&u, "&compareRunsMode=TRACES");
    if (msx_buf_status(&u) == MS_OK) {
        msx_buf_adds(b, " <a class=\"mlflow\" rel=\"noreferrer noopener\" target=\"_blank\" href=\"");
        h(b, (ms_str){u.ptr, u.len});
        msx_buf_adds(b, "\">open in MLflow</a>");
    }
    msx_buf_release(&u);
}

static void session_link(struct ms_report *r, struct msx_buf *b, ms_str exp, ms_str sid)
{
    if (!r->o.ui_base_url || !exp.len || !sid.len)
        return;
    struct msx_buf u;
    msx_buf_init(&u, MSX_CAP_LINE);
    ms_str base = msi_s(r->o.ui_base_url);
    while (base.len && base.ptr[base.len - 1] == '/')
        base.len--;
    msx_buf_add(&u, base.ptr, base.len);
    msx_buf_adds(&u, "/#/experiments/");
    msi_url_component(&u, exp);
    msx_buf_adds(&u, "/chat-sessions/");
    msi_url_component(&u, sid);
    if (msx_buf_status(&u) == MS_OK) {
        msx_buf_adds(b, " <a class=\"mlflow\" rel=\"noreferrer noopener\" target=\"_blank\" href=\"");
        h(b, (ms_str){u.ptr, u.len});
        msx_buf_adds(b, "\">session in MLflow</a>");
    }
    msx_buf_release(&u);
}

static void tokens(struct msx_buf *b, int64_t in, int64_t out, int64_t cached)
{
    if (in < 0 && out < 0) {
        msx_buf_adds(b, "-");
        return;
    }
    if (in >= 0)
        msx_buf_addf(b, "%lld in", (long long)in);
    if (out >= 0)
        msx_buf_addf(b, "%s%lld out", in >= 0 ? " / " : "", (long long)out);
    if (cached >= 0)
        msx_buf_addf(b, " / %lld cached", (long long)cached);
}

/* ---- head ---------------------------------------------------------------- */

void msi_html_head(struct ms_report *r, struct msx_buf *b)
{
    const char *title = r->o.title ? r->o.title : "mlsession report";
    msx_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
                    "base-uri 'none'; form-action 'none'\">\n"
                    "<meta name=\"referrer\" content=\"no-referrer\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"mlsession ");
    msx_buf_adds(b, ms_version());
    msx_buf_adds(b, "\">\n<title>");
    msi_htmlz(b, title);
    msx_buf_adds(b, "</title>\n<style>");
    msx_buf_adds(b, css);
    msx_buf_adds(b, "</style>\n</head>\n<body>\n<header class=\"top\"><h1>");
    msi_htmlz(b, title);
    msx_buf_adds(b, "</h1><p>");
    if (r->o.store) {
        msx_buf_adds(b, "store <span class=\"mono\">");
        msi_htmlz(b, r->o.store);
        msx_buf_adds(b, "</span> &middot; ");
    }
    msx_buf_addf(b, "mlsession %s &middot; read-only, deterministic: the same store gives the "
                    "same report</p></header>\n<main id=\"main\">\n",
                 ms_version());
}

/* ---- per-session charts ---------------------------------------------------- */

static const char *turn_fill(const struct msi_turn_info *ti)
{
    if (ti->is_cause)
        return "#c62828";
    if (ti->is_symptom)
        return "#ef6c00";
    if (ti->is_error)
        return "#8e0000";
    return "#3949ab";
}

/* Turns as bars on one time axis, idle gaps to scale. */
static void timeline(struct msx_buf *b, const ms_session *s, const struct msi_turn_info *ti,
                     int64_t idle_gap_ms)
{
    const int64_t x0 = 20, pw = W - 40, H = 74, y = 28, bh = 22;
    int64_t t0 = s->turns[0].start_ms, t1 = t0;
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_turn *t = &s->turns[i];
        int64_t end = t->latency_ms >= 0 && t->start_ms <= INT64_MAX - t->latency_ms
                          ? t->start_ms + t->latency_ms
                          : t->start_ms;
        if (t->start_ms < t0)
            t0 = t->start_ms;
        if (end > t1)
            t1 = end;
    }
    int64_t span = msi_sub(t1, t0) > 0 ? msi_sub(t1, t0) : 1;
    msx_buf_addf(b,
                 "<svg class=\"chart timeline\" viewBox=\"0 0 %d %lld\" role=\"img\" "
                 "aria-label=\"timeline of the turns, idle gaps to scale\">"
                 "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" stroke=\"#bbb\"/>",
                 W, (long long)H, (long long)x0, (long long)(y + bh / 2), (long long)(x0 + pw),
                 (long long)(y + bh / 2));
    int64_t last_label = -1000, prev_end_x = x0;
    for (size_t i = 0; i < s->n_turns; i++) {
        const ms_turn *t = &s->turns[i];
        int64_t x = x0 + msi_muldiv(msi_sub(t->start_ms, t0), pw, span);
        int64_t w = t->latency_ms > 0 ? msi_muldiv(t->latency_ms, pw, span) : 0;
        if (x < x0)
            x = x0;
        if (x > x0 + pw)
            x = x0 + pw;
        if (w < 3)
            w = 3;
        if (x + w > x0 + pw + 3)
            w = x0 + pw + 3 - x;
        if (i > 0 && t->gap_ms > 0 && x - prev_end_x >= 70) {
            msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\"%s>idle ",
                         (long long)((prev_end_x + x) / 2), (long long)(y + bh + 16),
                         t->gap_ms >= idle_gap_ms ? " style=\"fill:#b26a00;font-weight:600\"" : "");
            msi_duration(b, t->gap_ms);
            msx_buf_adds(b, "</text>");
        }
        msx_buf_addf(b,
                     "<rect class=\"tl-turn\" x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\" "
                     "rx=\"2\" fill=\"%s\"><title>turn %lld, ",
                     (long long)x, (long long)y, (long long)w, (long long)bh, turn_fill(&ti[i]),
                     (long long)t->index);
        msi_duration(b, t->latency_ms);
        if (ti[i].is_cause)
            msx_buf_adds(b, ", root cause");
        if (ti[i].is_symptom)
            msx_buf_adds(b, ", symptom");
        msx_buf_adds(b, "</title></rect>");
        if (x - last_label >= 18 || ti[i].is_cause || ti[i].is_symptom) {
            msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\"%s>%lld</text>",
                         (long long)(x + w / 2), (long long)(y - 6),
                         ti[i].is_cause || ti[i].is_symptom ? " style=\"font-weight:700\"" : "",
                         (long long)t->index);
            last_label = x;
        }
        if (x + w > prev_end_x)
            prev_end_x = x + w;
    }
    msx_buf_addf(b, "<text x=\"%lld\" y=\"12\">", (long long)x0);
    msi_time(b, t0);
    msx_buf_addf(b, "</text><text x=\"%lld\" y=\"12\" text-anchor=\"end\">+", (long long)(x0 + pw));
    msi_duration(b, msi_sub(t1, t0));
    msx_buf_adds(b, "</text></svg>\n");
}

/* Bars per turn, stacked: uncached input, cached input, output. */
static void token_chart(struct msx_buf *b, const ms_session *s, const struct msi_turn_info *ti)
{
    const int64_t x0 = 60, pw = W - 80, top = 10, ph = 130, H = 168;
    int64_t max = 0;
    size_t n = s->n_turns;
    for (size_t i = 0; i < n; i++) {
        int64_t in = ti[i].in > 0 ? ti[i].in : 0, out = ti[i].out > 0 ? ti[i].out : 0;
        int64_t c = ti[i].cached > 0 ? ti[i].cached : 0;
        int64_t tot = (c <= in ? in : in + c);
        tot = tot > INT64_MAX - out ? INT64_MAX : tot + out;
        if (tot > max)
            max = tot;
    }
    msx_buf_addf(b,
                 "<svg class=\"chart tokens\" viewBox=\"0 0 %d %lld\" role=\"img\" "
                 "aria-label=\"tokens per turn\">"
                 "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" stroke=\"#999\"/>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">%lld</text>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">0</text>",
                 W, (long long)H, (long long)x0, (long long)(top + ph), (long long)(x0 + pw),
                 (long long)(top + ph), (long long)(x0 - 4), (long long)(top + 10),
                 (long long)max, (long long)(x0 - 4), (long long)(top + ph));
    int64_t slot = pw / (int64_t)(n ? n : 1);
    if (slot < 1)
        slot = 1;
    int64_t bw = slot * 7 / 10 > 1 ? slot * 7 / 10 : 1;
    int64_t every = 1;
    while (slot * every < 22)
        every++;
    for (size_t i = 0; i < n && (int64_t)i * slot < pw; i++) {
        int64_t x = x0 + (int64_t)i * slot + (slot - bw) / 2;
        int64_t in = ti[i].in > 0 ? ti[i].in : 0, out = ti[i].out > 0 ? ti[i].out : 0;
        int64_t c = ti[i].cached > 0 ? ti[i].cached : 0;
        int64_t unc = c <= in ? in - c : in;
        int64_t yb = top + ph;
        const int64_t vals[3] = {unc, c, out};
        static const char *const fills[3] = {"#5c6bc0", "#9fa8da", "#43a047"};
        static const char *const names[3] = {"input (not cached)", "cached input", "output"};
        for (int k = 0; k < 3; k++) {
            int64_t hh = max ? msi_muldiv(vals[k], ph, max) : 0;
            if (hh <= 0)
                continue;
            yb -= hh;
            msx_buf_addf(b,
                         "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\" "
                         "fill=\"%s\"><title>turn %lld: %lld %s</title></rect>",
                         (long long)x, (long long)yb, (long long)bw, (long long)hh, fills[k],
                         (long long)s->turns[i].index, (long long)vals[k], names[k]);
        }
        if (ti[i].is_cause || ti[i].is_symptom)
            msx_buf_addf(b,
                         "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\" fill=\"none\" "
                         "stroke=\"%s\" stroke-width=\"2\"/>",
                         (long long)(x - 2), (long long)top, (long long)(bw + 4), (long long)ph,
                         ti[i].is_cause ? "#c62828" : "#ef6c00");
        if (i % (size_t)every == 0)
            msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">%lld</text>",
                         (long long)(x + bw / 2), (long long)(top + ph + 14),
                         (long long)s->turns[i].index);
    }
    if (max == 0)
        msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">no token usage "
                        "recorded</text>",
                     (long long)(x0 + pw / 2), (long long)(top + ph / 2));
    msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">turn</text></svg>\n",
                 (long long)(x0 + pw / 2), (long long)(H - 2));
    msx_buf_adds(b, "<div class=\"legend\"><span><i class=\"sw\" style=\"background:var(--in)\">"
                    "</i>input (not cached)</span><span><i class=\"sw\" "
                    "style=\"background:var(--cached)\"></i>cached input</span><span><i "
                    "class=\"sw\" style=\"background:var(--out)\"></i>output</span><span><i "
                    "class=\"sw\" style=\"border:2px solid var(--cause)\"></i>root-cause turn"
                    "</span><span><i class=\"sw\" style=\"border:2px solid var(--symptom)\"></i>"
                    "symptom turn</span></div>\n");
}

static void latency_chart(struct msx_buf *b, const ms_session *s, const struct msi_turn_info *ti)
{
    const int64_t x0 = 60, pw = W - 80, top = 10, ph = 100, H = 138;
    int64_t max = 0;
    size_t n = s->n_turns;
    for (size_t i = 0; i < n; i++)
        if (s->turns[i].latency_ms > max)
            max = s->turns[i].latency_ms;
    msx_buf_addf(b,
                 "<svg class=\"chart latency\" viewBox=\"0 0 %d %lld\" role=\"img\" "
                 "aria-label=\"latency per turn\">"
                 "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" stroke=\"#999\"/>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">",
                 W, (long long)H, (long long)x0, (long long)(top + ph), (long long)(x0 + pw),
                 (long long)(top + ph), (long long)(x0 - 4), (long long)(top + 10));
    msi_duration(b, max);
    msx_buf_addf(b, "</text><text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">0</text>",
                 (long long)(x0 - 4), (long long)(top + ph));
    int64_t slot = pw / (int64_t)(n ? n : 1);
    if (slot < 1)
        slot = 1;
    int64_t bw = slot * 7 / 10 > 1 ? slot * 7 / 10 : 1;
    int64_t every = 1;
    while (slot * every < 22)
        every++;
    for (size_t i = 0; i < n && (int64_t)i * slot < pw; i++) {
        const ms_turn *t = &s->turns[i];
        int64_t x = x0 + (int64_t)i * slot + (slot - bw) / 2;
        if (t->latency_ms >= 0) {
            int64_t hh = max ? msi_muldiv(t->latency_ms, ph, max) : 0;
            if (hh < 1)
                hh = 1;
            msx_buf_addf(b,
                         "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\" fill=\"%s\">"
                         "<title>turn %lld: ",
                         (long long)x, (long long)(top + ph - hh), (long long)bw, (long long)hh,
                         turn_fill(&ti[i]), (long long)t->index);
            msi_duration(b, t->latency_ms);
            msx_buf_adds(b, "</title></rect>");
        } else {
            msx_buf_addf(b,
                         "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">&#8230;<title>turn "
                         "%lld still in progress</title></text>",
                         (long long)(x + bw / 2), (long long)(top + ph - 4), (long long)t->index);
        }
        if (i % (size_t)every == 0)
            msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">%lld</text>",
                         (long long)(x + bw / 2), (long long)(top + ph + 14),
                         (long long)t->index);
    }
    msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">turn</text></svg>\n",
                 (long long)(x0 + pw / 2), (long long)(H - 2));
}

/* ---- findings -------------------------------------------------------------- */

static void turn_ref(struct msx_buf *b, size_t si, int64_t turn)
{
    if (turn > 0)
        msx_buf_addf(b, "<a href=\"#s%zu-t%lld\">turn %lld</a>", si, (long long)turn,
                     (long long)turn);
    else
        msx_buf_adds(b, "session");
}

static void finding(struct msx_buf *b, const ms_finding *f, size_t si)
{
    bool root = msi_is_root(f);
    msx_buf_addf(b, "<li class=\"finding%s\" data-rule=\"%s\"><span class=\"tag %s\">%s</span> ",
                 root ? " root" : "", f->rule, sev_class(f),
                 root ? "ROOT CAUSE" : ms_severity_name(f->severity));
    turn_ref(b, si, f->turn);
    msx_buf_addf(b, " <code>%s</code> &mdash; ", f->rule);
    h(b, f->message);
    if (f->trace_id.len || f->span_id.len || f->path.len) {
        msx_buf_adds(b, "<div class=\"ev\">");
        if (f->trace_id.len) {
            msx_buf_adds(b, "trace <code>");
            h(b, f->trace_id);
            msx_buf_adds(b, "</code> ");
        }
        if (f->span_id.len) {
            msx_buf_adds(b, "span <code>");
            h(b, f->span_id);
            msx_buf_adds(b, "</code> ");
        }
        if (f->path.len) {
            msx_buf_adds(b, "path <code>");
            h(b, f->path);
            msx_buf_adds(b, "</code>");
        }
        msx_buf_adds(b, "</div>");
    }
    if (f->excerpt.len) {
        msx_buf_adds(b, "<span class=\"excerpt\">");
        hcut(b, f->excerpt);
        msx_buf_adds(b, "</span>");
    }
    if (f->n_chain) {
        msx_buf_adds(b, "<ol class=\"chain\">");
        for (size_t i = 0; i < f->n_chain; i++) {
            const ms_link *l = &f->chain[i];
            bool at_cause = i == 0 || l->turn == f->chain[0].turn;
            msx_buf_addf(b, "<li><span class=\"tag %s\">%s</span> ", at_cause ? "cause" : "symptom",
                         at_cause ? "cause" : "symptom");
            turn_ref(b, si, l->turn);
            if (l->why.len) {
                msx_buf_adds(b, ": ");
                h(b, l->why);
            }
            if (l->span_id.len) {
                msx_buf_adds(b, " <span class=\"dim\">span <code>");
                h(b, l->span_id);
                msx_buf_adds(b, "</code></span>");
            }
            if (l->path.len) {
                msx_buf_adds(b, " <span class=\"dim\"><code>");
                h(b, l->path);
                msx_buf_adds(b, "</code></span>");
            }
            if (l->excerpt.len) {
                msx_buf_adds(b, "<span class=\"excerpt\">");
                hcut(b, l->excerpt);
                msx_buf_adds(b, "</span>");
            }
            msx_buf_adds(b, "</li>");
        }
        msx_buf_adds(b, "</ol>");
    }
    msx_buf_adds(b, "</li>\n");
}

/* ---- turns ------------------------------------------------------------------ */

static void message(struct msx_buf *b, const ms_message *m)
{
    msx_buf_addf(b, "<div class=\"msg %s\"><span class=\"role\">%s</span><div class=\"text\">",
                 msi_role_name(m->role), msi_role_name(m->role));
    if (m->role == MS_ROLE_TOOL && m->name.len) {
        msx_buf_adds(b, "<b>");
        h(b, m->name);
        msx_buf_adds(b, "</b>: ");
    }
    hcut(b, m->text);
    if (m->truncated)
        msx_buf_adds(b, " <span class=\"dim\">(preview, cut by MLflow)</span>");
    msx_buf_adds(b, "</div></div>\n");
}

static void assessments(struct msx_buf *b, const ms_trace *t)
{
    for (size_t i = 0; i < t->info.n_assessments; i++) {
        const ms_assessment *a = &t->info.assessments[i];
        if (a->has_valid && !a->valid)
            continue;
        msx_buf_adds(b, "<div class=\"tool\">assessment <b>");
        h(b, a->name);
        msx_buf_adds(b, "</b> = <code>");
        if (a->has_error) {
            msx_buf_adds(b, "error ");
            h(b, a->error_code);
            msx_buf_adds(b, " ");
            hcut(b, a->error_message);
        } else {
            hcut(b, a->value_json.len ? a->value_json : a->serialized_json);
        }
        msx_buf_adds(b, "</code>");
        if (a->rationale.len) {
            msx_buf_adds(b, " &mdash; <span class=\"dim\">");
            hcut(b, a->rationale);
            msx_buf_adds(b, "</span>");
        }
        msx_buf_adds(b, "</div>\n");
    }
}

static void kv_rows(struct msx_buf *b, const char *what, const ms_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        msx_buf_addf(b, "<tr><td class=\"dim\">%s</td><td class=\"mono\">", what);
        h(b, kv[i].key);
        msx_buf_adds(b, "</td><td class=\"mono\">");
        msi_html(b, kv[i].value, 600);
        msx_buf_adds(b, "</td></tr>");
    }
}

static void span_tree(struct msx_buf *b, const ms_trace *t)
{
    msx_buf_addf(b, "<details class=\"spans\"><summary>span tree (%zu span%s), tags and "
                    "metadata</summary>\n",
                 t->n_spans, t->n_spans == 1 ? "" : "s");
    if (t->info.n_tags || t->info.n_metadata) {
        msx_buf_adds(b, "<table class=\"kv\">");
        kv_rows(b, "tag", t->info.tags, t->info.n_tags);
        kv_rows(b, "metadata", t->info.metadata, t->info.n_metadata);
        msx_buf_adds(b, "</table>\n");
    }
    size_t *order = NULL, n = 0;
    int *depth = NULL;
    if (ms_trace_span_order(t, &order, &depth, &n) != MS_OK) {
        b->status = b->status == MS_OK ? MS_E_NOMEM : b->status;
        msx_buf_adds(b, "</details>");
        return;
    }
    for (size_t k = 0; k < n && k < MSI_REPORT_SPANS_MAX; k++) {
        const ms_span *s = &t->spans[order[k]];
        int d = depth[k] > 40 ? 40 : depth[k];
        msx_buf_addf(b, "<details class=\"span\" style=\"margin-left:%dpx\"><summary>", d * 18);
        msx_buf_adds(b, "<b>");
        msi_html(b, s->name, 300);
        msx_buf_adds(b, "</b>");
        if (s->span_type.len) {
            msx_buf_adds(b, " <span class=\"dim\">");
            msi_html(b, s->span_type, 60);
            msx_buf_adds(b, "</span>");
        }
        if (s->status == MS_STATUS_ERROR)
            msx_buf_adds(b, " <span class=\"st-ERROR\">ERROR</span>");
        msx_buf_adds(b, " <span class=\"dim\">");
        if (s->has_end && s->end_ns >= s->start_ns)
            msi_duration(b, msi_span_ms(s->start_ns, s->end_ns));
        else
            msx_buf_adds(b, "running");
        msx_buf_adds(b, "</span></summary><div class=\"span-body\">span <code>");
        msx_buf_adds(b, s->span_id); /* 16 lowercase hex, made by the decoder */
        msx_buf_adds(b, "</code>");
        if (s->status_message.len) {
            msx_buf_adds(b, " status: ");
            hcut(b, s->status_message);
        }
        char *own = NULL;
        ms_str io = msi_span_io(s, false, &own);
        if (io.len) {
            msx_buf_adds(b, "<div>inputs</div><pre>");
            hcut(b, io);
            msx_buf_adds(b, "</pre>");
        }
        free(own);
        io = msi_span_io(s, true, &own);
        if (io.len) {
            msx_buf_adds(b, "<div>outputs</div><pre>");
            hcut(b, io);
            msx_buf_adds(b, "</pre>");
        }
        free(own);
        if (s->n_attrs) {
            msx_buf_adds(b, "<table class=\"kv\">");
            for (size_t i = 0; i < s->n_attrs; i++) {
                if (strncmp(s->attrs[i].key.ptr ? s->attrs[i].key.ptr : "", "mlflow.span", 11) == 0 &&
                    (s->attrs[i].key.len == 17 || s->attrs[i].key.len == 18))
                    continue; /* spanInputs / spanOutputs shown above */
                msx_buf_adds(b, "<tr><td class=\"mono\">");
                msi_html(b, s->attrs[i].key, 200);
                msx_buf_adds(b, "</td><td class=\"mono\">");
                msi_html(b, s->attrs[i].value, 600);
                msx_buf_adds(b, "</td></tr>");
            }
            msx_buf_adds(b, "</table>");
        }
        for (size_t i = 0; i < s->n_events; i++) {
            const ms_event *e = &s->events[i];
            msx_buf_adds(b, "<div>event <b>");
            msi_html(b, e->name, 200);
            msx_buf_adds(b, "</b>");
            for (size_t j = 0; j < e->n_attrs; j++) {
                msx_buf_adds(b, "<pre>");
                msi_html(b, e->attrs[j].key, 200);
                msx_buf_adds(b, ": ");
                msi_html(b, e->attrs[j].value, 2000);
                msx_buf_adds(b, "</pre>");
            }
            msx_buf_adds(b, "</div>");
        }
        msx_buf_adds(b, "</div></details>\n");
    }
    if (n > MSI_REPORT_SPANS_MAX)
        msx_buf_addf(b, "<p class=\"note\">%zu more spans not shown</p>", n - MSI_REPORT_SPANS_MAX);
    free(order);
    free(depth);
    msx_buf_adds(b, "</details>\n");
}

static void turn(struct ms_report *r, struct msx_buf *b, const ms_turn *t,
                 const struct msi_turn_info *ti, size_t si)
{
    msx_buf_addf(b, "<div class=\"turn%s%s%s\" id=\"s%zu-t%lld\"><div class=\"thead\"><b>Turn "
                    "%lld</b>",
                 ti->is_cause ? " cause" : "", ti->is_symptom ? " symptom" : "",
                 ti->is_error ? " error" : "", si, (long long)t->index, (long long)t->index);
    if (ti->is_cause)
        msx_buf_adds(b, "<span class=\"tag cause\">ROOT CAUSE</span>");
    if (ti->is_symptom)
        msx_buf_adds(b, "<span class=\"tag symptom\">SYMPTOM</span>");
    if (ti->is_error)
        msx_buf_adds(b, "<span class=\"tag error\">ERROR</span>");
    else if (t->trace->info.state == MS_STATE_IN_PROGRESS)
        msx_buf_adds(b, "<span class=\"tag\">IN PROGRESS</span>");
    if (ti->n_findings)
        msx_buf_addf(b, " <span class=\"dim\">%zu finding%s</span>", ti->n_findings,
                     ti->n_findings == 1 ? "" : "s");
    msx_buf_adds(b, " <span class=\"dim\">");
    msi_time(b, t->start_ms);
    msx_buf_adds(b, " &middot; latency ");
    msi_duration(b, t->latency_ms);
    if (t->index > 1) {
        msx_buf_adds(b, t->gap_ms < 0 ? " &middot; overlaps by " : " &middot; idle before ");
        msi_duration(b, t->gap_ms < 0 ? (t->gap_ms == INT64_MIN ? INT64_MAX : -t->gap_ms)
                                      : t->gap_ms);
    }
    msx_buf_adds(b, " &middot; tokens ");
    tokens(b, ti->in, ti->out, ti->cached);
    msx_buf_adds(b, " &middot; trace <code>");
    h(b, t->trace->info.trace_id);
    msx_buf_adds(b, "</code></span>");
    trace_link(r, b, t->trace->info.experiment_id, t->trace->info.trace_id);
    msx_buf_adds(b, "</div>\n");
    if (t->first_new > 0)
        msx_buf_addf(b, "<div class=\"dim\">+ %zu earlier message%s resent as history</div>\n",
                     t->first_new, t->first_new == 1 ? "" : "s");
    for (size_t i = t->first_new; i < t->n_input; i++)
        message(b, &t->input[i]);
    for (size_t i = 0; i < t->n_tools; i++) {
        const ms_tool_call *c = &t->tools[i];
        msx_buf_adds(b, "<div class=\"tool\">tool <b>");
        h(b, c->name);
        msx_buf_adds(b, "</b>(<code>");
        msi_html(b, c->arguments, 600);
        msx_buf_adds(b, "</code>)");
        if (c->failed) {
            msx_buf_adds(b, " <span class=\"st-ERROR\">failed</span> ");
            msi_html(b, c->error, 600);
        } else if (c->result.len) {
            msx_buf_adds(b, " &rarr; ");
            msi_html(b, c->result, 600);
        }
        msx_buf_adds(b, "</div>\n");
    }
    for (size_t i = 0; i < t->n_docs; i++) {
        const ms_document *d = &t->docs[i];
        msx_buf_addf(b, "<div class=\"doc\">document #%lld ", (long long)d->rank);
        if (d->id.len) {
            msx_buf_adds(b, "<code>");
            h(b, d->id);
            msx_buf_adds(b, "</code> ");
        }
        if (d->uri.len) {
            msx_buf_adds(b, "<code>");
            h(b, d->uri);
            msx_buf_adds(b, "</code>");
        }
        msx_buf_adds(b, "<span class=\"excerpt\">");
        msi_html(b, d->text, 600);
        msx_buf_adds(b, "</span></div>\n");
    }
    for (size_t i = 0; i < t->n_output; i++)
        message(b, &t->output[i]);
    assessments(b, t->trace);
    span_tree(b, t->trace);
    msx_buf_adds(b, "</div>\n");
}

/* --source: the code a finding links to (finding -1: the session-wide
 * links): file:line, what, confidence, the source line and why. */
static void code_links(struct ms_report *r, struct msx_buf *b, int64_t finding)
{
    bool any = false;
    for (size_t i = 0; r->links && i < ms_code_links_count(r->links); i++) {
        const ms_code_ref *k = ms_code_links_at(r->links, i);
        if (k->finding != finding)
            continue;
        if (!any)
            msx_buf_adds(b, "<ul class=\"code\">\n");
        any = true;
        msx_buf_adds(b, "<li><span class=\"mono\">");
        if (k->file.len) {
            h(b, k->file);
            msx_buf_addf(b, ":%lld", (long long)k->line);
        } else {
            msx_buf_adds(b, "(gap)");
        }
        msx_buf_addf(b, "</span> %s ", ms_code_kind_name(k->kind));
        h(b, k->subject);
        msx_buf_addf(b, " <span class=\"tag\">%s</span>", ms_confidence_name(k->confidence));
        if (k->text.len) {
            msx_buf_adds(b, "<pre class=\"src\">");
            h(b, k->text);
            msx_buf_adds(b, "</pre>");
        }
        msx_buf_adds(b, "<span class=\"dim\">");
        h(b, k->reason);
        msx_buf_adds(b, "</span></li>\n");
    }
    if (any)
        msx_buf_adds(b, "</ul>\n");
}

void msi_html_session(struct ms_report *r, struct msx_buf *b, const ms_session *s,
                      const ms_findings *f, const struct msi_turn_info *ti,
                      const struct msi_report_row *row)
{
    size_t si = row->index;
    msx_buf_addf(b, "<details class=\"session\" id=\"s%zu\" data-findings=\"%zu\"%s><summary><h2>"
                    "Session <span class=\"sid\">",
                 si, ms_findings_count(f), si < r->o.max_open ? " open" : "");
    h(b, s->session_id.len ? s->session_id : msi_s("(no session id)"));
    msx_buf_adds(b, "</span></h2>");
    if (row->by_sev[MS_SEV_ERROR])
        msx_buf_addf(b, "<span class=\"tag sev-error\">%zu error</span>", row->by_sev[MS_SEV_ERROR]);
    if (row->by_sev[MS_SEV_WARN])
        msx_buf_addf(b, "<span class=\"tag sev-warn\">%zu warn</span>", row->by_sev[MS_SEV_WARN]);
    if (row->cause_turn) {
        msx_buf_addf(b, "<span class=\"tag cause\">root cause: turn %lld</span>",
                     (long long)row->cause_turn);
        if (row->symptom_first == row->symptom_last && row->symptom_first)
            msx_buf_addf(b, "<span class=\"tag symptom\">symptom: turn %lld</span>",
                         (long long)row->symptom_first);
        else if (row->symptom_first)
            msx_buf_addf(b, "<span class=\"tag symptom\">symptoms: turns %lld&ndash;%lld</span>",
                         (long long)row->symptom_first, (long long)row->symptom_last);
    }
    if (!ms_findings_count(f))
        msx_buf_adds(b, "<span class=\"tag ok\">no findings</span>");
    msx_buf_adds(b, "</summary>\n<p class=\"meta\">");
    if (s->user_id.len) {
        msx_buf_adds(b, "user <span class=\"mono\">");
        h(b, s->user_id);
        msx_buf_adds(b, "</span> &middot; ");
    }
    msx_buf_addf(b, "%zu turn%s &middot; ", s->n_turns, s->n_turns == 1 ? "" : "s");
    if (s->n_turns)
        msi_time(b, row->first_ms);
    msx_buf_adds(b, " &middot; ");
    msi_duration(b, row->duration_ms);
    msx_buf_adds(b, " (busy ");
    msi_duration(b, row->busy_ms);
    msx_buf_adds(b, ", idle ");
    msi_duration(b, row->idle_ms);
    msx_buf_adds(b, ") &middot; tokens ");
    if (row->has_tokens)
        tokens(b, row->tokens_input, row->tokens_output, row->has_cached ? row->tokens_cached : -1);
    else
        msx_buf_adds(b, "not recorded");
    if (row->errors)
        msx_buf_addf(b, " &middot; %lld turn%s in ERROR", (long long)row->errors,
                     row->errors == 1 ? "" : "s");
    session_link(r, b, s->experiment_id, s->session_id);
    msx_buf_adds(b, "</p>\n");

    msx_buf_addf(b, "<h3>Findings (%zu)</h3>\n", ms_findings_count(f));
    if (ms_findings_count(f)) {
        msx_buf_adds(b, "<ol class=\"findings\">\n");
        for (size_t i = 0; i < ms_findings_count(f); i++) {
            finding(b, ms_findings_at(f, i), si);
            code_links(r, b, (int64_t)i);
        }
        msx_buf_adds(b, "</ol>\n");
    } else {
        msx_buf_adds(b, "<p class=\"dim\">No analyzer found anything wrong.</p>\n");
    }
    if (r->links && ms_code_links_count(r->links)) {
        msx_buf_adds(b, "<h3>Code of the whole session</h3>\n");
        code_links(r, b, -1);
    }
    if (s->n_turns) {
        msx_buf_adds(b, "<h3>Timeline</h3>\n");
        timeline(b, s, ti, r->ao.idle_gap_ms);
        msx_buf_adds(b, "<h3>Tokens per turn</h3>\n");
        token_chart(b, s, ti);
        msx_buf_adds(b, "<h3>Latency per turn</h3>\n");
        latency_chart(b, s, ti);
    }
    msx_buf_adds(b, "<h3>Transcript</h3>\n");
    for (size_t i = 0; i < s->n_turns; i++)
        turn(r, b, &s->turns[i], &ti[i], si);
    msx_buf_adds(b, "</details>\n");
}

/* ---- across sessions ---------------------------------------------------------- */

static void overview(struct ms_report *r, struct msx_buf *b)
{
    msx_buf_addf(b, "<section class=\"card\" id=\"overview\"><h2>Sessions (%zu)</h2>\n", r->n_rows);
    msx_buf_adds(b, "<p class=\"meta\">Click a column to sort. <button type=\"button\" "
                    "data-fold=\"open\">unfold all sessions</button><button type=\"button\" "
                    "data-fold=\"close\">fold all sessions</button></p>\n");
    if (r->n_rows > r->o.max_detail)
        msx_buf_addf(b, "<p class=\"note\">%zu of these sessions are listed here only, beyond "
                        "--max-detail %zu.</p>\n",
                     r->n_rows - r->o.max_detail, r->o.max_detail);
    msx_buf_adds(b, "<table id=\"overview-table\"><thead><tr><th class=\"n\">#</th><th>session"
                    "</th><th>user</th><th class=\"n\">turns</th><th>start</th><th "
                    "class=\"n\">duration</th><th class=\"n\">idle</th><th class=\"n\">tokens"
                    "</th><th class=\"n\">error turns</th><th class=\"n\">findings (E / W / I)</th><th "
                    "class=\"n\">root cause</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct msi_report_row *w = &r->rows[i];
        int64_t sevkey = (int64_t)w->by_sev[2] * 1000000 + (int64_t)w->by_sev[1] * 1000 +
                         (int64_t)w->by_sev[0];
        msx_buf_addf(b, "<tr class=\"srow\" data-i=\"%zu\"><td class=\"n\" data-v=\"%zu\">%zu</td>"
                        "<td class=\"sid\">",
                     i, i + 1, i + 1);
        ms_str sid = {w->session_id, w->session_id_len};
        if (w->detailed)
            msx_buf_addf(b, "<a href=\"#s%zu\">", i);
        h(b, sid.len ? sid : msi_s("(no session id)"));
        if (w->detailed)
            msx_buf_adds(b, "</a>");
        msx_buf_adds(b, "</td><td class=\"mono\">");
        h(b, (ms_str){w->user_id, w->user_id_len});
        msx_buf_addf(b, "</td><td class=\"n\" data-v=\"%lld\">%lld</td><td class=\"t\" data-v=\"%lld\">",
                     (long long)w->turns, (long long)w->turns, (long long)w->first_ms);
        if (w->turns)
            msi_time(b, w->first_ms);
        msx_buf_addf(b, "</td><td class=\"n\" data-v=\"%lld\">", (long long)w->duration_ms);
        msi_duration(b, w->duration_ms);
        msx_buf_addf(b, "</td><td class=\"n\" data-v=\"%lld\">", (long long)w->idle_ms);
        msi_duration(b, w->idle_ms);
        int64_t tot = w->tokens_input > INT64_MAX - w->tokens_output
                          ? INT64_MAX
                          : w->tokens_input + w->tokens_output;
        if (w->has_tokens)
            msx_buf_addf(b, "</td><td class=\"n\" data-v=\"%lld\">%lld", (long long)tot,
                         (long long)tot);
        else
            msx_buf_adds(b, "</td><td class=\"n\" data-v=\"-1\">-");
        msx_buf_addf(b, "</td><td class=\"n\" data-v=\"%lld\">%lld</td>", (long long)w->errors,
                     (long long)w->errors);
        msx_buf_addf(b, "<td class=\"n\" data-v=\"%lld\" title=\"error, warn, info\">%zu / %zu / "
                        "%zu</td>",
                     (long long)sevkey, w->by_sev[2], w->by_sev[1], w->by_sev[0]);
        if (w->cause_turn) {
            msx_buf_addf(b, "<td class=\"n\" data-v=\"%lld\">", (long long)w->cause_turn);
            if (w->detailed)
                msx_buf_addf(b, "<a href=\"#s%zu-t%lld\">turn %lld</a>", i,
                             (long long)w->cause_turn, (long long)w->cause_turn);
            else
                msx_buf_addf(b, "turn %lld", (long long)w->cause_turn);
            msx_buf_adds(b, "</td>");
        } else {
            msx_buf_adds(b, "<td class=\"n\" data-v=\"0\">-</td>");
        }
        msx_buf_adds(b, "</tr>\n");
    }
    msx_buf_adds(b, "</tbody></table></section>\n");
}

static void failure_chart(struct msx_buf *b, const ms_patterns_result *pr)
{
    const int64_t x0 = 60, pw = W - 80, top = 14, ph = 120, H = 160;
    size_t n = pr->n_by_turn < 100 ? pr->n_by_turn : 100;
    msx_buf_addf(b,
                 "<svg class=\"chart failure-rate\" viewBox=\"0 0 %d %lld\" role=\"img\" "
                 "aria-label=\"first-error rate by turn index\">"
                 "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" stroke=\"#999\"/>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">100%%</text>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">0%%</text>",
                 W, (long long)H, (long long)x0, (long long)(top + ph), (long long)(x0 + pw),
                 (long long)(top + ph), (long long)(x0 - 4), (long long)(top + 4),
                 (long long)(x0 - 4), (long long)(top + ph));
    int64_t slot = pw / (int64_t)(n ? n : 1), bw;
    if (slot < 1)
        slot = 1;
    bw = slot * 7 / 10 > 1 ? slot * 7 / 10 : 1;
    int64_t every = 1;
    while (slot * every < 22)
        every++;
    for (size_t i = 0; i < n; i++) {
        const ms_pat_turn *t = &pr->by_turn[i];
        int64_t x = x0 + (int64_t)i * slot + (slot - bw) / 2;
        int64_t hh = t->reached ? msi_muldiv(t->first_error, ph, t->reached) : 0;
        int64_t pct = t->reached ? msi_muldiv(t->first_error, 100, t->reached) : 0;
        msx_buf_addf(b,
                     "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\" fill=\"#eceff1\">"
                     "<title>turn %lld reached by %lld sessions</title></rect>",
                     (long long)x, (long long)top, (long long)bw, (long long)ph,
                     (long long)t->turn, (long long)t->reached);
        if (hh > 0)
            msx_buf_addf(b,
                         "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\" "
                         "fill=\"#8e0000\"><title>turn %lld: first error in %lld of %lld "
                         "sessions (%lld%%)</title></rect>",
                         (long long)x, (long long)(top + ph - hh), (long long)bw, (long long)hh,
                         (long long)t->turn, (long long)t->first_error, (long long)t->reached,
                         (long long)pct);
        if (t->first_error && slot >= 26)
            msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">%lld/%lld</text>",
                         (long long)(x + bw / 2), (long long)(top + ph - hh - 3),
                         (long long)t->first_error, (long long)t->reached);
        if (i % (size_t)every == 0)
            msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">%lld</text>",
                         (long long)(x + bw / 2), (long long)(top + ph + 14), (long long)t->turn);
    }
    msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">turn</text></svg>\n",
                 (long long)(x0 + pw / 2), (long long)(H - 2));
}

static void growth_chart(struct ms_report *r, struct msx_buf *b)
{
    const int64_t x0 = 70, pw = W - 90, top = 10, ph = 180, H = 220;
    int64_t max = 0;
    size_t turns = 1;
    for (size_t i = 0; i < r->n_series; i++) {
        if (r->series[i].n > turns)
            turns = r->series[i].n;
        for (size_t k = 0; k < r->series[i].n; k++)
            if (r->series[i].peak[k] > max)
                max = r->series[i].peak[k];
    }
    msx_buf_addf(b,
                 "<svg class=\"chart growth\" viewBox=\"0 0 %d %lld\" role=\"img\" "
                 "aria-label=\"peak input tokens per turn, one line per session\">"
                 "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" stroke=\"#999\"/>"
                 "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" stroke=\"#999\"/>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">%lld</text>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">0</text>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">turn 1</text>"
                 "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">turn %zu</text>",
                 W, (long long)H, (long long)x0, (long long)(top + ph), (long long)(x0 + pw),
                 (long long)(top + ph), (long long)x0, (long long)top, (long long)x0,
                 (long long)(top + ph), (long long)(x0 - 4), (long long)(top + 10),
                 (long long)max, (long long)(x0 - 4), (long long)(top + ph), (long long)x0,
                 (long long)(top + ph + 16), (long long)(x0 + pw), (long long)(top + ph + 16),
                 turns);
    static const char *const colors[] = {"#3949ab", "#00897b", "#c0ca33", "#8e24aa", "#f4511e",
                                         "#546e7a", "#d81b60", "#039be5"};
    int64_t den = turns > 1 ? (int64_t)turns - 1 : 1;
    for (size_t i = 0; i < r->n_series; i++) {
        const struct msi_report_series *se = &r->series[i];
        const struct msi_report_row *w = &r->rows[se->row];
        const char *col = colors[i % (sizeof colors / sizeof colors[0])];
        msx_buf_adds(b, "<g class=\"series\"><title>");
        h(b, (ms_str){w->session_id, w->session_id_len});
        msx_buf_adds(b, "</title>");
        for (size_t k = 0; k < se->n;) {
            if (se->peak[k] < 0) {
                k++;
                continue;
            }
            size_t e = k; /* one polyline per run of turns with usage */
            msx_buf_addf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                         col);
            for (; e < se->n && se->peak[e] >= 0; e++) {
                int64_t x = x0 + (turns > 1 ? msi_muldiv((int64_t)e, pw, den) : pw / 2);
                int64_t y = top + ph - (max ? msi_muldiv(se->peak[e], ph, max) : 0);
                msx_buf_addf(b, "%s%lld,%lld", e > k ? " " : "", (long long)x, (long long)y);
            }
            msx_buf_adds(b, "\"/>");
            for (size_t q = k; q < e; q++) {
                int64_t x = x0 + (turns > 1 ? msi_muldiv((int64_t)q, pw, den) : pw / 2);
                int64_t y = top + ph - (max ? msi_muldiv(se->peak[q], ph, max) : 0);
                msx_buf_addf(b, "<circle cx=\"%lld\" cy=\"%lld\" r=\"2.5\" fill=\"%s\"/>",
                             (long long)x, (long long)y, col);
            }
            k = e;
        }
        msx_buf_adds(b, "</g>");
    }
    if (r->n_series == 0)
        msx_buf_addf(b, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">no token usage "
                        "recorded</text>",
                     (long long)(x0 + pw / 2), (long long)(top + ph / 2));
    msx_buf_adds(b, "</svg>\n");
}

void msi_html_tail(struct ms_report *r, struct msx_buf *b, const ms_patterns_result *pr)
{
    overview(r, b);
    msx_buf_addf(b, "<section class=\"card%s\" id=\"across\"><h2>Across sessions</h2>\n",
                 r->n_rows > 1 ? " first" : "");
    msx_buf_addf(b, "<p class=\"meta\">%lld session%s, %lld turn%s; %lld session%s with an "
                    "error, %lld ended right after a problem; %zu finding%s in all.</p>\n",
                 (long long)pr->sessions, pr->sessions == 1 ? "" : "s", (long long)pr->turns,
                 pr->turns == 1 ? "" : "s", (long long)pr->errored, pr->errored == 1 ? "" : "s",
                 (long long)pr->abandoned, r->n_findings, r->n_findings == 1 ? "" : "s");
    msx_buf_adds(b, "<h3>First-error rate by turn index</h3>\n<p class=\"meta\">Of the sessions "
                    "that reached turn n (grey), the share whose first error came at turn n "
                    "(red).</p>\n");
    failure_chart(b, pr);
    msx_buf_addf(b, "<h3>Context growth</h3>\n<p class=\"meta\">Peak input tokens of one call per "
                    "turn, one line per session (the first %d sessions with token usage). "
                    "Growth per turn: median %lld, p90 %lld tokens; shapes: %lld linear, %lld "
                    "accelerating, %lld flat, %lld without token usage.</p>\n",
                 MSI_REPORT_GROWTH_SESSIONS, (long long)pr->growth.median, (long long)pr->growth.p90,
                 (long long)pr->shape_linear, (long long)pr->shape_accelerating,
                 (long long)pr->shape_none, (long long)pr->shape_no_tokens);
    growth_chart(r, b);
    if (pr->n_findings) {
        msx_buf_adds(b, "<h3>Commonest findings</h3>\n<table class=\"rules\"><thead><tr><th>rule"
                        "</th><th class=\"n\">findings</th><th class=\"n\">sessions</th></tr>"
                        "</thead><tbody>");
        for (size_t i = 0; i < pr->n_findings; i++) {
            msx_buf_adds(b, "<tr><td><code>");
            h(b, pr->findings[i].key);
            msx_buf_addf(b, "</code></td><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>",
                         (long long)pr->findings[i].count, (long long)pr->findings[i].sessions);
        }
        msx_buf_adds(b, "</tbody></table>\n");
    }
    msx_buf_adds(b, "</section>\n</main>\n<script>");
    msx_buf_adds(b, script);
    msx_buf_adds(b, "</script>\n</body>\n</html>\n");
}
