/* SPDX-License-Identifier: MIT
 *
 * transcript.h - schema discovery: the messages, tool calls and documents
 * of one turn, from its spans (root inputs/outputs, descending through
 * wrapper spans to the first child with real I/O), GenAI / OpenInference
 * attributes, or the previews as a last resort. Internal; the public face
 * is ms_turn in session.h.
 */
#ifndef MSI_TRANSCRIPT_H
#define MSI_TRANSCRIPT_H

#include "mlsession/session.h"
#include "util/arena.h"

typedef struct msi_transcriber msi_transcriber;

msi_transcriber *msi_transcriber_new(void);
void msi_transcriber_free(msi_transcriber *tx); /* NULL ok */

/* Fills the transcript fields of turn (input, n_input, first_new,
 * carries_history, output, tools, docs, io_span_id, io_source, shape) from
 * turn->trace, which must be the turn after the one given last (history
 * detection compares with it). Strings and arrays go to arena a; the
 * transcriber keeps its own copy of what it needs from the previous turn,
 * so a may be reset between turns. Never fails on odd content: what cannot
 * be read is left out. MS_E_NOMEM only. */
ms_code msi_transcribe_turn(msi_transcriber *tx, ms_turn *turn, struct msx_arena *a,
                            struct ms_error *err);

#endif
