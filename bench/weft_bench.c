/* weft-bench - weft against its peers, one JSON line per measurement.
 *
 * usage: weft-bench [--runs N] [--scale X] [--no-python] [SCENARIO...]
 * With no scenario, runs them all. See bench.h for the output format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"


static const struct {
    const char *name;
    void (*run)(void);
} scenarios[] = {
    {"lock", bench_lock},
    {"rlock", bench_rlock},
    {"cond", bench_cond},
    {"sem", bench_sem},
    {"event", bench_event},
    {"barrier", bench_barrier},
    {"lock_shared", bench_lock_shared},
    {"thread", bench_thread},
    {"proc", bench_proc},
    {"pipe", bench_pipe},
    {"queue", bench_queue},
    {"gil", bench_gil},
    {"tpool", bench_tpool},
    {"ppool", bench_ppool},
};

#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

static int usage(void)
{
    (void)fprintf(stderr, "usage: weft-bench [--runs N] [--scale X] [--no-python] "
                    "[SCENARIO...]\nscenarios:");
    for (size_t i = 0; i < NSCENARIOS; i++)
        (void)fprintf(stderr, " %s", scenarios[i].name);
    (void)fputc('\n', stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *chosen[NSCENARIOS + 1] = {NULL};
    size_t nchosen = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end = NULL;
            long runs = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || runs < 1 || runs > 101)
                return usage();
            bench_options.runs = (int)runs;
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            char *end = NULL;
            bench_options.scale = strtod(argv[++i], &end);
            if (end == argv[i] || *end != '\0' || !(bench_options.scale > 0))
                return usage();
        } else if (strcmp(argv[i], "--no-python") == 0) {
            bench_options.python = NULL;
        } else if (argv[i][0] == '-') {
            return usage();
        } else {
            size_t k = 0;
            while (k < NSCENARIOS && strcmp(scenarios[k].name, argv[i]) != 0)
                k++;
            if (k == NSCENARIOS || nchosen == NSCENARIOS)
                return usage();
            chosen[nchosen++] = argv[i];
        }
    }
    for (size_t k = 0; k < NSCENARIOS; k++) {
        int run = nchosen == 0;
        for (size_t j = 0; j < nchosen; j++)
            run |= strcmp(chosen[j], scenarios[k].name) == 0;
        if (run)
            scenarios[k].run();
    }
    return 0;
}
