    .data
    .dword 1<<63, -1<<4, 0xffffffff<<32, 7*0x2492492492492492
    .word 0x7fffffff+1
