/* gil_fair.pml - the handoff protocol of weft_gil's fair mode
 * (sync/src/gil.c: take_fair, join_queue, wait_granted, handoff,
 * release_fair, yield_fair).
 *
 * What is modelled: N threads; threads 0 and 1 make ROUNDS holds of the
 * GIL, thread 2 one. A hold is a take - with no deadline, or with one that
 * may pass whenever the waiter looks at the clock (weft_gil_acquire_until)
 * - then, maybe, weft_gil_yield (called directly, or by weft_gil_check when
 * drop_request is set; it returns at once if neither drop_request nor
 * waiters is set), and last a voluntary release. mu, locked, holder (kept
 * after a release), drop_request and waiters are the fields of the same
 * names; switch_number and drop_seq are kept as the comparisons made with
 * them (below); the two FIFO queues are linked lists (head, tail, next)
 * changed as enqueue and unqueue change them; word[t] is thread t's waiter
 * word (W_WAIT, W_SLEEP, W_GRANTED). A take of a free GIL takes it;
 * otherwise, in the same critical section, the thread gives up at once if
 * its deadline has passed already, or joins the priority queue (its last
 * hold ended voluntarily and - a free choice here - within an interval; a
 * priority waiter sets drop_request at once if it is clear) or the normal
 * one. A waiter looks at its word (the spin), then CASes W_WAIT to W_SLEEP
 * and sleeps on the futex while the word is W_SLEEP. When its interval ends
 * it takes mu and, with no switch and no request yet, sets drop_request;
 * when its deadline passes it leaves the queue under mu unless the word
 * says the GIL is already its, withdrawing its request if no switch
 * answered it, no newer one was made and no priority waiter remains. A
 * handoff (under mu) gives the GIL to the priority head, or to the normal
 * head (a free choice when both wait: the normal head may have waited two
 * intervals); it leaves drop_request set only after a priority grant with
 * priority waiters left, exchanges W_GRANTED into the word and makes the
 * futex wake only if it took out W_SLEEP; with no waiter it frees the GIL.
 * A yield hands off and queues the yielder (normal class) in the same
 * critical section. (The counters and the hooks do not take part in the
 * handoff: left out.)
 *
 * The futex calls and the atomic exchanges are atomic steps, as the kernel
 * and the processor make them. Time is the one abstraction: a futex wait
 * may end with no wake (its interval or deadline ended, or a signal), but
 * only while the word is not W_GRANTED. A timeout after the grant would
 * cover a wake-up the granter failed to make: in weft that is a stall until
 * the interval ends, and here it counts as a lost wake-up. Each stretch
 * under mu is one atomic step: of what it writes, only drop_request and
 * waiters (by the holder's yield test) and a granted word (by its waiter)
 * are read without mu, and no reader can tell the stretch from its steps
 * one by one. So is a look at the word with the CAS and the futex compare
 * that follow it, and a wake-up with the look after it; a wake-up before
 * the interval or the deadline ends only goes back to sleep, and is left
 * out.
 *
 * Checked (spin -a; gcc -DSAFETY; ./pan): mutual exclusion (at most one
 * thread between a successful take and its release, and it is `holder`
 * with `locked` set); locked == 0 implies both queues are empty, each time
 * mu is released; FIFO within a class (a waiter is granted only when no
 * waiter that was ahead of it in its queue is still queued); a waiter that
 * gives up at its deadline does not hold the GIL; no invalid end state
 * (every thread finishes its rounds: no waiter sleeps on a grant it was not
 * woken for, none is left queued on a free or lost GIL); and at the end the
 * GIL is free with empty queues.
 * Mutants spin must reject (ci/analyze spin runs them all):
 *   -DNO_FUTEX_WAKE   a granter that never wakes a sleeper leaves it asleep
 *                 on W_GRANTED;
 *   -DLOAD_THEN_STORE   a granter that reads the word and then stores
 *                 W_GRANTED (instead of one exchange) misses a W_SLEEP
 *                 stored in between and does not wake the sleeper;
 *   -DTIMEOUT_IGNORES_GRANT   a deadline that leaves the queue without
 *                 looking at the word under mu walks away with a GIL just
 *                 handed to it: no one holds it, and no one ever will;
 *   -DYIELD_SPLIT   a yielder that queues itself in a second critical
 *                 section, after the handoff's, can find the GIL freed in
 *                 between and queue on a free GIL;
 *   -DBARGE   a release that frees the GIL and hands it off only in a
 *                 second critical section lets a newcomer take the GIL that
 *                 is about to go to the head of the queue (two holders);
 *   -DSTALE_TAIL   an unqueue of the last waiter that leaves tail pointing
 *                 at it links the next waiter off the list: never granted;
 *   -DPUSH_FRONT   a waiter queued at the head instead of the tail is
 *                 served before those that came first (FIFO). */

#define N      3      /* threads */
#define ROUNDS 2      /* holds of threads 0 and 1; thread 2 makes one */
#define NONE   255    /* holder before the first take; end of a list */
#define PRIO   0
#define NORMAL 1
#define W_WAIT    0
#define W_GRANTED 1
#define W_SLEEP   2

byte mu = 0;          /* g->mu: 0 free, else the owner + 1 */
bool locked = 0;
byte holder = NONE;   /* the last holder, kept after a release */
bool drop_request = 0;
byte last_req = NONE; /* who made the newest request (g->drop_seq's), while
                         its maker may still withdraw it */
byte waiters = 0;     /* threads in the queues */
byte head[2] = NONE;  /* g->queue[PRIO, NORMAL][HEAD] */
byte tail[2] = NONE;  /* g->queue[PRIO, NORMAL][TAIL] */
byte next[N] = NONE;  /* w->next */
bool prio[N];         /* w->prio */
byte word[N];         /* w->word */
bool asleep[N];       /* in futex_wait on its word */
byte inq[2];          /* (check) the threads in each queue, as bits */
byte ahead[N];        /* (check) those ahead of it in its queue, as bits */
byte inside = 0;      /* threads between a successful take and the release */
byte finished = 0;

/* switch_number, kept as what the protocol reads of it: it is only ever
 * compared with a waiter's copies of it (saved, req_switch), so `moved`
 * has the threads for which it changed since their `saved`, `rmoved` since
 * their `req_switch`, and `live` the threads whose copies are live (those
 * inside a take's wait). Likewise drop_seq is only compared with the
 * number of its maker's last request (req_seq): last_req above. */
byte live = 0;
byte moved = 0;
byte rmoved = 0;
#define ME             (1 << me)
#define UNSWITCHED     ((moved & ME) == 0)   /* switch_number == saved */
#define REQ_UNSWITCHED ((rmoved & ME) == 0)  /* switch_number == req_switch */

inline save() {                 /* saved = switch_number */
    live = live | ME;
    moved = moved & ~ME
}

inline save_req() {             /* req_switch = saved */
    rmoved = (rmoved & ~ME) | (moved & ME)
}

inline forget() {               /* saved, req_switch and req_seq are dead */
    live = live & ~ME;
    moved = moved & ~ME;
    rmoved = rmoved & ~ME;
    if
    :: last_req == me -> last_req = NONE
    :: else -> skip
    fi
}

inline switched() {             /* switch_number++ */
    moved = moved | live;
    rmoved = rmoved | live
}

inline lock(l) {
    atomic { l == 0 -> l = me + 1 }
}

/* Releasing mu: the invariant "the GIL is never free while anyone waits". */
inline unlock_mu() {
    assert(mu == me + 1);
    assert(locked ||
           (head[PRIO] == NONE && head[NORMAL] == NONE && waiters == 0));
    mu = 0
}

inline set_holder(t) {
    locked = 1;
    if
    :: holder != t -> holder = t; switched()
    :: else -> skip
    fi
}

inline enqueue(t) {
    c = (prio[t] -> PRIO : NORMAL);
#ifndef PUSH_FRONT
    next[t] = NONE;
    if
    :: tail[c] != NONE -> next[tail[c]] = t
    :: else -> head[c] = t
    fi;
    tail[c] = t;
#else
    next[t] = head[c];
    head[c] = t;
    if
    :: tail[c] == NONE -> tail[c] = t
    :: else -> skip
    fi;
#endif
    waiters++;
    /* (check) every waiter of its class now queued is ahead of t */
    ahead[t] = inq[c];
    inq[c] = inq[c] | (1 << t);
    c = 0
}

inline unqueue(t) {
    c = (prio[t] -> PRIO : NORMAL);
    p = head[c];
    q = NONE;
    do
    :: p == NONE -> break
    :: p == t ->
        if
        :: q != NONE -> next[q] = next[t]
        :: else -> head[c] = next[t]
        fi;
#ifndef STALE_TAIL
        if
        :: tail[c] == t -> tail[c] = q
        :: else -> skip
        fi;
#endif
        waiters--;
        next[t] = NONE;                         /* dead from here */
        ahead[t] = 0;
        /* (check) t is no longer queued, nor ahead of anyone */
        inq[c] = inq[c] & ~(1 << t);
        p = 0;
        do
        :: p < N -> ahead[p] = ahead[p] & ~(1 << t); p++
        :: else -> break
        od;
        break
    :: else -> q = p; p = next[p]
    od;
    p = 0;
    q = 0;
    c = 0
}

/* join_queue(g, m, prio, since), mu held. */
inline join_queue(pr) {
    word[me] = W_WAIT;
    prio[me] = pr;
    enqueue(me);
    if
    :: pr && !drop_request ->
        drop_request = 1;                       /* req_seq = request_drop() */
        last_req = me;
        requested = 1
    :: else -> requested = 0
    fi
}

/* The rest of handoff: the exchange's store, and the futex wake if it took
 * out W_SLEEP (still under mu). */
inline handoff_grant() {
    if
    :: w != NONE ->
        word[w] = W_GRANTED;                    /* weft__xchg_release */
        if
        :: v == W_SLEEP ->
#ifndef NO_FUTEX_WAKE
            asleep[w] = 0                       /* weft__futex_wake */
#else
            skip
#endif
        :: else -> skip
        fi
    :: else -> skip
    fi;
    w = NONE;
    v = 0
}

/* handoff(g, now), mu held: w is the thread it gives the GIL to, or NONE.
 * Under -DLOAD_THEN_STORE it stops after reading the word, and
 * handoff_grant() stores W_GRANTED in a later step. */
inline handoff() {
    if
    :: head[PRIO] != NONE && head[NORMAL] != NONE ->
        if
        :: w = head[PRIO]
        :: w = head[NORMAL]         /* the normal head waited two intervals */
        fi
    :: head[PRIO] != NONE && head[NORMAL] == NONE -> w = head[PRIO]
    :: head[PRIO] == NONE -> w = head[NORMAL]
    fi;
    if
    :: w == NONE ->
        locked = 0;
        drop_request = 0
    :: else ->
        assert(ahead[w] == 0);                  /* FIFO within its class */
        unqueue(w);
        set_holder(w);
        drop_request = (prio[w] && head[PRIO] != NONE);
        v = word[w]
#ifndef LOAD_THEN_STORE
        ;
        handoff_grant()
#endif
    fi
}

/* A look at the word; if it is not W_GRANTED, the CAS W_WAIT -> W_SLEEP
 * and futex_wait(&w->word, W_SLEEP, ...), whose compare puts the thread to
 * sleep. (Were they apart, a grant between them would make the CAS or the
 * compare fail: the same as a grant before the look.) */
inline look_and_sleep() {
    if
    :: word[me] == W_GRANTED -> waiting = 0
    :: word[me] == W_WAIT -> word[me] = W_SLEEP; asleep[me] = 1
    :: word[me] == W_SLEEP -> asleep[me] = 1
    fi
}

/* wait_granted(g, m, since, deadline, requested, saved): got = 0 on
 * ETIMEDOUT. The caller set waiting; the first look is the spin's. */
inline wait_granted(timed) {
    atomic {
        if
        :: waiting -> look_and_sleep()
        :: else -> skip
        fi
    }
    do
    :: waiting ->
        /* woken, or timed out (only while not granted); then the look */
        atomic {
            !asleep[me] || word[me] != W_GRANTED ->
            asleep[me] = 0;
            if
            :: word[me] == W_GRANTED -> waiting = 0
            :: else -> skip
            fi
        }
        if
        :: waiting ->
            atomic {
                lock(mu);
                if                              /* what ended: */
                :: ivx = 1; dl = 0              /* the interval */
                :: timed -> ivx = 0; dl = 1     /* the deadline */
                :: timed -> ivx = 1; dl = 1     /* both */
                fi;
                if
#ifdef TIMEOUT_IGNORES_GRANT
                :: word[me] == W_GRANTED && !dl ->
#else
                :: word[me] == W_GRANTED ->
#endif
                    unlock_mu();
                    waiting = 0
                :: else ->
                    if
                    :: ivx ->
                        if
                        :: UNSWITCHED && !drop_request ->
                            drop_request = 1;   /* req_seq = request_drop() */
                            last_req = me;
                            requested = 1;
                            save_req()
                        :: else -> skip
                        fi;
                        save()
                    :: else -> skip
                    fi;
                    if
                    :: dl ->
                        unqueue(me);
                        if
                        :: head[PRIO] == NONE && requested &&
                           last_req == me && REQ_UNSWITCHED ->
                            drop_request = 0    /* withdraw_drop() */
                        :: else -> skip
                        fi;
                        assert(!(locked && holder == me));
                        got = 0;
                        waiting = 0;
                        unlock_mu()
                    :: else ->
                        unlock_mu();
                        look_and_sleep()        /* the loop's next round */
                    fi
                fi;
                ivx = 0;
                dl = 0
            }
        :: else -> skip
        fi
    :: else -> break
    od;
    atomic {                                    /* dead from here */
        forget();
        requested = 0;
        word[me] = W_WAIT;
        prio[me] = 0
    }
}

/* take_fair(g, m, deadline): got = 1 if taken, 0 on ETIMEDOUT. */
inline take_fair(timed) {
    atomic {
        lock(mu);
        got = 1;
        if
        :: !locked ->                           /* then no one waits either */
            set_holder(me);
            unlock_mu()
        :: locked && timed ->                   /* the deadline has passed: */
            got = 0;                            /* one attempt, made */
            unlock_mu()
        :: locked ->
            /* m->io_bound: the last hold ended voluntarily (every hold
             * but a first one does) within an interval (a free choice) */
            if
            :: r > 0 -> if :: pr = 1 :: pr = 0 fi
            :: else -> pr = 0
            fi;
            join_queue(pr);
            pr = 0;
            save();
            save_req();
            unlock_mu();
            waiting = 1
        fi
    }
    wait_granted(timed)
}

inline release_fair() {
#ifdef BARGE
    atomic {
        lock(mu);
        locked = 0;
        mu = 0                      /* unchecked: to show the two holders */
    }
#endif
    atomic {
        lock(mu);
        handoff();
#ifdef LOAD_THEN_STORE
    }
    atomic {
        handoff_grant();
#endif
        unlock_mu()
    }
}

/* yield_fair(g, m); the caller is inside. */
inline yield_fair() {
    atomic {
        lock(mu);
        if
        :: waiters == 0 ->
            drop_request = 0;
            unlock_mu()
        :: else ->
            inside--;
            handoff();
            waiting = 1
        fi;
#ifdef LOAD_THEN_STORE
    }
    atomic {
        handoff_grant();
#endif
#ifdef YIELD_SPLIT
        if
        :: waiting -> unlock_mu()
        :: else -> skip
        fi
    }
    atomic {
        if
        :: waiting -> lock(mu)
        :: else -> skip
        fi;
#endif
        if
        :: waiting ->
            join_queue(0);
            save();
            save_req();
            unlock_mu()
        :: else -> skip
        fi
    }
    if
    :: waiting ->
        wait_granted(0);
        enter()
    :: else -> skip
    fi
}

inline enter() {
    atomic {
        inside++;
        assert(inside == 1 && locked && holder == me)
    }
}

proctype thread(byte me; byte rounds)
{
    byte r = 0, c, p, q, v, w = NONE;
    bool got, requested, timed, waiting, ivx, dl, pr;
    do
    :: r < rounds ->
        if :: timed = 0 :: timed = 1 fi;
        take_fair(timed);
        if
        :: got ->
            enter();
            if
            :: true ->                          /* weft_gil_yield */
                if
                :: !drop_request && waiters == 0 -> skip
                :: else -> yield_fair()
                fi
            :: true -> skip
            fi;
            inside--;
            release_fair()
        :: else -> skip
        fi;
        d_step { got = 0; timed = 0; r++ }
    :: else -> break
    od;
    finished++
}

init {
    atomic {
        run thread(0, ROUNDS);
        run thread(1, ROUNDS);
#if N > 2
        run thread(2, 1)
#endif
    }
    finished == N;
    assert(!locked && waiters == 0 && inside == 0 && mu == 0);
    assert(head[PRIO] == NONE && head[NORMAL] == NONE);
    assert(inq[PRIO] == 0 && inq[NORMAL] == 0);
    assert(!asleep[0] && !asleep[1] && !asleep[2])
}
