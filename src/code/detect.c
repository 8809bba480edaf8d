/* SPDX-License-Identifier: MIT
 *
 * detect.c - the detectors: one table of PCRE2 patterns per concern and
 * language, compiled once per index with JIT, run over each file's text.
 * A detector may name literal needles: when none occurs in the file
 * (memmem, much faster than any regex), the pattern is not run. Some
 * detectors keep a hit only when its line (or the text left of the match)
 * names a history ("messages", "history", ...), so that `x[-3:]` in
 * unrelated code is not taken for history trimming. The only file of
 * src/code that sees pcre2.h.
 */
#define _GNU_SOURCE /* memmem */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <stdint.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_int.h"

/* Under valgrind the JIT's machine code reads bytes memcheck cannot track
 * (PCRE2's own documentation says so): there the interpreter runs the same
 * patterns, and memcheck stays meaningful. valgrind.h is header-only. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define MS_ON_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef MS_ON_VALGRIND
#define MS_ON_VALGRIND() 0
#endif

enum {
    PY = 1 << MS_LANG_PYTHON,
    JS = 1 << MS_LANG_JS,
    JAVA = 1 << MS_LANG_JAVA,
    GO = 1 << MS_LANG_GO,
    ALL = PY | JS | JAVA | GO,
};

enum post {
    POST_NONE = 0,
    POST_LINE_HISTORY, /* the line names a history */
    POST_LHS_HISTORY,  /* the text left of the match, on its line, names one */
    POST_NOT_KEYWORD,  /* the name is not a keyword (if, for, ...) */
};

struct det {
    const char *id;
    unsigned langs;
    ms_code_kind kind;
    const char *what;
    const char *needles; /* '|'-separated literals, one must occur; NULL = none */
    const char *re;
    int name_group; /* capture holding the name, 0 none */
    int line_group; /* capture whose start gives the line, 0 = the match's */
    enum post post;
};

#define Q "[\"']"
#define STRLIT "(f?[\"'][^\"'\\n]{1,200}[\"'])"
#define CALLARGS "(?:[^()]|\\((?:[^()]|\\([^()]*\\))*\\))*?"
#define DECOS "[ \\t]*\\r?\\n(?:[ \\t]*@[^\\n]*\\n)*[ \\t]*(?:async[ \\t]+)?def[ \\t]+(\\w+)"

static const struct det dets[] = {
    /* ---- session ids ---- */
    {"session.update_current_trace", PY, MS_CODE_SESSION_ID,
     "session_id= in mlflow.update_current_trace", "update_current_trace",
     "update_current_trace\\s*\\(" CALLARGS "\\bsession_id\\s*=", 0, 0, POST_NONE},
    {"session.update_current_trace_md", PY, MS_CODE_SESSION_ID,
     "trace metadata or tags set with mlflow.update_current_trace", "update_current_trace",
     "update_current_trace\\s*\\(\\s*(?:metadata|tags)\\s*=", 0, 0, POST_NONE},
    {"session.update_current_trace_js", JS, MS_CODE_SESSION_ID,
     "trace metadata or tags set with updateCurrentTrace", "updateCurrentTrace",
     "updateCurrentTrace\\s*\\(", 0, 0, POST_NONE},
    {"session.metadata_key", ALL, MS_CODE_SESSION_ID, "the mlflow.trace.session key",
     "mlflow.trace.session", "[\"'`]mlflow\\.trace\\.session[\"'`]", 0, 0, POST_NONE},
    {"session.tracing_context", PY, MS_CODE_SESSION_ID, "mlflow.tracing.context",
     "tracing.context", "mlflow\\.tracing\\.context\\b", 0, 0, POST_NONE},
    {"session.otel_session_id", ALL, MS_CODE_SESSION_ID, "the OTel session.id attribute",
     "session.id", "[\"']session\\.id[\"']", 0, 0, POST_NONE},
    {"session.otel_conversation_id", ALL, MS_CODE_SESSION_ID,
     "the OTel gen_ai.conversation.id attribute", "conversation.id",
     "[\"']gen_ai\\.conversation\\.id[\"']", 0, 0, POST_NONE},
    {"session.openinference", ALL, MS_CODE_SESSION_ID, "the OpenInference SESSION_ID attribute",
     "SESSION_ID", "SpanAttributes\\.SESSION_ID\\b", 0, 0, POST_NONE},
    {"session.thread_id", PY | JS, MS_CODE_SESSION_ID, "LangGraph thread_id config",
     "thread_id", "[\"']?thread_id[\"']?\\s*[:=]", 0, 0, POST_NONE},

    /* ---- context window ---- */
    {"context.negative_slice", PY, MS_CODE_CONTEXT, "keeps only the newest items (x[-N:])",
     "[", "\\[\\s*-\\s*[\\w.]+\\s*:\\s*\\]", 0, 0, POST_LINE_HISTORY},
    {"context.slice_js", JS, MS_CODE_CONTEXT, "keeps only the newest items (.slice(-N))",
     ".slice(", "\\.slice\\(\\s*-\\s*[\\w.]+\\s*\\)", 0, 0, POST_LINE_HISTORY},
    {"context.slice_go", GO, MS_CODE_CONTEXT, "keeps only the newest items (x[len(x)-N:])",
     "len(", "\\[\\s*len\\(\\s*[\\w.]+\\s*\\)\\s*-\\s*[\\w.]+\\s*:\\s*\\]", 0, 0,
     POST_LINE_HISTORY},
    {"context.sublist", JAVA, MS_CODE_CONTEXT, "keeps only part of a list (subList)", "subList",
     "\\.subList\\s*\\(", 0, 0, POST_LINE_HISTORY},
    {"context.pop_oldest", PY, MS_CODE_CONTEXT, "drops the oldest item (pop(0))", ".pop(",
     "\\.pop\\(\\s*0\\s*\\)", 0, 0, POST_NONE},
    {"context.trim_messages", PY | JS, MS_CODE_CONTEXT, "trims messages (trim_messages)",
     "trim_messages|trimMessages", "\\b(?:trim_messages|trimMessages)\\b", 0, 0, POST_NONE},
    {"context.window_memory", ALL, MS_CODE_CONTEXT, "a windowed or summarising memory",
     "Memory", "\\b(?:ConversationBufferWindowMemory|ConversationTokenBufferMemory|"
               "ConversationSummaryBufferMemory|ConversationSummaryMemory|BufferWindowMemory|"
               "MessageWindowChatMemory|TokenWindowChatMemory)\\b", 0, 0, POST_NONE},
    {"context.summarize", ALL, MS_CODE_CONTEXT, "summarises the history", "ummari",
     "[Ss]ummari[sz]\\w*\\s*\\(", 0, 0, POST_LINE_HISTORY},
    {"context.token_count", ALL, MS_CODE_CONTEXT, "counts tokens", "oken|encoding_for_model",
     "\\b(?:count_?[tT]okens|num_tokens\\w*|get_num_tokens\\w*|tiktoken|token_count\\w*|"
     "estimateTokenCount\\w*|encoding_for_model|[tT]okeni[sz]er)\\b", 0, 0, POST_NONE},
    {"context.max_tokens", ALL, MS_CODE_CONTEXT, "a max_tokens setting", "okens",
     "\\b(?:max_tokens|max_completion_tokens|max_output_tokens|max_new_tokens|maxTokens|"
     "maxCompletionTokens|maxOutputTokens|MaxTokens)\\b\\s*[=:(]", 0, 0, POST_NONE},
    {"context.window_setting", ALL, MS_CODE_CONTEXT, "a context-window setting",
     "indow|INDOW|ontext|ONTEXT",
     "(?:[Ww]indows?|WINDOWS?|[Cc]ontext_?[Ll]ength|CONTEXT_LENGTH|[Mm]ax_?[Cc]ontext|"
     "MAX_CONTEXT)\\w*\\s*(?::[^=\\n]{0,80})?=(?!=)", 0, 0, POST_NONE},

    /* ---- memory and state ---- */
    {"memory.history_reset", PY | JS | GO | JAVA, MS_CODE_MEMORY, "empties a history", "=",
     "=\\s*(?:\\[\\s*\\]|list\\(\\s*\\)|nil|new\\s+ArrayList<[^>\\n]*>\\(\\s*\\))[ \\t]*;?[ \\t]*"
     "(?:$|#|//)", 0, 0, POST_LHS_HISTORY},
    {"memory.history_clear", ALL, MS_CODE_MEMORY, "clears a history", ".clear(",
     "\\.clear\\(\\s*\\)", 0, 0, POST_LHS_HISTORY},
    {"memory.cache", ALL, MS_CODE_MEMORY, "a cache or session store",
     "cache|Cache|edis|Map|ession|ESSION",
     "\\b(?:lru_cache|TTLCache|LRUCache|cachetools|redis\\.Redis|StrictRedis|createClient|"
     "new\\s+Map\\s*\\(|sync\\.Map|Caffeine|[Ss]ession_?[Ss]tore|SESSION_STORE|"
     "[Ss]essions?_?[Cc]ache|SESSION_CACHE)\\b", 0, 0, POST_NONE},
    {"memory.conversation_buffer", ALL, MS_CODE_MEMORY, "a conversation buffer or checkpointer",
     "emory|istory|aver|heckpointer",
     "\\b(?:ConversationBufferMemory|\\w*ChatMessageHistory|RunnableWithMessageHistory|"
     "MemorySaver|InMemorySaver|SqliteSaver|PostgresSaver|checkpointer|\\w*ChatMemoryStore|"
     "BufferMemory)\\b", 0, 0, POST_NONE},
    {"memory.vector_write", ALL, MS_CODE_MEMORY, "a vector-store write",
     "add_documents|add_texts|addDocuments|add_embeddings|upsert",
     "\\.(?:a?add_documents|add_texts|addDocuments|add_embeddings|upsert\\w*)\\s*\\(", 0, 0,
     POST_NONE},

    /* ---- spans ---- */
    {"span.mlflow_trace_name", PY, MS_CODE_SPAN, "span name in @mlflow.trace", "@mlflow.trace",
     "@mlflow\\.trace\\s*\\(" CALLARGS "\\bname\\s*=\\s*" STRLIT, 1, 0, POST_NONE},
    {"span.mlflow_trace_func", PY, MS_CODE_SPAN,
     "@mlflow.trace on a function (the span takes its name)", "@mlflow.trace",
     "@mlflow\\.trace\\b(?!\\s*\\(" CALLARGS "\\bname\\s*=)(?:\\s*\\(" CALLARGS "\\))?" DECOS,
     1, 1, POST_NONE},
    {"span.start_span", PY, MS_CODE_SPAN, "span name in start_span", "start_span",
     "\\bstart_span\\s*\\(\\s*(?:name\\s*=\\s*)?" STRLIT, 1, 0, POST_NONE},
    {"span.otel_py", PY, MS_CODE_SPAN, "span name in start_as_current_span",
     "start_as_current_span", "\\bstart_as_current_span\\s*\\(\\s*(?:name\\s*=\\s*)?" STRLIT, 1,
     0, POST_NONE},
    {"span.otel_js", JS, MS_CODE_SPAN, "span name in startActiveSpan/startSpan", "tart",
     "\\b(?:startActiveSpan|startSpan)\\s*\\(\\s*([\"'`][^\"'`\\n]{1,200}[\"'`])", 1, 0,
     POST_NONE},
    {"span.mlflow_js", JS, MS_CODE_SPAN, "span name in mlflow trace()/withSpan()", "name",
     "\\b(?:trace|withSpan)\\s*\\([^;]{0,400}?\\bname\\s*:\\s*([\"'`][^\"'`\\n]{1,200}[\"'`])", 1,
     0, POST_NONE},
    {"span.otel_java", JAVA, MS_CODE_SPAN, "span name in spanBuilder/@WithSpan",
     "spanBuilder|WithSpan",
     "(?:\\bspanBuilder\\s*\\(|@WithSpan\\s*\\(\\s*(?:value\\s*=\\s*)?)\\s*(\"[^\"\\n]{1,200}\")", 1,
     0, POST_NONE},
    {"span.otel_go", GO, MS_CODE_SPAN, "span name in tracer.Start", ".Start(",
     "\\.Start\\s*\\(\\s*\\w+\\s*,\\s*(\"[^\"\\n]{1,200}\"|`[^`\\n]{1,200}`)", 1, 0, POST_NONE},

    /* ---- tools ---- */
    {"tool.decorator", PY, MS_CODE_TOOL, "a @tool function", "tool",
     "@(?:\\w+\\.)?(?:tool|function_tool)\\b(?:\\s*\\(" CALLARGS "\\))?" DECOS, 1, 1, POST_NONE},
    {"tool.registry", PY | JS, MS_CODE_TOOL, "a tool registry entry (\"name\": function)", NULL,
     "[\"'](\\w+)[\"']\\s*:\\s*(?:self\\.|this\\.)?\\1\\b(?!\\s*[\\(\"'])", 1, 0, POST_NONE},
    {"tool.schema", PY | JS, MS_CODE_TOOL, "a tool schema offered to the model", "function",
     "[\"']function[\"']\\s*:\\s*\\{\\s*[\"']name[\"']\\s*:\\s*[\"'](\\w+)[\"']", 1, 1,
     POST_NONE},
    {"tool.langchain_js", JS, MS_CODE_TOOL, "a LangChain JS tool", "ool",
     "\\b(?:new\\s+(?:Dynamic|DynamicStructured)?Tool\\s*\\(\\s*\\{|tool\\s*\\()[^;]{0,2000}?"
     "\\bname\\s*:\\s*[\"'`](\\w+)[\"'`]", 1, 1, POST_NONE},
    {"tool.java", JAVA, MS_CODE_TOOL, "a @Tool method", "@Tool",
     "@Tool\\b[^\\n]*\\n(?:\\s*@[^\\n]*\\n)*\\s*(?:(?:public|private|protected|static|final)\\s+)*"
     "[\\w<>\\[\\],.? ]+?\\s+(\\w+)\\s*\\(", 1, 1, POST_NONE},
    {"tool.go", GO, MS_CODE_TOOL, "a tool definition (Name field)", "Name:",
     "\\bName:\\s*\"(\\w+)\"", 1, 0, POST_NONE},

    /* ---- function definitions (frames are checked against them) ---- */
    {"function.python", PY, MS_CODE_FUNCTION, "a function", "def",
     "^[ \\t]*(?:async[ \\t]+)?def[ \\t]+(\\w+)", 1, 1, POST_NONE},
    {"function.js", JS, MS_CODE_FUNCTION, "a function", NULL,
     "(?:\\bfunction\\s*\\*?\\s*(\\w+)\\s*\\(|\\b(?:const|let|var)\\s+(\\w+)\\s*=\\s*(?:async\\s*)?"
     "(?:function\\b|\\([^)\\n]*\\)\\s*=>|\\w+\\s*=>)|^[ \\t]*(?:async\\s+)?(?:static\\s+)?"
     "(\\w+)\\s*\\([^)\\n]*\\)\\s*\\{)", -1, -1, POST_NOT_KEYWORD},
    {"function.java", JAVA, MS_CODE_FUNCTION, "a method", NULL,
     "^[ \\t]*(?:(?:public|private|protected|static|final|synchronized|abstract|default)\\s+)*"
     "[\\w<>\\[\\],.?]+(?:\\s*<[^>\\n]*>)?\\s+(\\w+)\\s*\\([^;{}\\n]*\\)\\s*(?:throws[^{\\n]*)?\\{",
     1, 1, POST_NOT_KEYWORD},
    {"function.go", GO, MS_CODE_FUNCTION, "a function", "func",
     "^func\\s+(?:\\([^)\\n]*\\)\\s*)?(\\w+)", 1, 1, POST_NONE},
};

#define N_DETS (sizeof dets / sizeof dets[0])
#define MAX_HITS_PER_FILE 4096

/* Stack frames as the runtimes print them. */
static const char *const frame_res[] = {
    /* Python: File "path", line N, in func, then the source line (4 spaces) */
    "File \"([^\"\\n]+)\", line (\\d+), in ([^\\n]+)(?:\\n    ([^\\n]*))?",
    /* Java: at pkg.Class.method(File.java:N) */
    "^[ \\t]*at ([\\w$.<>/]+)\\(([^():\\n]+\\.\\w+):(\\d+)\\)",
    /* Node: at func (path:N:C) or at path:N:C */
    "^[ \\t]*at (?:(?:async )?([^\\s(]+) \\()?(?:file://)?([^()\\s]+?):(\\d+):\\d+\\)?[ \\t]*$",
    /* Go: func(args)\\n\\tpath.go:N */
    "^([^\\s(][^\\n(]*)\\([^\\n]*\\)\\n\\t([^\\n]+?\\.go):(\\d+)",
};
#define N_FRAME_RES (sizeof frame_res / sizeof frame_res[0])

#define MAX_NEEDLES 64

/* All needles of the table, found in one pass over a file: a table on the
 * first two bytes of every needle of two bytes or more points at the
 * needles starting with them (a chain), so each byte costs one lookup
 * instead of one memmem pass per detector. One-byte needles ("=", "[")
 * count as always present. */
struct needles {
    const char *text[MAX_NEEDLES];
    size_t len[MAX_NEEDLES];
    size_t n;
    uint8_t first[65536]; /* 1 + the first needle with that prefix, 0 none */
    uint8_t next[MAX_NEEDLES]; /* 1 + the next needle with the same prefix */
    uint64_t det_mask[N_DETS]; /* the needles of each detector */
    bool det_any[N_DETS];      /* no needle, or a one-byte one: always run */
};

struct compiled {
    struct needles nd;
    pcre2_code *re[N_DETS];
    pcre2_match_data *md[N_DETS];
    pcre2_code *fre[N_FRAME_RES];
    pcre2_match_data *fmd[N_FRAME_RES];
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
};

ms_code_lang msi_code_lang_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (!dot || (slash && dot < slash))
        return MS_LANG_NONE;
    dot++;
    static const struct {
        const char *ext;
        ms_code_lang lang;
    } exts[] = {{"py", MS_LANG_PYTHON}, {"pyi", MS_LANG_PYTHON}, {"js", MS_LANG_JS},
                {"mjs", MS_LANG_JS},    {"cjs", MS_LANG_JS},     {"jsx", MS_LANG_JS},
                {"ts", MS_LANG_JS},     {"tsx", MS_LANG_JS},     {"mts", MS_LANG_JS},
                {"cts", MS_LANG_JS},    {"java", MS_LANG_JAVA},  {"go", MS_LANG_GO}};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcmp(dot, exts[i].ext) == 0)
            return exts[i].lang;
    return MS_LANG_NONE;
}

static void needles_init(struct needles *nd)
{
    for (size_t d = 0; d < N_DETS; d++) {
        const char *p = dets[d].needles;
        if (!p) {
            nd->det_any[d] = true;
            continue;
        }
        for (;;) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            if (n < 2) { /* "=", "[": in nearly every file */
                nd->det_any[d] = true;
            } else {
                size_t k = 0;
                while (k < nd->n && !(nd->len[k] == n && memcmp(nd->text[k], p, n) == 0))
                    k++;
                if (k == nd->n && nd->n < MAX_NEEDLES) {
                    nd->text[k] = p;
                    nd->len[k] = n;
                    nd->n++;
                    unsigned pre = (unsigned char)p[0] | (unsigned)(unsigned char)p[1] << 8;
                    nd->next[k] = nd->first[pre];
                    nd->first[pre] = (uint8_t)(k + 1);
                }
                if (k < nd->n)
                    nd->det_mask[d] |= (uint64_t)1 << k;
                else
                    nd->det_any[d] = true; /* table full: run it */
            }
            if (!bar)
                break;
            p = bar + 1;
        }
    }
}

/* Short compares inline: a libc call per candidate costs more than it. */
static inline bool same(const unsigned char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != (unsigned char)b[i])
            return false;
    return true;
}

/* The needles present in buf, as a bit set. */
static uint64_t needles_find(const struct needles *nd, const char *buf, size_t len)
{
    uint64_t found = 0, all = nd->n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << nd->n) - 1;
    const unsigned char *b = (const unsigned char *)buf;
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned k = nd->first[b[i] | (unsigned)b[i + 1] << 8];
        while (k) {
            size_t j = k - 1;
            if (!(found & ((uint64_t)1 << j)) && i + nd->len[j] <= len &&
                same(b + i + 2, nd->text[j] + 2, nd->len[j] - 2)) {
                found |= (uint64_t)1 << j;
                if (found == all)
                    return found;
            }
            k = nd->next[j];
        }
    }
    return found;
}

void *msi_detectors_new(void)
{
    struct compiled *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    needles_init(&c->nd);
    for (size_t i = 0; i < N_DETS; i++) {
        int ec;
        PCRE2_SIZE eo;
        c->re[i] = pcre2_compile((PCRE2_SPTR)dets[i].re, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE,
                                 &ec, &eo, NULL);
        if (!c->re[i]) { /* a bad pattern is a bug; the unit tests compile them all */
            msi_detectors_free(c);
            return NULL;
        }
        if (!MS_ON_VALGRIND()) /* without JIT, pcre2_match() interprets */
            (void)pcre2_jit_compile(c->re[i], PCRE2_JIT_COMPLETE);
        c->md[i] = pcre2_match_data_create_from_pattern(c->re[i], NULL);
        if (!c->md[i]) {
            msi_detectors_free(c);
            return NULL;
        }
    }
    for (size_t i = 0; i < N_FRAME_RES; i++) {
        int ec;
        PCRE2_SIZE eo;
        c->fre[i] = pcre2_compile((PCRE2_SPTR)frame_res[i], PCRE2_ZERO_TERMINATED,
                                  PCRE2_MULTILINE, &ec, &eo, NULL);
        if (!c->fre[i]) {
            msi_detectors_free(c);
            return NULL;
        }
        if (!MS_ON_VALGRIND())
            (void)pcre2_jit_compile(c->fre[i], PCRE2_JIT_COMPLETE);
        c->fmd[i] = pcre2_match_data_create_from_pattern(c->fre[i], NULL);
        if (!c->fmd[i]) {
            msi_detectors_free(c);
            return NULL;
        }
    }
    c->mctx = pcre2_match_context_create(NULL);
    c->stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    if (!c->mctx || !c->stack) {
        msi_detectors_free(c);
        return NULL;
    }
    pcre2_jit_stack_assign(c->mctx, NULL, c->stack);
    pcre2_set_match_limit(c->mctx, 1000000);
    pcre2_set_depth_limit(c->mctx, 10000);
    return c;
}

void msi_detectors_free(void *d)
{
    struct compiled *c = d;
    if (!c)
        return;
    for (size_t i = 0; i < N_DETS; i++) {
        pcre2_match_data_free(c->md[i]);
        pcre2_code_free(c->re[i]);
    }
    for (size_t i = 0; i < N_FRAME_RES; i++) {
        pcre2_match_data_free(c->fmd[i]);
        pcre2_code_free(c->fre[i]);
    }
    pcre2_match_context_free(c->mctx);
    pcre2_jit_stack_free(c->stack);
    free(c);
}

static bool names_history(const char *s, size_t n)
{
    static const char *const words[] = {"messages", "history", "msgs", "memory", "conversation",
                                        "chat", "turns", "dialog", "transcript"};
    char low[256];
    if (n > sizeof low)
        n = sizeof low;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (memmem(low, n, words[i], strlen(words[i])))
            return true;
    return false;
}

static bool is_keyword(const char *s, size_t n)
{
    static const char *const kw[] = {"if",    "for",    "while", "switch", "catch", "return",
                                     "else",  "do",     "try",   "new",    "throw", "function",
                                     "super", "synchronized", "with", "typeof", "await"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strlen(kw[i]) == n && memcmp(kw[i], s, n) == 0)
            return true;
    return false;
}

/* Newline offsets of one file, built on its first hit; lines are then
 * found by binary search (one memchr pass per file, not per detector). */
struct lines {
    size_t *nl;
    size_t n, cap;
    bool built;
};

static bool lines_build(struct lines *L, const char *buf, size_t len)
{
    L->built = true;
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (!q)
            break;
        if (L->n == L->cap) {
            size_t nc = L->cap ? L->cap * 2 : 1024;
            size_t *nn = realloc(L->nl, nc * sizeof *nn);
            if (!nn)
                return false;
            L->nl = nn;
            L->cap = nc;
        }
        L->nl[L->n++] = (size_t)(q - buf);
        p = q + 1;
    }
    return true;
}

/* 1 + the newlines before off. */
static int64_t line_of(const struct lines *L, size_t off)
{
    size_t lo = 0, hi = L->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->nl[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int64_t)lo + 1;
}

/* Cuts n bytes at a UTF-8 boundary. */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static ms_code detect(ms_code_index *idx, const char *path, ms_code_lang lang, const char *buf,
                      size_t len, bool only_functions);

ms_code msi_detect(ms_code_index *idx, const char *path, ms_code_lang lang, const char *buf,
                   size_t len)
{
    return detect(idx, path, lang, buf, len, false);
}

ms_code msi_detect_functions(ms_code_index *idx, const char *path, ms_code_lang lang,
                             const char *buf, size_t len)
{
    return detect(idx, path, lang, buf, len, true);
}

static ms_code detect(ms_code_index *idx, const char *path, ms_code_lang lang, const char *buf,
                      size_t len, bool only_functions)
{
    struct compiled *c = idx->detectors;
    size_t path_len = strlen(path);
    size_t hits = 0;
    struct lines L = {0};
    ms_code rc = MS_OK;
    uint64_t present = needles_find(&c->nd, buf, len);
    for (size_t d = 0; d < N_DETS && hits < MAX_HITS_PER_FILE; d++) {
        const struct det *dt = &dets[d];
        bool fn = dt->kind == MS_CODE_FUNCTION;
        if (only_functions ? !fn : (fn && !idx->with_functions))
            continue;
        if (!(dt->langs & (1u << lang)) || (!c->nd.det_any[d] && !(present & c->nd.det_mask[d])))
            continue;
        size_t start = 0;
        int64_t last_line = 0;
        while (start <= len && hits < MAX_HITS_PER_FILE) {
            int mrc = pcre2_match(c->re[d], (PCRE2_SPTR)buf, len, start, 0, c->md[d], c->mctx);
            if (mrc < 0)
                break; /* no match, or a limit: the rest of this file is skipped */
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md[d]);
            size_t ms = ov[0], me = ov[1];
            start = me > ms ? me : ms + 1;
            /* the name: the given group, or (-1) the first group that matched */
            size_t ns = PCRE2_UNSET, ne = 0;
            int g = dt->name_group;
            if (g < 0) {
                for (int k = 1; k < mrc; k++)
                    if (ov[2 * k] != PCRE2_UNSET) {
                        g = k;
                        break;
                    }
            }
            if (g > 0 && g < mrc && ov[2 * g] != PCRE2_UNSET) {
                ns = ov[2 * g];
                ne = ov[2 * g + 1];
            }
            size_t at = ms;
            if (dt->line_group != 0 && ns != PCRE2_UNSET)
                at = ns;
            /* its line */
            if (!L.built && !lines_build(&L, buf, len)) {
                rc = MS_E_NOMEM;
                goto out;
            }
            int64_t line = line_of(&L, at);
            size_t ls = line > 1 ? L.nl[line - 2] + 1 : 0;
            size_t le = (size_t)line <= L.n ? L.nl[line - 1] : len;
            if (dt->post == POST_LINE_HISTORY && !names_history(buf + ls, le - ls))
                continue;
            if (dt->post == POST_LHS_HISTORY && (ms < ls || !names_history(buf + ls, ms - ls)))
                continue;
            if (dt->post == POST_NOT_KEYWORD && ns != PCRE2_UNSET && is_keyword(buf + ns, ne - ns))
                continue;
            size_t ts = ls, te = le;
            while (ts < te && (buf[ts] == ' ' || buf[ts] == '\t'))
                ts++;
            while (te > ts && (buf[te - 1] == ' ' || buf[te - 1] == '\t' || buf[te - 1] == '\r'))
                te--;
            if (line == last_line)
                continue; /* one site per detector and line */
            last_line = line;
            ms_code_site s = {0};
            s.kind = dt->kind;
            s.detector = dt->id;
            s.what = dt->what;
            s.lang = lang;
            s.file = (ms_str){path, path_len};
            s.line = line;
            size_t tn = cut_utf8(buf + ts, te - ts, 200);
            char *t = msx_arena_strndup(&idx->arena, buf + ts, tn);
            if (!t) {
                rc = MS_E_NOMEM;
                goto out;
            }
            s.text = (ms_str){t, tn};
            if (ns != PCRE2_UNSET) {
                /* a string literal loses its quotes (and an f prefix) */
                if (ne - ns >= 2 && buf[ns] == 'f' && strchr("\"'", buf[ns + 1]))
                    ns++;
                if (ne - ns >= 2 && strchr("\"'`", buf[ns]) && buf[ne - 1] == buf[ns])
                    ns++, ne--;
                char *nm = msx_arena_strndup(&idx->arena, buf + ns, ne - ns);
                if (!nm) {
                    rc = MS_E_NOMEM;
                    goto out;
                }
                s.name = (ms_str){nm, ne - ns};
            }
            if (msi_code_add_site(idx, &s) != MS_OK) {
                rc = MS_E_NOMEM;
                goto out;
            }
            hits++;
        }
    }
out:
    free(L.nl);
    return rc;
}

bool msi_code_is_generated(const char *buf, size_t len, ms_code_lang lang)
{
    size_t head = len < 2048 ? len : 2048;
    if ((memmem(buf, head, "Code generated", 14) && memmem(buf, head, "DO NOT EDIT", 11)) ||
        memmem(buf, head, "@generated", 10) || memmem(buf, head, "<auto-generated", 15) ||
        memmem(buf, head, "Generated by the protocol buffer compiler", 41) ||
        memmem(buf, head, "This file is automatically generated", 36))
        return true;
    if (lang == MS_LANG_JS && len > 4096) {
        /* minified: very long lines on average */
        size_t probe = len < 65536 ? len : 65536, lines = 1;
        for (const char *p = buf; (p = memchr(p, '\n', probe - (size_t)(p - buf))) != NULL; p++)
            lines++;
        if (probe / lines > 300)
            return true;
    }
    return false;
}

static void copy_cap(char *dst, size_t cap, const char *src, size_t n)
{
    n = cut_utf8(src, n, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t msi_parse_frames(void *detectors, const char *text, size_t len, struct msi_frame *out,
                        size_t max)
{
    struct compiled *c = detectors;
    size_t n = 0;
    for (size_t r = 0; r < N_FRAME_RES && n == 0; r++) {
        size_t start = 0;
        while (start < len && n < max) {
            int rc = pcre2_match(c->fre[r], (PCRE2_SPTR)text, len, start, 0, c->fmd[r], c->mctx);
            if (rc < 0)
                break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->fmd[r]);
            start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
#define CAP(k) (k < rc && ov[2 * (k)] != PCRE2_UNSET)
#define CS(k) (text + ov[2 * (k)])
#define CN(k) ((size_t)(ov[2 * (k) + 1] - ov[2 * (k)]))
            struct msi_frame *f = &out[n];
            memset(f, 0, sizeof *f);
            int fg = 0, pg = 0, lg = 0, sg = 0;
            if (r == 0)
                pg = 1, lg = 2, fg = 3, sg = 4;
            else if (r == 1)
                fg = 1, pg = 2, lg = 3;
            else if (r == 2)
                fg = 1, pg = 2, lg = 3;
            else
                fg = 1, pg = 2, lg = 3;
            if (!CAP(pg) || !CAP(lg))
                continue;
            int64_t line = 0;
            for (size_t i = 0; i < CN(lg) && line < 100000000; i++)
                line = line * 10 + (CS(lg)[i] - '0');
            f->line = line;
            if (CAP(fg)) {
                const char *fs = CS(fg);
                size_t fn = CN(fg);
                while (fn > 0 && (fs[fn - 1] == ' ' || fs[fn - 1] == '\r'))
                    fn--;
                copy_cap(f->func, sizeof f->func, fs, fn);
            }
            if (r == 1) {
                /* Java records the file name only: its package is the path */
                const char *q = CS(fg);
                size_t qn = CN(fg), dots = 0, cut = 0;
                for (size_t i = qn; i-- > 0;)
                    if (q[i] == '.' && ++dots == 2) {
                        cut = i;
                        break;
                    }
                char path[sizeof f->file];
                size_t pn = 0;
                for (size_t i = 0; i < cut && pn + 1 < sizeof path; i++)
                    path[pn++] = q[i] == '.' ? '/' : q[i];
                if (pn && pn + 1 < sizeof path)
                    path[pn++] = '/';
                size_t bn = CN(pg) < sizeof path - pn - 1 ? CN(pg) : sizeof path - pn - 1;
                memcpy(path + pn, CS(pg), bn);
                pn += bn;
                copy_cap(f->file, sizeof f->file, path, pn);
                const char *last = memrchr(q, '.', qn);
                if (last)
                    copy_cap(f->func, sizeof f->func, last + 1, qn - (size_t)(last + 1 - q));
            } else {
                copy_cap(f->file, sizeof f->file, CS(pg), CN(pg));
            }
            if (r == 3) { /* Go: main.(*Agent).Run -> Run */
                const char *last = strrchr(f->func, '.');
                if (last)
                    memmove(f->func, last + 1, strlen(last + 1) + 1);
            }
            if (sg && CAP(sg)) {
                const char *ss = CS(sg);
                size_t sn = CN(sg);
                while (sn && (*ss == ' ' || *ss == '\t'))
                    ss++, sn--;
                while (sn && (ss[sn - 1] == ' ' || ss[sn - 1] == '\r'))
                    sn--;
                copy_cap(f->source, sizeof f->source, ss, sn);
            }
#undef CAP
#undef CS
#undef CN
            n++;
        }
    }
    return n;
}
