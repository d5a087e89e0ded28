/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libminiasync/future.h -- futures: small state machines that a caller
 * drives forward by polling, and chains that run several of them in order.
 *
 * The layout of every struct here is part of the ABI: programs written for
 * miniasync 0.2.x read fields such as fut.data.operation.data.memcpy.flags
 * and build chains whose entries must line up with struct future_chain_entry.
 */
#ifndef MINIASYNC_FUTURE_H
#define MINIASYNC_FUTURE_H 1

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
#define __FUTURE_WAIT() _mm_pause()
#else
#include <sched.h>
#define __FUTURE_WAIT() sched_yield()
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum future_state {
	FUTURE_STATE_IDLE,
	FUTURE_STATE_COMPLETE,
	FUTURE_STATE_RUNNING,
};

/* Sizes of the data and output blocks that follow this header in memory. */
struct future_context {
	size_t data_size;
	size_t output_size;
	enum future_state state;
	uint32_t padding;
};

typedef void (*future_waker_wake_fn)(void *data);

struct future_waker {
	void *data;
	future_waker_wake_fn wake;
};

struct future_poller {
	uint64_t *ptr_to_monitor;
};

enum future_notifier_type {
	FUTURE_NOTIFIER_NONE,
	FUTURE_NOTIFIER_WAKER,
	FUTURE_NOTIFIER_POLLER,
};

/*
 * Passed to every poll. The caller fills the waker; the future reports in
 * notifier_used which way it will signal progress (NONE: poll again).
 */
struct future_notifier {
	struct future_waker waker;
	struct future_poller poller;
	enum future_notifier_type notifier_used;
	uint32_t padding;
};

enum future_property {
	FUTURE_PROPERTY_ASYNC,
};

static inline void *
future_context_get_data(struct future_context *context)
{
	return (char *)context + sizeof(*context);
}

static inline void *
future_context_get_output(struct future_context *context)
{
	return (char *)future_context_get_data(context) + context->data_size;
}

static inline size_t
future_context_get_size(struct future_context *context)
{
	return context->data_size + context->output_size;
}

#define FUTURE_WAKER_WAKE(_wakerp) ((_wakerp)->wake((_wakerp)->data))

typedef enum future_state (*future_task_fn)(struct future_context *context,
	struct future_notifier *notifier);
typedef int (*future_has_property_fn)(void *future,
	enum future_property property);

struct future {
	future_task_fn task;
	future_has_property_fn has_property;
	struct future_context context;
};

#define FUTURE(_name, _data_type, _output_type) \
	struct _name { \
		struct future base; \
		_data_type data; \
		_output_type output; \
	}

static inline int
future_has_property_default(void *future, enum future_property property)
{
	(void)future;
	(void)property;
	return 0;
}

#define FUTURE_INIT_EXT(_futurep, _taskfn, _propertyfn) \
do { \
	(_futurep)->base.task = (_taskfn); \
	(_futurep)->base.has_property = (_propertyfn); \
	(_futurep)->base.context.state = FUTURE_STATE_IDLE; \
	(_futurep)->base.context.data_size = sizeof((_futurep)->data); \
	(_futurep)->base.context.output_size = sizeof((_futurep)->output); \
	(_futurep)->base.context.padding = 0; \
} while (0)

/*
 * libminiasync's own copies of future_has_property_default and of
 * future_chain_has_property (below): its runtime knows them and works the
 * answer out without the call. The references are weak, so a program that
 * uses these macros without linking the library still builds and gets the
 * inline functions.
 */
#if defined(__GNUC__) || defined(__clang__)
extern int miniasync_has_property_none(void *future,
	enum future_property property) __attribute__((weak));
extern int miniasync_chain_has_property(void *future,
	enum future_property property) __attribute__((weak));
#define _FUTURE_HAS_PROPERTY_NONE_FN \
	(miniasync_has_property_none != NULL ? \
		miniasync_has_property_none : future_has_property_default)
#define _FUTURE_CHAIN_HAS_PROPERTY_FN \
	(miniasync_chain_has_property != NULL ? \
		miniasync_chain_has_property : future_chain_has_property)
#else
#define _FUTURE_HAS_PROPERTY_NONE_FN future_has_property_default
#define _FUTURE_CHAIN_HAS_PROPERTY_FN future_chain_has_property
#endif

#define FUTURE_INIT(_futurep, _taskfn) \
	FUTURE_INIT_EXT((_futurep), (_taskfn), _FUTURE_HAS_PROPERTY_NONE_FN)

/* For results known at creation time (including failures). */
#define FUTURE_INIT_COMPLETE(_futurep) \
do { \
	(_futurep)->base.task = NULL; \
	(_futurep)->base.has_property = NULL; \
	(_futurep)->base.context.state = FUTURE_STATE_COMPLETE; \
	(_futurep)->base.context.data_size = sizeof((_futurep)->data); \
	(_futurep)->base.context.output_size = sizeof((_futurep)->output); \
	(_futurep)->base.context.padding = 0; \
} while (0)

#define FUTURE_AS_RUNNABLE(_futurep) (&(_futurep)->base)
#define FUTURE_OUTPUT(_futurep) (&(_futurep)->output)
#define FUTURE_DATA(_futurep) (&(_futurep)->data)
#define FUTURE_STATE(_futurep) ((_futurep)->base.context.state)

/* Polling a complete future does nothing and returns COMPLETE. */
static inline enum future_state
future_poll(struct future *fut, struct future_notifier *notifier)
{
	if (fut->context.state != FUTURE_STATE_COMPLETE)
		fut->context.state = fut->task(&fut->context, notifier);
	return fut->context.state;
}

/* A future without a property function (FUTURE_INIT_COMPLETE) has none. */
static inline int
future_has_property(void *future, enum future_property property)
{
	struct future *fut = (struct future *)future;
	if (fut->has_property == NULL)
		return 0;
	return fut->has_property(fut, property);
}

#define FUTURE_BUSY_POLL(_futurep) \
	while (future_poll(FUTURE_AS_RUNNABLE(_futurep), NULL) != \
			FUTURE_STATE_COMPLETE) { \
		__FUTURE_WAIT(); \
	}

/* ---- chains ---- */

typedef void (*future_map_fn)(struct future_context *lhs,
	struct future_context *rhs, void *arg);
typedef void (*future_init_fn)(void *future,
	struct future_context *chain_fut, void *arg);

/* The generic view of one chain entry; its future's data and output follow. */
struct future_chain_entry {
	future_map_fn map;
	void *map_arg;
	future_init_fn init;
	void *init_arg;
	uint64_t flags;
	struct future future;
};

#define FUTURE_CHAIN_FLAG_ENTRY_LAST (((uint64_t)1) << 0)
#define FUTURE_CHAIN_FLAG_ENTRY_PROCESSED (((uint64_t)1) << 1)
#define FUTURE_CHAIN_VALID_FLAGS \
	(FUTURE_CHAIN_FLAG_ENTRY_LAST | FUTURE_CHAIN_FLAG_ENTRY_PROCESSED)

enum future_chain_entry_type {
	FUTURE_CHAIN_ENTRY_REGULAR = 1,
	FUTURE_CHAIN_ENTRY_LAST = 2,
};

/*
 * The typed entries below keep `flags` as a pointer whose pointee size tells
 * the INIT macros whether the entry is the last one; at run time the same
 * eight bytes hold the uint64_t flags of struct future_chain_entry.
 */
typedef uint8_t _future_entry_type_regular[FUTURE_CHAIN_ENTRY_REGULAR];
typedef uint8_t _future_entry_type_last[FUTURE_CHAIN_ENTRY_LAST];

#define FUTURE_CHAIN_ENTRY(_future_type, _name) \
	struct { \
		future_map_fn map; \
		void *map_arg; \
		future_init_fn init; \
		void *init_arg; \
		_future_entry_type_regular *flags; \
		_future_type fut; \
	} _name

#define FUTURE_CHAIN_ENTRY_LAST(_future_type, _name) \
	struct { \
		future_map_fn map; \
		void *map_arg; \
		future_init_fn init; \
		void *init_arg; \
		_future_entry_type_last *flags; \
		_future_type fut; \
	} _name

#define _FUTURE_CHAIN_ENTRY_INITIAL_FLAGS(_entry) \
	((void *)(uintptr_t)(sizeof(*(_entry)->flags) == \
		FUTURE_CHAIN_ENTRY_LAST ? FUTURE_CHAIN_FLAG_ENTRY_LAST : 0))

#define FUTURE_CHAIN_ENTRY_INIT(_entry, _fut, _map, _map_arg) \
do { \
	(_entry)->fut = (_fut); \
	(_entry)->map = (_map); \
	(_entry)->map_arg = (_map_arg); \
	(_entry)->init = NULL; \
	(_entry)->init_arg = NULL; \
	(_entry)->flags = _FUTURE_CHAIN_ENTRY_INITIAL_FLAGS(_entry); \
} while (0)

/* The entry's future is built by _init when the chain reaches it. */
#define FUTURE_CHAIN_ENTRY_LAZY_INIT(_entry, _init, _init_arg, _map, _map_arg) \
do { \
	(_entry)->map = (_map); \
	(_entry)->map_arg = (_map_arg); \
	(_entry)->init = (_init); \
	(_entry)->init_arg = (_init_arg); \
	(_entry)->flags = _FUTURE_CHAIN_ENTRY_INITIAL_FLAGS(_entry); \
} while (0)

#define FUTURE_CHAIN_ENTRY_HAS_FLAG(_entry, _flag) \
	((((uint64_t)(uintptr_t)(_entry)->flags) & (_flag)) == (_flag))
#define FUTURE_CHAIN_ENTRY_IS_LAST(_entry) \
	FUTURE_CHAIN_ENTRY_HAS_FLAG(_entry, FUTURE_CHAIN_FLAG_ENTRY_LAST)
#define FUTURE_CHAIN_ENTRY_IS_PROCESSED(_entry) \
	FUTURE_CHAIN_ENTRY_HAS_FLAG(_entry, FUTURE_CHAIN_FLAG_ENTRY_PROCESSED)
#define FUTURE_CHAIN_ENTRY_IS_INITIALIZED(_entry) ((_entry)->init == NULL)

/* Bytes one entry occupies inside the chain's data, rounded to 8. */
static inline size_t
_future_chain_entry_stride(struct future_chain_entry *e)
{
	size_t sz = sizeof(*e) + future_context_get_size(&e->future.context);
	return (sz + 7) & ~(size_t)7;
}

static inline void
_future_chain_entry_prepare(struct future_chain_entry *e,
	struct future_context *chain)
{
	if (e->init != NULL) {
		future_init_fn init = e->init;
		e->init = NULL;
		init(&e->future, chain, e->init_arg);
	}
}

/*
 * Walks a chain one entry at a time, as upstream's header does: builds
 * `entry`'s future first if it is lazy (the entry's size depends on it),
 * adds the entry's size to *used_data, and returns the entry that follows
 * it in the chain's data `data` (future_context_get_data(ctx)), or NULL
 * when `entry` is the last one. Start with entry == data, *used_data == 0.
 */
static inline struct future_chain_entry *
get_next_future_chain_entry(struct future_context *ctx,
	struct future_chain_entry *entry, uint8_t *data, size_t *used_data)
{
	_future_chain_entry_prepare(entry, ctx);
	*used_data += _future_chain_entry_stride(entry);
	if (FUTURE_CHAIN_ENTRY_IS_LAST(entry) || *used_data >= ctx->data_size)
		return NULL;
	return (struct future_chain_entry *)(data + *used_data);
}

/*
 * Runs the entries in memory order. A finished entry hands its result on
 * through its map function and the next entry is polled in the same call,
 * so a chain of synchronous steps completes in one poll.
 */
static inline enum future_state
async_chain_impl(struct future_context *ctx, struct future_notifier *notifier)
{
	uint8_t *data = (uint8_t *)future_context_get_data(ctx);
	struct future_chain_entry *e = (struct future_chain_entry *)data;
	size_t used = 0;

	while (e != NULL) {
		struct future_chain_entry *next =
			get_next_future_chain_entry(ctx, e, data, &used);
		if (!FUTURE_CHAIN_ENTRY_IS_PROCESSED(e)) {
			if (future_poll(&e->future, notifier) !=
					FUTURE_STATE_COMPLETE)
				return FUTURE_STATE_RUNNING;
			if (next != NULL)
				_future_chain_entry_prepare(next, ctx);
			if (e->map != NULL)
				e->map(&e->future.context,
					next ? &next->future.context : ctx,
					e->map_arg);
			e->flags |= FUTURE_CHAIN_FLAG_ENTRY_PROCESSED;
		}
		e = next;
	}
	return FUTURE_STATE_COMPLETE;
}

/*
 * The property of a chain is that of its first unfinished entry (-1: none).
 * A lazy entry is built on the way, as upstream does, so that its property
 * is known before its first poll; built before its flags are looked at, so
 * that one whose init marks it done is passed over, as the chain's poll
 * does.
 */
static inline int
future_chain_has_property(void *future, enum future_property property)
{
	struct future *fut = (struct future *)future;
	struct future_context *ctx = &fut->context;
	uint8_t *data = (uint8_t *)future_context_get_data(ctx);
	struct future_chain_entry *e = (struct future_chain_entry *)data;
	size_t used = 0;

	/* runtimes ask before every pass: no step past the entry asked */
	while (e != NULL) {
		_future_chain_entry_prepare(e, ctx);
		if (!FUTURE_CHAIN_ENTRY_IS_PROCESSED(e))
			return future_has_property(&e->future, property) ? 1 : 0;
		e = get_next_future_chain_entry(ctx, e, data, &used);
	}
	return -1;
}

#define FUTURE_CHAIN_INIT(_futurep) \
	FUTURE_INIT_EXT((_futurep), async_chain_impl, \
		_FUTURE_CHAIN_HAS_PROPERTY_FN)

#ifdef __cplusplus
}
#endif
#endif /* MINIASYNC_FUTURE_H */
