/* SPDX-License-Identifier: MIT
 *
 * Deep copies of decoded traces into another arena, so a result set owns
 * its memory whatever backend produced it.
 */
#include <string.h>

#include "model/model.h"

static bool dup_str(struct msx_arena *a, ms_str *s)
{
    if (!s->ptr)
        return true;
    *s = msi_dup(a, *s);
    return s->ptr != NULL;
}

static void *dup_mem(struct msx_arena *a, const void *p, size_t n)
{
    if (!p || !n)
        return NULL;
    void *q = msx_arena_alloc(a, n);
    if (q)
        memcpy(q, p, n);
    return q;
}

static bool dup_kvs(struct msx_arena *a, ms_kv **kv, size_t n)
{
    if (!n)
        return true;
    ms_kv *c = dup_mem(a, *kv, n * sizeof **kv);
    if (!c)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!dup_str(a, &c[i].key) || !dup_str(a, &c[i].value))
            return false;
    *kv = c;
    return true;
}

static bool dup_attrs(struct msx_arena *a, ms_attr **at, size_t n)
{
    if (!n)
        return true;
    ms_attr *c = dup_mem(a, *at, n * sizeof **at);
    if (!c)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!dup_str(a, &c[i].key) || !dup_str(a, &c[i].value))
            return false;
    *at = c;
    return true;
}

bool msi_info_copy(struct msx_arena *a, ms_trace_info *dst, const ms_trace_info *src)
{
    *dst = *src;
    ms_str *strs[] = {&dst->trace_id, &dst->client_request_id, &dst->location_type,
                      &dst->experiment_id, &dst->location_json, &dst->request_preview,
                      &dst->response_preview};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!dup_str(a, strs[i]))
            return false;
    if (!dup_kvs(a, &dst->metadata, dst->n_metadata) || !dup_kvs(a, &dst->tags, dst->n_tags))
        return false;
    if (dst->n_assessments) {
        dst->assessments = dup_mem(a, src->assessments, src->n_assessments * sizeof *src->assessments);
        if (!dst->assessments)
            return false;
        for (size_t i = 0; i < dst->n_assessments; i++) {
            ms_assessment *x = &dst->assessments[i];
            ms_str *as[] = {&x->assessment_id, &x->name, &x->trace_id, &x->span_id,
                            &x->source_type, &x->source_id, &x->value_json, &x->serialized_json,
                            &x->error_code, &x->error_message, &x->error_stack_trace,
                            &x->rationale, &x->overrides};
            for (size_t k = 0; k < sizeof as / sizeof as[0]; k++)
                if (!dup_str(a, as[k]))
                    return false;
            if (!dup_kvs(a, &x->metadata, x->n_metadata))
                return false;
        }
    }
    return true;
}

bool msi_spans_copy(struct msx_arena *a, ms_trace *dst, const ms_trace *src)
{
    dst->n_spans = src->n_spans;
    dst->spans = NULL;
    if (!src->n_spans)
        return true;
    dst->spans = dup_mem(a, src->spans, src->n_spans * sizeof *src->spans);
    if (!dst->spans)
        return false;
    for (size_t i = 0; i < dst->n_spans; i++) {
        ms_span *s = &dst->spans[i];
        if (!dup_str(a, &s->name) || !dup_str(a, &s->span_type) ||
            !dup_str(a, &s->status_message) || !dup_str(a, &s->links_json) ||
            !dup_attrs(a, &s->attrs, s->n_attrs))
            return false;
        if (s->n_events) {
            s->events = dup_mem(a, s->events, s->n_events * sizeof *s->events);
            if (!s->events)
                return false;
            for (size_t e = 0; e < s->n_events; e++)
                if (!dup_str(a, &s->events[e].name) ||
                    !dup_attrs(a, &s->events[e].attrs, s->events[e].n_attrs))
                    return false;
        }
    }
    return true;
}
