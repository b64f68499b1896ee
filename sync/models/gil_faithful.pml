/* gil_faithful.pml - the handoff protocol of weft_gil's faithful mode
 * (sync/src/gil.c: take_faithful, drop_faithful, weft_gil_yield), the
 * design of CPython's ceval_gil.c.
 *
 * What is modelled: N threads; threads 0 and 1 make ROUNDS holds of the
 * GIL, thread 2 one. A hold is a take - with no deadline, or with one that
 * may pass at any wake-up (weft_gil_acquire_until: the waiter leaves,
 * withdrawing its drop request if no switch answered it and no newer one
 * was made) - then, maybe, weft_gil_yield (called directly, or by
 * weft_gil_check when drop_request is set; it returns at once if neither
 * drop_request nor waiters is set, else it is a forced drop and a take
 * with no deadline), and last a voluntary release. mu, switch_mu, locked,
 * holder (kept after a release), drop_request and waiters are the fields
 * of the same names; switch_number and drop_seq are kept as the
 * comparisons made with them (below). A take of a held GIL waits on cond
 * under mu one interval at a time: at each wake-up the interval may have
 * ended (then, with no switch since the wait began and no request yet, it
 * sets drop_request) and a deadline may have passed. The taker sets locked
 * and holder under mu and switch_mu, signals switch_cond and clears
 * drop_request. A release clears locked and notifies cond under mu; a
 * forced drop, or a release that then finds drop_request set (as CPython's
 * drop_gil), waits on switch_cond under switch_mu while holder is itself
 * and someone could still take the GIL (it is held, or waiters is not 0);
 * a tick ends the wait once no one could (the escape). (yielders, the
 * counters and the hooks do not take part in the handoff: left out.)
 *
 * Waits are atomic steps, as the kernel makes them: a cond wait releases
 * its lock and sleeps in one step; a notify (always made under the cond's
 * lock) wakes one sleeper, and any other may return alongside it (cond.c's
 * spurious wake-ups). Time is the one abstraction: a timed wait may end
 * with no notify, but only while what it waits for is still false - on cond
 * while the GIL is held, on switch_cond when the escape can fire. A tick
 * after the GIL was freed, or after the holder changed, would cover a
 * wake-up the protocol failed to make: in weft that is a stall of a whole
 * interval, and here it counts as a lost wake-up. (A tick on switch_cond
 * that leads back into the wait changes nothing and is left out.) Each
 * stretch under mu is one atomic step: of what it writes, only
 * drop_request, waiters and locked are read without mu (by the holder's
 * yield test, a releaser's test of drop_request and the switch wait), and
 * no reader can tell the stretch from its steps one by one.
 *
 * Checked (spin -a; gcc -DSAFETY; ./pan): mutual exclusion (at most one
 * thread between a successful take and its release, and it is `holder`
 * with `locked` set); no invalid end state (every thread finishes its
 * rounds: no take and no switch wait sleeps on a wake-up no one will
 * make); and at the end the GIL is free with no waiters.
 * Mutants spin must reject (ci/analyze spin runs them all):
 *   -DNO_SWITCH_SIGNAL   a taker that sets holder but does not signal
 *                 switch_cond leaves the switch waiter asleep;
 *   -DSWITCH_UNLOCKED   a taker that sets holder and signals without
 *                 switch_mu can do both between the dropper's test of
 *                 holder and its sleep: the signal is lost;
 *   -DNO_ESCAPE   without the escape (waiting while holder is itself,
 *                 whoever is left), a forced dropper whose only waiter gave
 *                 up at its deadline waits for a switch that never comes;
 *   -DNO_COND_NOTIFY   a release that does not notify cond leaves its
 *                 waiters asleep on a free GIL;
 *   -DWAIT_ONCE   a waiter that takes the GIL after one wake-up without
 *                 testing locked again takes it from the releaser that took
 *                 it straight back (mutual exclusion). */

#define N      3      /* threads */
#define ROUNDS 2      /* holds of threads 0 and 1; thread 2 makes one */
#define NONE   255    /* holder before the first take */
#define COND   0
#define SWITCH 1

byte mu = 0;          /* g->mu: 0 free, else the owner + 1 */
byte switch_mu = 0;   /* g->switch_mu */
bool locked = 0;
byte holder = NONE;   /* the last holder, kept after a release */
bool drop_request = 0;
byte last_req = NONE; /* who made the newest request (g->drop_seq's), while
                         its maker may still withdraw it */
byte waiters = 0;     /* threads inside take's wait loop */
typedef sleepers { bool in[N] };
sleepers cv[2];       /* asleep on g->cond (COND), g->switch_cond (SWITCH) */
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

/* drop_faithful's switch wait goes on while STAY; a tick can end it only
 * through ESCAPE (everyone who could take the GIL has given up). */
#ifdef NO_ESCAPE
#define STAY   (holder == me)
#define ESCAPE 0
#else
#define STAY   (holder == me && (locked || waiters != 0))
#define ESCAPE (holder == me && !locked && waiters == 0)
#endif

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

inline unlock(l) {
    assert(l == me + 1);
    l = 0
}

/* weft_cond_notify(c, 1), made under the cond's lock: one sleeper wakes;
 * any other may return alongside it. */
inline notify(c) {
    atomic {
        if
        :: cv[c].in[0] -> cv[c].in[0] = 0
        :: cv[c].in[1] -> cv[c].in[1] = 0
#if N > 2
        :: cv[c].in[2] -> cv[c].in[2] = 0
#endif
        :: else -> skip
        fi;
        i = 0;
        do
        :: i < N -> if :: cv[c].in[i] = 0 :: skip fi; i++
        :: else -> break
        od;
        i = 0
    }
}

/* take_faithful(g, m, deadline): got = 1 if taken, 0 on ETIMEDOUT. */
inline take_faithful(timed) {
    atomic {
        lock(mu);
        got = 1;
        if
        :: locked ->
            requested = 0;
            waiters++;
            save();
            /* weft_cond_wait_until(&g->cond, &g->mu, interval or deadline) */
            cv[COND].in[me] = 1;
            mu = 0;
            waiting = 1
        :: else -> skip
        fi
    }
    do
    :: waiting ->
        atomic {
            if
            :: !cv[COND].in[me] -> skip                         /* notified */
            :: cv[COND].in[me] && locked -> cv[COND].in[me] = 0 /* timed out */
            fi
        }
        atomic {
            lock(mu);
#ifdef WAIT_ONCE
            waiting = 0;                        /* takes it, no re-test */
#endif
            if
            :: !waiting -> waiters--
            :: waiting && !locked -> waiters--; waiting = 0
            :: waiting && locked ->
                if                              /* the interval ended */
                :: UNSWITCHED && !drop_request ->
                    drop_request = 1;           /* req_seq = request_drop() */
                    last_req = me;
                    requested = 1;
                    save_req()
                :: true -> skip
                fi;
                if
                :: timed ->                     /* the deadline passed */
                    waiters--;
                    if
                    :: requested && last_req == me && REQ_UNSWITCHED ->
                        drop_request = 0        /* withdraw_drop() */
                    :: else -> skip
                    fi;
                    got = 0;
                    waiting = 0
                :: true ->                      /* waits again */
                    save();
                    cv[COND].in[me] = 1;
                    mu = 0
                fi
            fi
        }
    :: else -> break
    od;
    atomic {
        if
        :: got ->
#ifndef SWITCH_UNLOCKED
            lock(switch_mu);
#endif
            locked = 1;                         /* set_holder */
            if
            :: holder != me -> holder = me; switched()
            :: else -> skip
            fi;
#ifndef NO_SWITCH_SIGNAL
            notify(SWITCH);
#endif
#ifndef SWITCH_UNLOCKED
            unlock(switch_mu);
#endif
            drop_request = 0;
            unlock(mu)
        :: else -> unlock(mu)
        fi;
        forget();                               /* dead */
        requested = 0
    }
}

/* drop_faithful(g, m, forced) */
inline drop_faithful(forced) {
    atomic {
        lock(mu);
        locked = 0;
#ifndef NO_COND_NOTIFY
        notify(COND);
#endif
        unlock(mu)
    }
    if
    :: forced || drop_request ->                /* read without mu */
        lock(switch_mu);
        if
        :: holder == me ->
            drop_request = 0;
            do
            :: STAY ->
                /* weft_cond_wait_until(&g->switch_cond, &g->switch_mu, ...) */
                atomic { cv[SWITCH].in[me] = 1; switch_mu = 0 }
                atomic {
                    if
                    :: !cv[SWITCH].in[me] -> skip       /* signalled */
                    :: cv[SWITCH].in[me] && ESCAPE ->   /* the tick */
                        cv[SWITCH].in[me] = 0
                    fi
                }
                lock(switch_mu)
            :: else -> break
            od
        :: else -> skip
        fi;
        unlock(switch_mu)
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
    byte r = 0, i;
    bool got, requested, timed, waiting;
    do
    :: r < rounds ->
        if :: timed = 0 :: timed = 1 fi;
        take_faithful(timed);
        if
        :: got ->
            enter();
            if
            :: true ->                          /* weft_gil_yield */
                if
                :: !drop_request && waiters == 0 -> skip
                :: else ->
                    inside--;
                    drop_faithful(1);
                    take_faithful(0);
                    enter()
                fi
            :: true -> skip
            fi;
            inside--;
            drop_faithful(0)
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
    assert(!locked && waiters == 0 && inside == 0 && mu == 0 && switch_mu == 0)
}
