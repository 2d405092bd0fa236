/* vmlab's xv6-compatible user library: the fixed-width types xv6 programs
 * use, under the path they include ("kernel/types.h"). Written for vmlab;
 * the names match xv6's so that its programs compile unchanged. */
#ifndef VMLAB_XV6_TYPES_H
#define VMLAB_XV6_TYPES_H

typedef unsigned int   uint;
typedef unsigned short ushort;
typedef unsigned char  uchar;

typedef unsigned char      uint8;
typedef unsigned short     uint16;
typedef unsigned int       uint32;
typedef unsigned long      uint64;

typedef uint64 pde_t;

#endif
