/* SPDX-License-Identifier: MIT
 *
 * yaml_lite - reads the YAML that MLflow's file store writes (PyYAML's
 * safe_dump with default_flow_style=False: meta.yaml, trace_info.yaml,
 * assessments/<id>.yaml) and turns it into compact JSON text, so the JSON
 * decoders of model/ do the rest. Not a general YAML parser: block mappings
 * and sequences, plain / single-quoted / double-quoted scalars (multi-line,
 * folded as YAML 1.1 does), literal and folded block scalars, the empty flow
 * collections {} and [], comments. Anchors, aliases, tags, complex keys,
 * non-empty flow collections and multiple documents are refused with
 * MS_E_UNSUPPORTED naming the file and line. Plain scalars are typed as
 * PyYAML's SafeLoader types them (null, bool, int, float, else string).
 * Depends on json/ (the writer) and util/ only.
 */
#ifndef MSI_YAML_LITE_H
#define MSI_YAML_LITE_H

#include <stddef.h>

#include "mlsession/mlsession.h"
#include "util/buf.h"

/* Nesting deeper than this is refused (MS_E_TOOBIG). */
#define MSI_YAML_MAX_DEPTH 32
/* Bigger documents are refused (MS_E_TOOBIG). */
#define MSI_YAML_MAX_BYTES ((size_t)16 << 20)

/* Converts the YAML document text[0..len) into compact JSON appended to out.
 * An empty document gives "null". name (the file) starts every error
 * message, followed by the 1-based line: "<name>:<line>: <what>"; err->offset
 * is the byte offset of the problem. */
ms_code msi_yaml_to_json(const char *text, size_t len, const char *name, struct msx_buf *out,
                         struct ms_error *err);

#endif
