/* What the render room's files share. */
#ifndef IDP_RENDER_PRIVATE_H
#define IDP_RENDER_PRIVATE_H

#include "cue/cue.h"
#include "render/render.h"

typedef struct render_def {
	const char *name;
	bool trait;
	const char *file;   /* where the definition was read from */
	const char *src;    /* the CUE source */
	size_t len;
	const char *prefix; /* "" for a YAML template, "template." for a .cue definition */
	uint32_t line_off, col_off; /* where src starts in file (YAML block scalar) */
	idp_cue_program *compiled;  /* parsed once; each render instantiates it */
	idp_cue_program *probe;     /* an unfilled instance, evaluated once, to check properties against */
} render_def;

struct idp_render_registry {
	idp_arena *a;
	render_def *defs;
	size_t n, cap;
	idp_errs skipped; /* files in a directory that did not load */
};

const render_def *render_registry_find(const idp_render_registry *reg, const char *name, bool trait);
/* Moves an error inside a YAML template to its line and column in the file. */
void render_map_error(const render_def *def, idp_err *err);

#endif
