/* Arena allocator: bump allocation from a list of chunks, freed in one call.
 * A whole load or render lives in one arena, so no node is freed alone. */
#include "base/base.h"

#include <stdalign.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_SIZE ((size_t)64 * 1024)
#define ARENA_ALIGN alignof(max_align_t)

typedef struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	alignas(max_align_t) unsigned char data[];
} arena_chunk;

struct idp_arena {
	arena_chunk *head;
	size_t used;
};

static void out_of_memory(size_t n)
{
	fprintf(stderr, "idp: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *idp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *idp_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		out_of_memory(count * size);
	return p;
}

void *idp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

char *idp_xstrndup(const char *s, size_t n)
{
	char *p = idp_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *idp_xstrdup(const char *s)
{
	return idp_xstrndup(s, strlen(s));
}

/* Standard-size chunks freed by one arena are kept for the next, so that a
 * loop of short renders does not hand pages back to the kernel and fault
 * them in again each time. Per thread, and bounded. */
#define CHUNK_CACHE_MAX 32
static _Thread_local arena_chunk *chunk_cache;
static _Thread_local size_t chunk_cache_len;

/* A thread that ends hands its cached chunks back: otherwise every thread
 * that ever freed an arena would leak up to CHUNK_CACHE_MAX chunks. */
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void release_cache(void *unused)
{
	(void)unused;
	while (chunk_cache) {
		arena_chunk *next = chunk_cache->next;
		free(chunk_cache);
		chunk_cache = next;
	}
	chunk_cache_len = 0;
}

static void make_cache_key(void)
{
	pthread_key_create(&cache_key, release_cache);
}

static void note_cache_in_use(void)
{
	pthread_once(&cache_key_once, make_cache_key);
	if (!pthread_getspecific(cache_key))
		pthread_setspecific(cache_key, &chunk_cache_len); /* any non-NULL value arms the destructor */
}

static arena_chunk *chunk_new(size_t size, arena_chunk *next)
{
	if (size == ARENA_CHUNK_SIZE && chunk_cache) {
		arena_chunk *c = chunk_cache;
		chunk_cache = c->next;
		chunk_cache_len--;
		c->next = next;
		c->used = 0;
		return c;
	}
	if (size > SIZE_MAX - sizeof(arena_chunk))
		out_of_memory(size);
	arena_chunk *c = idp_xmalloc(sizeof(arena_chunk) + size);
	c->next = next;
	c->size = size;
	c->used = 0;
	return c;
}

idp_arena *idp_arena_new(void)
{
	idp_arena *a = idp_xcalloc(1, sizeof(*a));
	return a;
}

void idp_arena_free(idp_arena *a)
{
	if (!a)
		return;
	arena_chunk *c = a->head;
	while (c) {
		arena_chunk *next = c->next;
		if (c->size == ARENA_CHUNK_SIZE && chunk_cache_len < CHUNK_CACHE_MAX) {
			if (!chunk_cache)
				note_cache_in_use();
			c->next = chunk_cache;
			chunk_cache = c;
			chunk_cache_len++;
		} else {
			free(c);
		}
		c = next;
	}
	free(a);
}

void idp_arena_reset(idp_arena *a)
{
	arena_chunk *keep = a->head;
	while (keep && keep->next) {
		arena_chunk *next = keep->next;
		keep->next = next->next;
		free(next);
	}
	if (keep)
		keep->used = 0;
	a->used = 0;
}

void *idp_arena_alloc(idp_arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN)
		out_of_memory(n);
	size_t rounded = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	arena_chunk *c = a->head;
	if (!c || c->size - c->used < rounded) {
		/* A big request gets a chunk of its own behind the current one, so
		 * the space left in the current chunk is not wasted. */
		if (rounded > ARENA_CHUNK_SIZE / 4 && c) {
			arena_chunk *big = chunk_new(rounded, c->next);
			c->next = big;
			big->used = rounded;
			a->used += rounded;
			return big->data;
		}
		c = chunk_new(rounded > ARENA_CHUNK_SIZE ? rounded : ARENA_CHUNK_SIZE, a->head);
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += rounded;
	a->used += rounded;
	return p;
}

void *idp_arena_zalloc(idp_arena *a, size_t n)
{
	void *p = idp_arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

void *idp_arena_grow(idp_arena *a, void *items, size_t len, size_t *cap, size_t elem)
{
	if (len < *cap)
		return items;
	size_t grown = *cap ? *cap * 2 : 8;
	void *p = idp_arena_alloc(a, grown * elem);
	if (len)
		memcpy(p, items, len * elem);
	*cap = grown;
	return p;
}

char *idp_arena_strndup(idp_arena *a, const char *s, size_t n)
{
	char *p = idp_arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *idp_arena_strdup(idp_arena *a, const char *s)
{
	return idp_arena_strndup(a, s, strlen(s));
}

char *idp_arena_printf(idp_arena *a, const char *fmt, ...)
{
	/* Most results are short paths: format on the stack, copy once. */
	char small[256];
	va_list ap, again;
	va_start(ap, fmt);
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(again);
		return idp_arena_strdup(a, "");
	}
	if ((size_t)n < sizeof(small)) {
		va_end(again);
		return idp_arena_strndup(a, small, (size_t)n);
	}
	char *p = idp_arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, again);
	va_end(again);
	return p;
}

size_t idp_arena_used(const idp_arena *a)
{
	return a->used;
}
