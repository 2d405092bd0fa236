/* vmlab's xv6-compatible user library: system-call stubs, printf and
 * malloc/free, written for vmlab (see user/user.h for the list).
 *
 * Every system call is one ecall with its number in a7 and its arguments
 * in a0..a2, the result coming back in a0; the numbers are xv6's, which
 * vmlab's kernel decodes (src/kernel/syscall.rs). */
#include "kernel/types.h"
#include "user/user.h"

#define SYS_exit   2
#define SYS_getpid 11
#define SYS_sbrk   12
#define SYS_write  16

/* One ecall: a7 = number, a0..a2 = arguments; returns a0. */
static long
syscall3(long number, long arg0, long arg1, long arg2)
{
  register long a0 asm("a0") = arg0;
  register long a1 asm("a1") = arg1;
  register long a2 asm("a2") = arg2;
  register long a7 asm("a7") = number;
  asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

int
exit(int status)
{
  syscall3(SYS_exit, status, 0, 0);
  for (;;)
    ;
}

int
write(int fd, const void *buf, int n)
{
  return (int)syscall3(SYS_write, fd, (long)buf, n);
}

int
getpid(void)
{
  return (int)syscall3(SYS_getpid, 0, 0, 0);
}

/* Grows the heap by n bytes; returns the old break, or (char *)-1. */
char *
sbrk(int n)
{
  return (char *)syscall3(SYS_sbrk, n, 0, 0);
}

uint
strlen(const char *s)
{
  uint n = 0;
  while (s[n])
    n++;
  return n;
}

void *
memset(void *dst, int c, uint n)
{
  volatile uchar *d = dst;
  for (uint i = 0; i < n; i++)
    d[i] = (uchar)c;
  return dst;
}

void *
memcpy(void *dst, const void *src, uint n)
{
  volatile uchar *d = dst;
  const uchar *s = src;
  for (uint i = 0; i < n; i++)
    d[i] = s[i];
  return dst;
}

/* ---- printf ----------------------------------------------------------
 * Output is collected in a small buffer and written with one write call
 * when it fills and at the end of each printf, so a line is one system
 * call. */

struct out {
  int fd;
  int len;
  char buf[128];
};

static void
flush(struct out *o)
{
  if (o->len > 0)
    write(o->fd, o->buf, o->len);
  o->len = 0;
}

static void
put(struct out *o, char c)
{
  if (o->len == (int)sizeof(o->buf))
    flush(o);
  o->buf[o->len++] = c;
}

static void
put_unsigned(struct out *o, uint64 v, uint base)
{
  static const char digits[] = "0123456789abcdef";
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = digits[v % base];
    v /= base;
  } while (v != 0);
  while (n > 0)
    put(o, tmp[--n]);
}

static void
put_signed(struct out *o, long v)
{
  if (v < 0) {
    put(o, '-');
    put_unsigned(o, -(uint64)v, 10);
  } else {
    put_unsigned(o, (uint64)v, 10);
  }
}

/* %d %i %u %x with optional l / ll, %p, %s, %c, %%. An unknown
 * conversion is printed as written, so a mistake shows. */
static void
vformat(int fd, const char *fmt, __builtin_va_list ap)
{
  struct out o;
  o.fd = fd;
  o.len = 0;
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      put(&o, *p);
      continue;
    }
    const char *start = p;
    int longs = 0;
    while (p[1] == 'l') {
      longs++;
      p++;
    }
    char c = *++p;
    switch (c) {
    case 'd':
    case 'i':
      put_signed(&o, longs ? __builtin_va_arg(ap, long) : __builtin_va_arg(ap, int));
      break;
    case 'u':
      put_unsigned(&o, longs ? __builtin_va_arg(ap, uint64) : __builtin_va_arg(ap, uint), 10);
      break;
    case 'x':
      put_unsigned(&o, longs ? __builtin_va_arg(ap, uint64) : __builtin_va_arg(ap, uint), 16);
      break;
    case 'p':
      put(&o, '0');
      put(&o, 'x');
      put_unsigned(&o, (uint64)__builtin_va_arg(ap, void *), 16);
      break;
    case 's': {
      const char *s = __builtin_va_arg(ap, const char *);
      if (s == 0)
        s = "(null)";
      while (*s)
        put(&o, *s++);
      break;
    }
    case 'c':
      put(&o, (char)__builtin_va_arg(ap, int));
      break;
    case '%':
      put(&o, '%');
      break;
    default:
      /* Unknown (or the format ended): show what was written. */
      for (const char *q = start; q <= p && *q; q++)
        put(&o, *q);
      if (c == 0)
        p--;
      break;
    }
  }
  flush(&o);
}

void
printf(const char *fmt, ...)
{
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  vformat(1, fmt, ap);
  __builtin_va_end(ap);
}

void
fprintf(int fd, const char *fmt, ...)
{
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  vformat(fd, fmt, ap);
  __builtin_va_end(ap);
}

/* ---- malloc / free ---------------------------------------------------
 * A free list of blocks kept in address order. Each block starts with a
 * 16-byte header (its size, header included, and the next free block), so
 * every pointer handed out is 16-byte aligned. malloc takes the first free
 * block that fits (splitting off the rest); when none fits it asks the OS
 * for more with sbrk (at least 4 KiB at a time) and puts that on the list.
 * free puts the block back in address order and merges it with free
 * neighbours. */

struct block {
  uint64 size;         /* bytes, header included; a multiple of 16 */
  struct block *next;  /* next free block, in address order (0: end) */
};

static struct block *free_list;

#define HEADER ((uint64)sizeof(struct block))
#define GROW_MIN 4096

/* Inserts b in address order and merges it with adjacent free blocks. */
static void
insert_free(struct block *b)
{
  struct block *prev = 0, *cur = free_list;
  while (cur && cur < b) {
    prev = cur;
    cur = cur->next;
  }
  b->next = cur;
  if (cur && (char *)b + b->size == (char *)cur) {
    b->size += cur->size;
    b->next = cur->next;
  }
  if (prev) {
    prev->next = b;
    if ((char *)prev + prev->size == (char *)b) {
      prev->size += b->size;
      prev->next = b->next;
    }
  } else {
    free_list = b;
  }
}

/* No free block fits: grow the heap by at least need bytes. */
static int
grow(uint64 need)
{
  uint64 n = need < GROW_MIN ? GROW_MIN : need;
  if (n > 0x7ffffff0)
    return -1;
  char *p = sbrk((int)n);
  if (p == (char *)-1)
    return -1;
  /* The break may not be 16-byte aligned: skip to the next multiple. */
  uint64 skip = (16 - ((uint64)p & 15)) & 15;
  if (skip) {
    if (sbrk((int)skip) == (char *)-1)
      return -1;
    p += skip;
  }
  struct block *b = (struct block *)p;
  b->size = n;
  insert_free(b);
  return 0;
}

void *
malloc(uint n)
{
  if (n == 0)
    n = 1;
  uint64 need = (((uint64)n + 15) & ~(uint64)15) + HEADER;
  for (int attempt = 0; attempt < 2; attempt++) {
    struct block *prev = 0;
    for (struct block *b = free_list; b; prev = b, b = b->next) {
      if (b->size < need)
        continue;
      if (b->size - need >= HEADER + 16) {
        /* Split: the front is handed out, the rest stays free. */
        struct block *rest = (struct block *)((char *)b + need);
        rest->size = b->size - need;
        rest->next = b->next;
        b->size = need;
        b->next = rest;
      }
      if (prev)
        prev->next = b->next;
      else
        free_list = b->next;
      b->next = 0;
      return (char *)b + HEADER;
    }
    if (grow(need) < 0)
      return 0;
  }
  return 0;
}

void
free(void *p)
{
  if (p == 0)
    return;
  insert_free((struct block *)((char *)p - HEADER));
}
