/* Helpers shared by the doc room's files; not part of its public API. */
#ifndef IDP_DOC_PRIVATE_H
#define IDP_DOC_PRIVATE_H

#include "doc/doc.h"

idp_doc_node *doc_node_new(idp_arena *a, idp_doc_kind kind, idp_pos pos);

/* Writes the shortest text that reads back as exactly f. With as_float, the
 * text always reads back as a float (1.0, 1.0e+21, .inf, .nan); without it,
 * integral values print as integers (used for map keys). out holds >= 32. */
void doc_format_float(double f, bool as_float, char out[static 32]);

#endif
