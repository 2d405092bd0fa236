// stacktest: where do local variables live? (the xv6 hands-on, written
// for vmlab). main, f1 and f2 each have a local; main calls f1, f1 calls
// f2, and each prints the address of its local. The addresses decrease
// with call depth: the stack grows down. &arr[1] is 4 bytes above &arr[0].
//
//   vmlab cc examples/xv6/stacktest.c -o stacktest
//   vmlab run stacktest
#include "kernel/types.h"
#include "user/user.h"

void
f2(int depth)
{
  int c = depth;
  printf("f2:     &c      = %p  (depth %d)\n", &c, c);
}

void
f1(int depth)
{
  int b = depth;
  printf("f1:     &b      = %p  (depth %d)\n", &b, b);
  f2(depth + 1);
}

int
main(int argc, char *argv[])
{
  int arr[2];
  arr[0] = 0;
  arr[1] = 1;
  printf("main:   &arr[0] = %p  (depth %d)\n", &arr[0], arr[0]);
  printf("main:   &arr[1] = %p  (%ld bytes above arr[0])\n", &arr[1],
         (long)((char *)&arr[1] - (char *)&arr[0]));
  f1(1);
  printf("pid %d: the stack grows down\n", getpid());
  exit(0);
}
