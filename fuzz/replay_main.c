/* replay_main.c - run a fuzz harness over files, for regression tests.
 *
 * usage: HARNESS_replay PATH...   (files, or directories of files)
 * Calls LLVMFuzzerTestOneInput once per file, so a corpus or a crashing
 * input replays in a normal build, under TSan, ASan or Valgrind. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = (uint8_t *)realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                (void)fclose(f);
                return 1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    (void)fclose(f);
    (void)LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int replay_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort); /* sorted: same order every run */
    if (n < 0) {
        perror(path);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (!bad && names[i]->d_name[0] != '.') {
            char child[4096];
            int len = snprintf(child, sizeof child, "%s/%s", path, names[i]->d_name);
            bad = len < 0 || (size_t)len >= sizeof child || replay_path(child, count);
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &count) != 0)
            return 1;
    printf("replayed %d inputs\n", count);
    return count > 0 ? 0 : 1;
}
