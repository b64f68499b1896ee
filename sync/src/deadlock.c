/* deadlock.c - the lock-order graph behind weft/deadlock.h.
 *
 * Design / invariants
 *   Nodes are locks, found by address through an open-addressing index;
 *   an edge A -> B records the first thread and call sites that acquired B
 *   while holding A. Each thread keeps the locks it holds in a small
 *   thread-local stack. Before a blocking acquire of B, each held lock A
 *   without an edge to B is checked: if B already reaches A, the edge would
 *   close a cycle - report it; otherwise add it. The graph, the index and
 *   the last report are guarded by one internal word lock, which is not
 *   itself tracked. Edges are never removed except when a lock is destroyed
 *   (all edges to and from it) or on reset. The edge that would close a
 *   cycle is not added, so each attempt to take the locks in that order is
 *   refused (EDEADLK) and reported again. Reports are described and printed
 *   after the graph lock is released: symbolising a call site takes the
 *   dynamic loader's lock, and printing takes stdio's.
 *
 *   Fork: the graph lock is taken across fork() (pthread_atfork), so a
 *   child never inherits it held by a thread that does not exist there. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "deadlock.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "self.h"
#include "weft/time.h"
#include "wordlock.h"

int weft__dl_mode;

#define MAX_HELD 64
#define NAME_MAX_LEN 64
#define REPORT_MAX 4096

struct held {
    const void *lock;
    const void *site;
};

static __thread struct held held[MAX_HELD];
static __thread int nheld;

struct edge {
    uint32_t to;
    int32_t tid;
    const void *from_site; /* where the thread acquired the held lock */
    const void *to_site;   /* where it acquired the next one */
};

struct node {
    const void *lock;
    const void *first_site;
    char name[NAME_MAX_LEN];
    struct edge *edges;
    uint32_t nedges, cap;
    uint32_t stamp, parent, via; /* search state: visit mark, back link */
};

static uint32_t graph_lock;
static struct node *nodes;
static uint32_t nnodes, capnodes;
static uint32_t *slots; /* node index + 1, 0 empty; capacity a power of 2 */
static uint32_t nslots;
static uint32_t search_stamp;
static char last_report[REPORT_MAX];
static size_t last_report_len;

static void graph_acquire(void)
{
    (void)weft__wl_acquire(&graph_lock, WEFT_DEADLINE_NEVER, false);
}

static void graph_release(void)
{
    (void)weft__wl_release(&graph_lock, false);
}

static uint32_t hash(const void *p, uint32_t mask)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x & mask;
}

static int grow_index(void)
{
    uint32_t n = nslots ? nslots * 2 : 256;
    uint32_t *s = (uint32_t *)calloc(n, sizeof *s);
    if (s == NULL)
        return ENOMEM;
    for (uint32_t i = 0; i < nnodes; i++) {
        uint32_t h = hash(nodes[i].lock, n - 1);
        while (s[h] != 0)
            h = (h + 1) & (n - 1);
        s[h] = i + 1;
    }
    free(slots);
    slots = s;
    nslots = n;
    return 0;
}

/* The node of `lock`, or UINT32_MAX when it has none. */
static uint32_t find(const void *lock)
{
    if (nslots == 0)
        return UINT32_MAX;
    for (uint32_t h = hash(lock, nslots - 1);; h = (h + 1) & (nslots - 1)) {
        if (slots[h] == 0)
            return UINT32_MAX;
        if (nodes[slots[h] - 1].lock == lock)
            return slots[h] - 1;
    }
}

/* The node of `lock`, created if needed; UINT32_MAX when out of memory. */
static uint32_t find_or_add(const void *lock, const void *site)
{
    uint32_t i = find(lock);
    if (i != UINT32_MAX)
        return i;
    if ((nnodes + 1) * 2 > nslots && grow_index() != 0)
        return UINT32_MAX;
    if (nnodes == capnodes) {
        uint32_t cap = capnodes ? capnodes * 2 : 64;
        struct node *n = (struct node *)realloc(nodes, cap * sizeof *n);
        if (n == NULL)
            return UINT32_MAX;
        nodes = n;
        capnodes = cap;
    }
    i = nnodes++;
    memset(&nodes[i], 0, sizeof nodes[i]);
    nodes[i].lock = lock;
    nodes[i].first_site = site;
    uint32_t h = hash(lock, nslots - 1);
    while (slots[h] != 0)
        h = (h + 1) & (nslots - 1);
    slots[h] = i + 1;
    return i;
}

static bool has_edge(uint32_t a, uint32_t b)
{
    for (uint32_t k = 0; k < nodes[a].nedges; k++)
        if (nodes[a].edges[k].to == b)
            return true;
    return false;
}

static int add_edge(uint32_t a, uint32_t b, const void *from_site,
                    const void *to_site)
{
    struct node *n = &nodes[a];
    if (n->nedges == n->cap) {
        uint32_t cap = n->cap ? n->cap * 2 : 4;
        struct edge *e = (struct edge *)realloc(n->edges, cap * sizeof *e);
        if (e == NULL)
            return ENOMEM;
        n->edges = e;
        n->cap = cap;
    }
    struct edge *e = &n->edges[n->nedges++];
    e->to = b;
    e->tid = weft__self_private();
    e->from_site = from_site;
    e->to_site = to_site;
    return 0;
}

/* Depth-first search from `from` for `target`, leaving back links (parent,
 * via) on the path. Returns whether target is reachable. */
static bool reaches(uint32_t from, uint32_t target)
{
    search_stamp++;
    if (search_stamp == 0) { /* wrapped: forget every old mark */
        for (uint32_t i = 0; i < nnodes; i++)
            nodes[i].stamp = 0;
        search_stamp = 1;
    }
    uint32_t *stack = (uint32_t *)malloc(sizeof *stack * (nnodes + 1));
    if (stack == NULL)
        return false; /* no memory: miss a report rather than fail a lock */
    uint32_t top = 0;
    stack[top++] = from;
    nodes[from].stamp = search_stamp;
    bool found = false;
    while (top > 0 && !found) {
        uint32_t u = stack[--top];
        for (uint32_t k = 0; k < nodes[u].nedges; k++) {
            uint32_t v = nodes[u].edges[k].to;
            if (nodes[v].stamp == search_stamp)
                continue;
            nodes[v].stamp = search_stamp;
            nodes[v].parent = u;
            nodes[v].via = k;
            if (v == target) {
                found = true;
                break;
            }
            stack[top++] = v;
        }
    }
    free(stack);
    return found;
}

/* A cycle as collected under the graph lock, to be described after it is
 * released: symbolising call sites (dladdr) takes the dynamic loader's lock
 * and printing takes stdio's, neither of which may nest inside ours. */
#define MAX_CYCLE 32

struct cycle_edge {
    const void *from, *to; /* locks */
    char from_name[NAME_MAX_LEN], to_name[NAME_MAX_LEN];
    const void *from_first, *to_first; /* first acquire sites */
    int32_t tid;
    const void *from_site, *to_site;
};

struct cycle {
    int32_t tid;
    struct cycle_edge e[MAX_CYCLE];
    uint32_t n;
};

static void collect_edge(struct cycle *cy, uint32_t a, const struct edge *e)
{
    if (cy->n == MAX_CYCLE)
        return;
    struct cycle_edge *c = &cy->e[cy->n++];
    c->from = nodes[a].lock;
    c->to = nodes[e->to].lock;
    memcpy(c->from_name, nodes[a].name, NAME_MAX_LEN);
    memcpy(c->to_name, nodes[e->to].name, NAME_MAX_LEN);
    c->from_first = nodes[a].first_site;
    c->to_first = nodes[e->to].first_site;
    c->tid = e->tid;
    c->from_site = e->from_site;
    c->to_site = e->to_site;
}

/* The cycle b ->* a -> b, the new edge first. Graph lock held. */
static void collect(struct cycle *cy, uint32_t a, uint32_t b,
                    const void *held_site, const void *site)
{
    cy->tid = weft__self_private();
    cy->n = 0;
    struct edge now = {b, cy->tid, held_site, site};
    collect_edge(cy, a, &now);
    uint32_t path[MAX_CYCLE];
    uint32_t n = 0;
    for (uint32_t v = a; v != b && n < MAX_CYCLE; v = nodes[v].parent)
        path[n++] = v;
    while (n > 0) {
        uint32_t v = path[--n];
        uint32_t u = nodes[v].parent;
        collect_edge(cy, u, &nodes[u].edges[nodes[v].via]);
    }
}

/* Append printf-style text to a report buffer (a macro, not a variadic
 * function: nothing here needs a va_list). */
#define SAY(buf, len, ...)                                                     \
    do {                                                                       \
        size_t room_ = REPORT_MAX - *(len); /* *len < REPORT_MAX always */    \
        int n_ = snprintf((buf) + *(len), room_, __VA_ARGS__);                 \
        if (n_ > 0)                                                            \
            *(len) += (size_t)n_ < room_ ? (size_t)n_ : room_ - 1;             \
    } while (0)

/* A call site as "function+0xoff (module+0xoff)" when the function is a
 * dynamic symbol, else "module+0xoff", which `addr2line -f -e module 0xoff`
 * turns into a file and line. */
static void say_site(char *buf, size_t *len, const void *site)
{
    Dl_info info;
    if (site == NULL || dladdr(site, &info) == 0 || info.dli_fname == NULL) {
        SAY(buf, len, "%p", site);
        return;
    }
    const char *module = strrchr(info.dli_fname, '/');
    module = module != NULL ? module + 1 : info.dli_fname;
    unsigned long off = (unsigned long)((uintptr_t)site - (uintptr_t)info.dli_fbase);
    if (info.dli_sname != NULL)
        SAY(buf, len, "%s+0x%lx (%s+0x%lx)", info.dli_sname,
            (unsigned long)((uintptr_t)site - (uintptr_t)info.dli_saddr),
            module, off);
    else
        SAY(buf, len, "%s+0x%lx", module, off);
}

static void say_lock(char *buf, size_t *len, const void *lock,
                     const char *name, const void *first)
{
    if (name[0] != '\0') {
        SAY(buf, len, "\"%s\"", name);
        return;
    }
    SAY(buf, len, "lock %p (first acquired at ", lock);
    say_site(buf, len, first);
    SAY(buf, len, ")");
}

/* Describe and print a collected cycle; keep it as the last report. */
static void report(const struct cycle *cy)
{
    static __thread char text[REPORT_MAX];
    size_t len = 0;
    SAY(text, &len, "weft: potential deadlock: thread %d acquiring ", (int)cy->tid);
    say_lock(text, &len, cy->e[0].to, cy->e[0].to_name, cy->e[0].to_first);
    SAY(text, &len, " closes a lock-order cycle:\n");
    for (uint32_t i = 0; i < cy->n; i++) {
        const struct cycle_edge *c = &cy->e[i];
        SAY(text, &len, "  ");
        say_lock(text, &len, c->from, c->from_name, c->from_first);
        SAY(text, &len, " -> ");
        say_lock(text, &len, c->to, c->to_name, c->to_first);
        SAY(text, &len, ": thread %d held it (acquired at ", (int)c->tid);
        say_site(text, &len, c->from_site);
        SAY(text, &len, ") while acquiring at ");
        say_site(text, &len, c->to_site);
        SAY(text, &len, "\n");
    }
    (void)fputs(text, stderr);
    (void)fflush(stderr);
    graph_acquire();
    memcpy(last_report, text, len + 1);
    last_report_len = len;
    graph_release();
}

int weft__dl_before_acquire(const void *lock, const void *site)
{
    if (nheld == 0)
        return 0;
    static __thread struct cycle cy;
    int result = 0;
    graph_acquire();
    uint32_t b = find_or_add(lock, site);
    for (int i = 0; i < nheld && b != UINT32_MAX && result == 0; i++) {
        if (held[i].lock == lock)
            continue;
        uint32_t a = find_or_add(held[i].lock, held[i].site);
        if (a == UINT32_MAX || has_edge(a, b))
            continue;
        if (reaches(b, a)) {
            collect(&cy, a, b, held[i].site, site);
            result = EDEADLK;
        } else {
            (void)add_edge(a, b, held[i].site, site);
        }
    }
    graph_release();
    if (result != 0) {
        report(&cy);
        if (__atomic_load_n(&weft__dl_mode, __ATOMIC_RELAXED) ==
            WEFT_DEADLOCK_ABORT)
            abort();
    }
    return result;
}

void weft__dl_acquired(const void *lock, const void *site)
{
    if (nheld < MAX_HELD) {
        held[nheld].lock = lock;
        held[nheld].site = site;
        nheld++;
    }
}

void weft__dl_released(const void *lock)
{
    for (int i = nheld - 1; i >= 0; i--)
        if (held[i].lock == lock) {
            memmove(&held[i], &held[i + 1],
                    sizeof held[0] * (size_t)(nheld - 1 - i));
            nheld--;
            return;
        }
}

void weft__dl_destroyed(const void *lock)
{
    graph_acquire();
    uint32_t x = find(lock);
    if (x != UINT32_MAX) {
        free(nodes[x].edges);
        nodes[x].edges = NULL;
        nodes[x].nedges = nodes[x].cap = 0;
        nodes[x].name[0] = '\0';
        nodes[x].first_site = NULL;
        for (uint32_t i = 0; i < nnodes; i++)
            for (uint32_t k = 0; k < nodes[i].nedges;)
                if (nodes[i].edges[k].to == x)
                    nodes[i].edges[k] = nodes[i].edges[--nodes[i].nedges];
                else
                    k++;
    }
    graph_release();
}

int weft_deadlock_set_mode(enum weft_deadlock_mode mode)
{
    if (mode != WEFT_DEADLOCK_OFF && mode != WEFT_DEADLOCK_REPORT &&
        mode != WEFT_DEADLOCK_ABORT)
        return EINVAL;
    __atomic_store_n(&weft__dl_mode, (int)mode, __ATOMIC_RELAXED);
    return 0;
}

enum weft_deadlock_mode weft_deadlock_mode(void)
{
    return (enum weft_deadlock_mode)__atomic_load_n(&weft__dl_mode,
                                                    __ATOMIC_RELAXED);
}

int weft_deadlock_name(const void *lock, const char *name)
{
    graph_acquire();
    uint32_t i = find_or_add(lock, NULL);
    if (i != UINT32_MAX) {
        (void)snprintf(nodes[i].name, sizeof nodes[i].name, "%s", name);
    }
    graph_release();
    return i == UINT32_MAX ? ENOMEM : 0;
}

size_t weft_deadlock_last_report(char *buf, size_t n)
{
    graph_acquire();
    size_t len = last_report_len;
    if (n > 0)
        (void)snprintf(buf, n, "%s", len ? last_report : "");
    graph_release();
    return len;
}

void weft_deadlock_reset(void)
{
    graph_acquire();
    for (uint32_t i = 0; i < nnodes; i++)
        free(nodes[i].edges);
    free(nodes);
    free(slots);
    nodes = NULL;
    slots = NULL;
    nnodes = capnodes = nslots = 0;
    last_report_len = 0;
    last_report[0] = '\0';
    graph_release();
}

static void fork_prepare(void)
{
    graph_acquire();
}

static void fork_done(void)
{
    graph_release();
}

__attribute__((constructor)) static void deadlock_init(void)
{
    (void)pthread_atfork(fork_prepare, fork_done, fork_done);
    const char *env = getenv("WEFT_DEADLOCK");
    if (env == NULL)
        return;
    if (strcmp(env, "report") == 0)
        weft__dl_mode = WEFT_DEADLOCK_REPORT;
    else if (strcmp(env, "abort") == 0)
        weft__dl_mode = WEFT_DEADLOCK_ABORT;
}
