// arraytest: where do arrays from sbrk and malloc live? (the xv6 hands-on,
// written for vmlab). Three arrays of 10 ints come from sbrk(40), then
// three from malloc; each prints its address. The addresses increase: the
// heap grows up, toward higher addresses.
//
//   vmlab cc examples/xv6/arraytest.c -o arraytest
//   vmlab run arraytest
#include "kernel/types.h"
#include "user/user.h"

int
main(int argc, char *argv[])
{
  int *h[3];
  for (int i = 0; i < 3; i++) {
    h[i] = (int *)sbrk(10 * sizeof(int));
    h[i][0] = i;  // touch the new memory
    printf("sbrk(40)   h%d = %p\n", i + 1, h[i]);
  }
  printf("h2 - h1 = %ld bytes, h3 - h2 = %ld bytes\n",
         (long)((char *)h[1] - (char *)h[0]), (long)((char *)h[2] - (char *)h[1]));

  int *m[3];
  for (int i = 0; i < 3; i++) {
    m[i] = malloc(10 * sizeof(int));
    m[i][9] = i;
    printf("malloc(40) m%d = %p\n", i + 1, m[i]);
  }
  uint64 top = (uint64)sbrk(0);
  printf("break now 0x%lx, %lu bytes above h1\n", top, top - (uint64)h[0]);
  for (int i = 0; i < 3; i++)
    free(m[i]);
  fprintf(2, "arraytest: %d%% done\n", 100);
  exit(0);
}
