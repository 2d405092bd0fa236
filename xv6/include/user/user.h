/* vmlab's xv6-compatible user library: the calls a program written for xv6
 * may use under vmlab, at the path it includes ("user/user.h").
 * Include "kernel/types.h" first, as xv6 programs do.
 *
 * System calls (ecall, number in a7, xv6's numbering, which vmlab runs):
 *   exit 2, getpid 11, sbrk 12, write 16.
 * Library: printf / fprintf (%d %i %u %x %p %s %c %%, l and ll before
 * d, i, u, x), malloc / free on top of sbrk, strlen, memset, memcpy. */
#ifndef VMLAB_XV6_USER_H
#define VMLAB_XV6_USER_H

/* System calls. */
int exit(int status) __attribute__((noreturn));
int write(int fd, const void *buf, int n);
int getpid(void);
char *sbrk(int n);

/* The library. */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *malloc(uint n);
void free(void *p);
uint strlen(const char *s);
void *memset(void *dst, int c, uint n);
void *memcpy(void *dst, const void *src, uint n);

#endif
