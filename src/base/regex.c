/* POSIX extended regular expressions, compiled once per pattern and thread.
 * Definitions and schemas test the same few patterns thousands of times a
 * second; regcomp was a fifth of a render. */
#include "base/base.h"

#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define REGEX_CACHE_SLOTS 128 /* a power of two */

typedef struct regex_slot {
	char *pattern; /* NULL: empty slot */
	int flags;
	bool bad;      /* the pattern does not compile */
	regex_t rx;
} regex_slot;

static _Thread_local regex_slot *regex_cache;

static pthread_key_t regex_key;
static pthread_once_t regex_key_once = PTHREAD_ONCE_INIT;

static void slot_clear(regex_slot *s)
{
	if (!s->pattern)
		return;
	if (!s->bad)
		regfree(&s->rx);
	free(s->pattern);
	s->pattern = NULL;
}

/* A thread that ends frees its compiled patterns. */
static void release_regex_cache(void *cache)
{
	regex_slot *slots = cache;
	for (size_t i = 0; i < REGEX_CACHE_SLOTS; i++)
		slot_clear(&slots[i]);
	free(slots);
	regex_cache = NULL;
}

static void make_regex_key(void)
{
	pthread_key_create(&regex_key, release_regex_cache);
}

static uint32_t pattern_hash(const char *s, int flags)
{
	uint32_t h = 2166136261u ^ (uint32_t)flags; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

const regex_t *idp_regex_get(const char *pattern, int flags)
{
	if (!regex_cache) {
		regex_cache = calloc(REGEX_CACHE_SLOTS, sizeof(*regex_cache));
		if (!regex_cache)
			abort();
		pthread_once(&regex_key_once, make_regex_key);
		pthread_setspecific(regex_key, regex_cache);
	}
	regex_slot *s = &regex_cache[pattern_hash(pattern, flags) & (REGEX_CACHE_SLOTS - 1)];
	if (!s->pattern || s->flags != flags || strcmp(s->pattern, pattern) != 0) {
		slot_clear(s); /* direct-mapped: a collision evicts */
		s->pattern = idp_xstrdup(pattern);
		s->flags = flags;
		s->bad = regcomp(&s->rx, pattern, flags) != 0;
	}
	return s->bad ? NULL : &s->rx;
}

bool idp_regex_match(const char *pattern, const char *s, bool *bad)
{
	const regex_t *rx = idp_regex_get(pattern, REG_EXTENDED | REG_NOSUB);
	*bad = rx == NULL;
	return rx && regexec(rx, s, 0, NULL, 0) == 0;
}
