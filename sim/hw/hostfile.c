/*
 * hostfile.c - bounded, type-checked reading of the files a user names.
 *
 * Why it is careful: a path on the command line is outside input. stat()
 * first refuses what is not a regular file without opening it (opening a
 * device can have effects); the open is O_NONBLOCK | O_NOCTTY so that even
 * a FIFO swapped in after the stat cannot block, and fstat on the opened
 * descriptor re-checks the type and size of what was actually opened. The
 * read loop stops at limit + 1 bytes whatever the file does meanwhile.
 */
#include "hostfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void hostfile_size_name(uint64_t n, char *buf, size_t len)
{
    if (n >= (1ull << 30) && n % (1ull << 30) == 0)
        snprintf(buf, len, "%llu GiB", (unsigned long long)(n >> 30));
    else if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, len, "%llu KiB", (unsigned long long)(n >> 10));
    else
        snprintf(buf, len, "%llu bytes", (unsigned long long)n);
}

static const char *kind_name(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a file";
}

/* 0 if st is a regular file within limit, else -1 with err. */
static int check_stat(const char *path, const struct stat *st, uint64_t limit, char *err,
                      size_t errlen)
{
    char lim[32];
    if (S_ISDIR(st->st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (%s)", path, kind_name(st->st_mode));
        return -1;
    }
    if ((uint64_t)st->st_size > limit) {
        hostfile_size_name(limit, lim, sizeof lim);
        snprintf(err, errlen, "%s: file too large (%llu bytes, limit %s)", path,
                 (unsigned long long)st->st_size, lim);
        return -1;
    }
    return 0;
}

int hostfile_open(const char *path, uint64_t limit, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (check_stat(path, &st, limit, err, errlen) != 0)
        return -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (check_stat(path, &st, limit, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

FILE *hostfile_fopen(const char *path, uint64_t limit, char *err, size_t errlen)
{
    int fd = hostfile_open(path, limit, err, errlen);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

/* Read fd until EOF or *cap bytes, growing buf by doubling up to max bytes.
   Returns the byte count, or -1 (errno set) / -2 (more than max bytes). */
static long long read_bounded(int fd, uint8_t **buf, size_t *cap, size_t max)
{
    size_t n = 0;
    for (;;) {
        if (n == *cap) {
            if (*cap >= max)
                return -2;
            size_t want = *cap * 2 > max ? max : *cap * 2;
            uint8_t *bigger = realloc(*buf, want + 1);
            if (!bigger)
                return -1;
            *buf = bigger;
            *cap = want;
        }
        ssize_t got = read(fd, *buf + n, *cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            return (long long)n;
        n += (size_t)got;
    }
}

int hostfile_read(const char *path, uint64_t limit, uint8_t **data, size_t *len,
                  char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    if (limit > (uint64_t)SIZE_MAX / 2 - 2)
        limit = (uint64_t)SIZE_MAX / 2 - 2;
    int fd = hostfile_open(path, limit, err, errlen);
    if (fd < 0)
        return -1;
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 ? (size_t)st.st_size + 1 : 4096;
    uint8_t *buf = malloc(cap + 1);
    long long n = buf ? read_bounded(fd, &buf, &cap, (size_t)limit + 1) : -1;
    int saved = errno;
    close(fd);
    if (n < 0 || (uint64_t)n > limit) {
        char lim[32];
        hostfile_size_name(limit, lim, sizeof lim);
        if (n >= 0 || n == -2)
            snprintf(err, errlen, "%s: file too large (limit %s)", path, lim);
        else
            snprintf(err, errlen, "%s: read error: %s", path,
                     buf ? strerror(saved) : "out of memory");
        free(buf);
        return -1;
    }
    buf[n] = 0;
    *data = buf;
    *len = (size_t)n;
    return 0;
}
