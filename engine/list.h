/*
 * Intrusive doubly linked lists with a sentinel head (libuv's queue.h idea,
 * written as plain static inline functions). A node lives inside the object
 * it links; zs_container_of() gets the object back. No allocation anywhere.
 * Invariant: for every node n on a list, n->next->prev == n and
 * n->prev->next == n; an unlinked node points at itself.
 */
#ifndef ZSOCK_LIST_H
#define ZSOCK_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define zs_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#ifndef ZSOCK_LIST_T_DEFINED  /* <zsock/net_buf.h> has it too */
#define ZSOCK_LIST_T_DEFINED
struct zs_list {
	struct zs_list *next, *prev;
};
#endif

static inline void zs_list_init(struct zs_list *n)
{
	n->next = n->prev = n;
}

static inline bool zs_list_empty(const struct zs_list *head)
{
	return head->next == head;
}

/** Link n at the tail of head. n MUST NOT be on a list. */
static inline void zs_list_append(struct zs_list *head, struct zs_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

/** Unlink n (harmless on an unlinked node). */
static inline void zs_list_remove(struct zs_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	zs_list_init(n);
}

/** Unlink and return the first node, or NULL when empty. */
static inline struct zs_list *zs_list_pop(struct zs_list *head)
{
	struct zs_list *n = head->next;

	if (n == head)
		return NULL;
	zs_list_remove(n);
	return n;
}

#define zs_list_for_each(pos, head) \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#endif /* ZSOCK_LIST_H */
