/* gil_faithful.pml - the handoff protocol of weft_gil's faithful mode
 * (sync/src/gil.c: take_faithful, drop_faithful, weft_gil_yield), the design
 * of CPython's ceval_gil.c.
 *
 * What is modelled: N threads, each making ROUNDS holds of the GIL. A hold
 * is a take - with no deadline, or with one that may pass at any wake-up
 * (weft_gil_acquire_until: it leaves, withdrawing a drop request no switch
 * answered) - then, if drop_request is set when the holder reaches a check,
 * weft_gil_yield (a forced drop, then a take with no deadline), and finally
 * a voluntary release. mu, switch_mu, locked, holder (kept after a
 * release), switch_number, drop_request and waiters are the fields of the
 * same names. A take waits on cond under mu one interval at a time: at each
 * wake-up the interval may have ended (then, with no switch and no request
 * yet, it sets drop_request) and a deadline may have passed. A forced drop
 * releases, wakes one waiter, then waits on switch_cond under switch_mu
 * while holder is itself, leaving at an interval tick if no one waits and
 * the GIL is free (the escape).
 *
 * Waits are atomic steps, as the kernel makes them: a cond wait releases
 * its lock and sleeps in one step; a notify (always made under the cond's
 * lock) wakes one sleeper, and others may return alongside it (cond.c's
 * spurious wake-ups). Time is the one abstraction: a timed wait may end
 * with no notify, but only while what it waits for is still false - on cond
 * while the GIL is held, on switch_cond when the tick lets the escape fire.
 * A tick after the GIL was freed, or after the holder changed, would cover a
 * wake-up the protocol failed to make: in weft that is a stall of a whole
 * interval on a free GIL, and here it is counted as a lost wake-up. (A tick
 * that changes nothing is a no-op and is left out.)
 *
 * Checked (spin -a; gcc -DSAFETY; ./pan): mutual exclusion (at most one
 * thread between a successful take and its release, and it is `holder`
 * with `locked` set); no invalid end state (every thread finishes its
 * rounds: no take or forced drop sleeps on a wake-up no one will make); and
 * at the end the GIL is free with no waiters.
 * Mutants spin must reject (ci/analyze spin runs them all):
 *   -DNO_SWITCH_SIGNAL   a taker that sets holder but does not signal
 *                 switch_cond leaves the forced dropper asleep;
 *   -DSWITCH_UNLOCKED   a taker that sets holder and signals without
 *                 switch_mu can do both between the dropper's test of
 *                 holder and its sleep: the signal is lost;
 *   -DNO_ESCAPE   without the escape, a forced dropper whose only waiter
 *                 gave up at its deadline waits for a switch that never
 *                 comes;
 *   -DNO_COND_NOTIFY   a release that does not notify cond leaves its
 *                 waiters asleep on a free GIL;
 *   -DWAIT_ONCE   a waiter that takes the GIL after one wake-up without
 *                 re-testing locked takes it from a thread that barged in
 *                 (mutual exclusion). */

#define N      3      /* threads */
#define ROUNDS 2      /* holds per thread */
#define NONE   255    /* holder before the first take */
#define COND   0
#define SWITCH 1

byte mu = 0;          /* g->mu: 0 free, else the owner + 1 */
byte switch_mu = 0;   /* g->switch_mu */
bool locked = 0;
byte holder = NONE;   /* the last holder, kept after a release */
byte switch_number = 0;
bool drop_request = 0;
byte waiters = 0;     /* threads inside take's wait loop */
typedef sleepers { bool in[N] };
sleepers cv[2];       /* asleep on g->cond (COND), g->switch_cond (SWITCH) */
byte inside = 0;      /* threads between a successful take and the release */
byte finished = 0;

#ifdef NO_ESCAPE
#define ESCAPE 0
#else
#define ESCAPE (holder == me && !locked && waiters == 0)
#endif

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
    lock(mu);
    got = 1;
    if
    :: locked ->
        requested = 0;
        waiters++;
        do
        :: !locked -> break
        :: else ->
            saved = switch_number;
            /* weft_cond_wait_until(&g->cond, &g->mu, interval end or deadline) */
            atomic { cv[COND].in[me] = 1; mu = 0 }
            atomic {
                if
                :: !cv[COND].in[me] -> skip                   /* notified */
                :: cv[COND].in[me] && locked -> cv[COND].in[me] = 0 /* timed out */
                fi
            }
            lock(mu);
#ifdef WAIT_ONCE
            break;
#endif
            if
            :: !locked -> skip
            :: else ->
                if                                      /* the interval ended */
                :: switch_number == saved && !drop_request ->
                    drop_request = 1;
                    requested = 1;
                    req_switch = saved
                :: true -> skip
                fi;
                if
                :: timed ->                             /* the deadline passed */
                    waiters--;
                    if
                    :: requested && switch_number == req_switch -> drop_request = 0
                    :: else -> skip
                    fi;
                    got = 0;
                    break
                :: true -> skip
                fi
            fi
        od;
        if :: got -> waiters-- :: else -> skip fi;
        d_step { saved = 0; requested = 0; req_switch = 0 }   /* dead */
    :: else -> skip
    fi;
    if
    :: got ->
#ifndef SWITCH_UNLOCKED
        lock(switch_mu);
#endif
        locked = 1;                                     /* set_holder */
        if
        :: holder != me -> holder = me; switch_number++
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
    fi
}

/* drop_faithful(g, m, forced) */
inline drop_faithful(forced) {
    lock(mu);
    locked = 0;
#ifndef NO_COND_NOTIFY
    notify(COND);
#endif
    unlock(mu);
    if
    :: forced ->
        lock(switch_mu);
        if
        :: holder == me ->
            drop_request = 0;
            do
            :: holder != me -> break
            :: else ->
                /* weft_cond_wait_until(&g->switch_cond, &g->switch_mu, tick) */
                atomic { cv[SWITCH].in[me] = 1; switch_mu = 0 }
                atomic {
                    if
                    :: !cv[SWITCH].in[me] -> skip               /* signalled */
                    :: cv[SWITCH].in[me] && ESCAPE -> cv[SWITCH].in[me] = 0 /* the tick */
                    fi
                }
                lock(switch_mu);
                if
                :: ESCAPE -> break     /* everyone who could take it gave up */
                :: else -> skip
                fi
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

proctype thread(byte me)
{
    byte r = 0, i, saved, req_switch;
    bool got, requested, timed;
    do
    :: r < ROUNDS ->
        if :: timed = 0 :: timed = 1 fi;
        take_faithful(timed);
        if
        :: got ->
            enter();
            if
            :: drop_request ->                  /* weft_gil_check sees it */
                if                              /* weft_gil_yield */
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
        run thread(0);
        run thread(1);
#if N > 2
        run thread(2)
#endif
    }
    finished == N;
    assert(!locked && waiters == 0 && inside == 0 && mu == 0 && switch_mu == 0)
}
