/* queue_wakeup.pml - the wake-up protocol of weft_queue (ipc/src/queue.c)
 * between producers that may die at any step and consumers that sleep.
 *
 * What is modelled: the consumers' side of the protocol. Producers commit
 * messages (tail) under plock, a robust lock: a producer may die between
 * any two of its steps, and the kernel then marks plock's owner dead (it
 * is free to take). A releaser puts a reserved message back, also under
 * plock, without moving tail, and may die at any step too; while its
 * reservation is out (nleased) consumers never park. Consumers take messages while tail says there
 * are some, else sleep on put_seq as an event count: registered in
 * get_waiters, re-checking tail, and either in slices (a time limit: may
 * wake at any moment) or parked (no limit) - parked only when plock is not
 * held by a live producer, and only after waiting long enough (a free
 * choice here). A producer that takes plock wakes the parked consumers
 * first; after its commit it wakes one waiter - making the futex call only
 * when `sleeping` (bit 0 of put_seq in the code) says a consumer may sleep
 * on the current value; when the waiters it counted (read in a step of
 * their own, as in the code) are no more than it wakes, it clears the mark
 * and wakes every sleeper; a bump that wakes no one (a release's) leaves
 * the mark as it is. A
 * consumer sets it in one step and sleeps in the next, if put_seq has not
 * moved meanwhile. futex wait/wake are atomic steps, as in the kernel. (Close, which wakes everyone under both locks,
 * is left out: it would wake the sleepers this model is about.)
 *
 * Checked (spin -a; gcc -DSAFETY; ./pan): when nothing can move any more,
 * every committed message has been taken - no consumer sleeps on a message
 * with no one left to wake it - and no process is stuck elsewhere than
 * parked on an empty queue (no invalid end state).
 * Mutants spin must reject (ci/analyze spin runs them all):
 *   -DNO_UNPARK   without the pre-wake, a producer that dies between its
 *                 commit and its wake-up strands a parked consumer;
 *   -DNO_RECHECK  without the re-check of tail after registering, a commit
 *                 that saw no waiter is slept through;
 *   -DLATE_BUMP   a release that bumps put_seq only after letting go of
 *                 plock and the reservation strands a parked consumer
 *                 when it dies in between.
 * With PROMPT defined (queue_wakeup_prompt.pml), no process dies and a
 * consumer's slice never ends: every sleeper must then be woken by a
 * wake-up call, which checks that skipping the call when `sleeping` is
 * clear loses none. */

#define NP 1      /* producers, one message each */
#define NC 2      /* consumers */
#define DIED 9    /* plock's word after its holder died: free to take */

byte tail = 1;        /* committed messages (message 0: reserved) */
byte taken = 1;       /* messages consumers took or reserved */
byte nleased = 1;     /* reservations out: message 0, by the releaser */
byte plock = 0;       /* 0 free, p+1 held by producer p, DIED */
byte put_seq = 0;     /* consumers' futex word */
byte get_waiters = 0;
byte get_parked = 0;
bool sleeping = 0;    /* bit 0 of put_seq */
byte finished = 0;    /* producers done or dead */
bool asleep[NC];
bool woken[NC];

inline wake_all() {
    d_step {
        i = 0;
        do
        :: i < NC -> if :: asleep[i] -> woken[i] = 1 :: else -> skip fi; i++
        :: else -> break
        od
    }
}

inline wake_one() {
    atomic {
        if
        :: asleep[0] && !woken[0] -> woken[0] = 1
        :: asleep[1] && !woken[1] -> woken[1] = 1
        :: else -> skip
        fi
    }
}

inline take_plock(me) {
    atomic { (plock == 0 || plock == DIED) -> plock = me }
}

/* A producer that dies: the kernel marks the robust lock it holds. */
#ifdef PROMPT
inline die(me) {
    false                                /* never chosen */
}
#else
inline die(me) {
    atomic {
        if :: plock == me -> plock = DIED :: else -> skip fi;
        finished++
    }
    goto dead
}
#endif

proctype producer(byte me)
{
    byte i, w;
    bool was;
    take_plock(me);
    if :: die(me) :: skip fi;
#ifndef NO_UNPARK
    if
    :: get_parked > 0 -> atomic { sleeping = 0; put_seq++ }; wake_all()
    :: else -> skip
    fi;
    if :: die(me) :: skip fi;
#endif
    tail++;                              /* the commit */
    if :: die(me) :: skip fi;
    plock = 0;
    if :: die(me) :: skip fi;
    w = get_waiters;                     /* bump_and_wake, n = 1 */
    if
    :: w > 0 ->
       atomic {                          /* bump_seen */
           was = sleeping;
           if :: w <= 1 -> sleeping = 0 :: else -> skip fi;
           put_seq++
       }
       if
       :: was && get_waiters > 0 && w <= 1 -> wake_all()  /* it cleared the mark */
       :: was && get_waiters > 0 && w > 1 -> wake_one()
       :: else -> skip
       fi
    :: else -> skip
    fi;
    finished++;
dead:
    skip
}

/* The holder of message 0's reservation puts it back (weft_queue_release,
 * or reap() for a dead holder): under plock, the message becomes
 * available again without tail moving; it may die at any step. */
proctype releaser(byte me)
{
    byte i;
    take_plock(me);
    if :: die(me) :: skip fi;
    if
    :: get_parked > 0 -> atomic { sleeping = 0; put_seq++ }; wake_all()
    :: else -> skip
    fi;
    if :: die(me) :: skip fi;
    taken--;                             /* the commit: READY again */
    if :: die(me) :: skip fi;
#ifndef LATE_BUMP
    put_seq++;                           /* tail does not show it */
    if :: die(me) :: skip fi;
#endif
    plock = 0;
    if :: die(me) :: skip fi;
    nleased--;
    if :: die(me) :: skip fi;
#ifdef LATE_BUMP
    put_seq++;
    if :: die(me) :: skip fi;
#endif
    if
    :: get_waiters > 0 -> wake_one()
    :: else -> skip
    fi;
    finished++;
dead:
    skip
}

proctype consumer(byte c)
{
    byte seen, t;
    bool park;
    byte i;
end_loop:
    do
    :: seen = put_seq;
       /* One attempt (under clock). */
       atomic {
           t = tail;
           if
           :: taken < t -> taken++; goto again
           :: else -> skip
           fi
       }
       get_waiters++;
       park = 0;
       if
       :: get_parked++;
          park = nleased == 0 && !(plock != 0 && plock != DIED);
          if :: !park -> get_parked-- :: else -> skip fi
       :: skip                           /* not waited long enough yet */
       fi;
       if
#ifdef NO_RECHECK
       :: true ->
#else
       :: tail == t ->                  /* the Dekker re-check */
#endif
          atomic {                       /* the CAS that marks the value */
              if
#ifndef NO_SLEEPING_MARK
              :: put_seq == seen -> sleeping = 1
#endif
              :: else -> skip
              fi
          }
          atomic {                       /* futex_wait on the marked value */
              if
              :: put_seq == seen -> asleep[c] = 1
              :: else -> skip
              fi
          }
          if
          :: asleep[c] && park ->
end_parked: woken[c]                             /* parked: only a wake-up */
#ifdef PROMPT
          :: asleep[c] && !park ->
end_slice:   woken[c]                            /* slices never end here */
#else
          :: asleep[c] && !park -> skip        /* a slice: any moment */
#endif
          :: !asleep[c] -> skip
          fi;
          atomic { asleep[c] = 0; woken[c] = 0 }
       :: else -> skip
       fi;
       if :: park -> get_parked-- :: else -> skip fi;
       get_waiters--;
again: skip
    od
}

/* When nothing can move any more (every producer finished or dead, every
 * consumer parked), every committed message must have been taken: else a
 * consumer sleeps with no one left to wake it. */
active proctype watchdog()
{
end:
    timeout -> assert(taken == tail)
}

init {
    atomic {
        run producer(1);
        run releaser(2);
        run consumer(0);
        run consumer(1)
    }
}
